package runtime

import "github.com/prometheus/client_golang/prometheus"

// remoteDescs describes RemoteMetrics' series, in WritePrometheus's order.
var remoteDescs = struct {
	requests, errors, bytes, seconds, hits, misses, evictions, timeouts, cacheBytes *prometheus.Desc
}{
	requests:   prometheus.NewDesc("redirc_origin_requests_total", "Requests made to the build's origin.", nil, nil),
	errors:     prometheus.NewDesc("redirc_origin_errors_total", "Origin requests that failed (no answer, an error status, a short body).", nil, nil),
	bytes:      prometheus.NewDesc("redirc_origin_response_bytes_total", "Bytes read from the origin.", nil, nil),
	seconds:    prometheus.NewDesc("redirc_origin_response_seconds", "Origin responses, request to last byte.", nil, nil),
	hits:       prometheus.NewDesc("redirc_shard_cache_hits_total", "Lookups answered from a loaded shard or a Bloom filter.", nil, nil),
	misses:     prometheus.NewDesc("redirc_shard_cache_misses_total", "Lookups that needed a shard fetched.", nil, nil),
	evictions:  prometheus.NewDesc("redirc_shard_cache_evictions_total", "Shards dropped to stay within the cache size.", nil, nil),
	timeouts:   prometheus.NewDesc("redirc_shard_fetch_timeouts_total", "Lookups that waited the fetch timeout for their shard.", nil, nil),
	cacheBytes: prometheus.NewDesc("redirc_shard_cache_bytes", "Bytes of the shards held.", nil, nil),
}

// Describe implements prometheus.Collector, so that remote metrics can be
// registered beside Metrics (Metrics.AddCollector) or in any registry.
func (m *RemoteMetrics) Describe(ch chan<- *prometheus.Desc) {
	d := remoteDescs
	for _, x := range []*prometheus.Desc{d.requests, d.errors, d.bytes, d.seconds, d.hits, d.misses, d.evictions, d.timeouts, d.cacheBytes} {
		ch <- x
	}
}

// Collect implements prometheus.Collector. A nil m collects nothing.
func (m *RemoteMetrics) Collect(ch chan<- prometheus.Metric) {
	if m == nil {
		return
	}
	d := remoteDescs
	c := func(desc *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v))
	}
	c(d.requests, m.requests.n.Load())
	c(d.errors, m.errors.n.Load())
	c(d.bytes, m.bytes.n.Load())
	ch <- prometheus.MustNewConstSummary(d.seconds, m.responses.n.Load(), float64(m.latencyNanos.n.Load())/1e9, nil)
	c(d.hits, m.hits.n.Load())
	c(d.misses, m.misses.n.Load())
	c(d.evictions, m.evictions.n.Load())
	c(d.timeouts, m.timeouts.n.Load())
	ch <- prometheus.MustNewConstMetric(d.cacheBytes, prometheus.GaugeValue, float64(m.cacheBytes.Load()))
}
