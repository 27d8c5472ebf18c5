package clicks

import (
	"io"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redirc/redirc/runtime"
)

// WritePrometheus writes the Recorder's counters in the Prometheus text
// format (names begin with "redirc_clicks_"), and those of an HTTPSink or
// DirSink among its sinks: the series Collect gives.
func (r *Recorder) WritePrometheus(w io.Writer) error {
	return runtime.WriteCollector(w, r)
}

func flatten(s Sink) []Sink {
	if t, ok := s.(tee); ok {
		var out []Sink
		for _, x := range t {
			out = append(out, flatten(x)...)
		}
		return out
	}
	return []Sink{s}
}

// Describe implements prometheus.Collector: the Recorder's series, and
// those of its HTTPSink and DirSink (fixed when the Recorder was made).
func (r *Recorder) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(r, ch) }

// Collect implements prometheus.Collector with the series WritePrometheus
// writes, so that a server registers a Recorder beside its own metrics
// (runtime.Metrics.AddCollector does, for HandlerOptions.Clicks).
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	st := r.Stats()
	metric := func(name string, typ prometheus.ValueType, help string, v float64) {
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, nil, nil), typ, v)
	}
	c, g := prometheus.CounterValue, prometheus.GaugeValue
	metric("redirc_clicks_recorded_total", c, "Clicks accepted into the click queue.", float64(st.Recorded))
	metric("redirc_clicks_dropped_total", c, "Clicks dropped because the click queue was full (or the recorder closed).", float64(st.Dropped))
	metric("redirc_clicks_written_total", c, "Clicks handed to the click sink without error.", float64(st.Written))
	metric("redirc_clicks_sink_errors_total", c, "Batches the click sink failed to take.", float64(st.SinkErrors))
	metric("redirc_clicks_queued", g, "Clicks waiting in the click queue.", float64(st.Queued))
	for _, s := range flatten(r.sink) {
		switch s := s.(type) {
		case *HTTPSink:
			hs := s.Stats()
			metric("redirc_clicks_http_sent_total", c, "Clicks delivered to the click endpoint.", float64(hs.Sent))
			metric("redirc_clicks_http_requests_total", c, "POSTs made to the click endpoint.", float64(hs.Requests))
			metric("redirc_clicks_http_retries_total", c, "POSTs to the click endpoint that failed and were retried.", float64(hs.Retries))
			metric("redirc_clicks_http_dropped_total", c, "Clicks the HTTP sink dropped: spill full, rejected, or left at shutdown.", float64(hs.Dropped))
			metric("redirc_clicks_http_spill_bytes", g, "Bytes waiting to be sent to the click endpoint.", float64(hs.SpillBytes))
		case *DirSink:
			metric("redirc_clicks_files_total", c, "Click files opened.", float64(s.Files()))
		}
	}
}
