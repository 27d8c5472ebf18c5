package runtime

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// Statuses lists the HTTP statuses a build can answer with, in the order
// Metrics reports them.
var Statuses = [...]int{301, 302, 303, 307, 308, 410}

// statusSlot maps a status to its index in Statuses, or len(Statuses) for a
// status no build should produce. It is a switch rather than a table so that
// the hot path touches no memory.
func statusSlot(status int) int {
	switch status {
	case 301:
		return 0
	case 302:
		return 1
	case 303:
		return 2
	case 307:
		return 3
	case 308:
		return 4
	case 410:
		return 5
	}
	return len(Statuses)
}

const numSlots = len(Statuses) + 1

// counter is an atomic counter alone on its cache line, so that two cores
// counting different things do not invalidate each other's caches.
type counter struct {
	n atomic.Uint64
	_ [56]byte
}

// Outcome is how a request was answered, the label of the request-latency
// histogram (redirc_request_duration_seconds{outcome}).
type Outcome uint8

// The outcomes of a request.
const (
	// OutcomeHit: a rule answered (a redirect or 410 Gone).
	OutcomeHit Outcome = iota
	// OutcomeMiss: no rule answered and there is no fallback; the answer
	// was 404 Not Found.
	OutcomeMiss
	// OutcomeFallback: no rule answered and the fallback (a static
	// directory, an upstream, the next handler) answered with a status
	// below 500.
	OutcomeFallback
	// OutcomeError: no rule answered and the fallback answered 500 or
	// above, such as the 502 Bad Gateway of an upstream that failed.
	OutcomeError
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"hit", "miss", "fallback", "error"}

// String returns the outcome's label value: "hit", "miss", "fallback" or
// "error".
func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", o)
}

// LatencyBuckets are the upper bounds of the request-latency histogram.
// The low end resolves a hit answered in microseconds, the high end a
// fallback proxied to a slow upstream.
var LatencyBuckets = [...]time.Duration{
	5 * time.Microsecond, 10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// histogram is a latency histogram made of padded atomic counters: an
// observation is two atomic adds (its bucket and the sum, in integer
// nanoseconds). Buckets are stored non-cumulative, the last one for
// observations above every bound, and summed when collected.
type histogram struct {
	buckets [len(LatencyBuckets) + 1]counter
	sum     counter // nanoseconds
}

func (h *histogram) observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	i := 0
	for i < len(LatencyBuckets) && d > LatencyBuckets[i] {
		i++
	}
	h.buckets[i].n.Add(1)
	h.sum.n.Add(uint64(d))
}

func (h *histogram) count() uint64 {
	var n uint64
	for i := range h.buckets {
		n += h.buckets[i].n.Load()
	}
	return n
}

// Metrics counts what a Handler, a Live and a server do. Create it with
// NewMetrics and pass it in HandlerOptions and LiveOptions; it is safe for
// concurrent use.
//
// A Metrics is a prometheus.Collector: register it in a
// prometheus.Registry of your own (prometheus.MustRegister(m) for the
// default one), or serve it alone with ServeHTTP. Every metric name
// begins with "redirc_". Components that have metrics of their own (a
// remote build source, say) add their collectors with AddCollector, and
// are collected with it.
//
// The request path never touches a lock or the Prometheus library: a hit
// costs one atomic add on a counter with a cache line to itself, and a
// latency observation (ObserveRequest) two more; the counters are turned
// into Prometheus metrics when scraped.
//
// Every method works on a nil *Metrics (and counts nothing), so the cost
// of metrics on the request path when none are configured is one nil
// check.
//
// An HTTP engine that answers requests without a Handler (see package
// runtime/server) reports each request with CountHit(status) or
// CountMiss, and ObserveRequest(outcome, duration); a fallback proxy
// counts the upstream failures it answers itself with CountUpstreamError.
type Metrics struct {
	redirects [numSlots]counter // hits, by status slot
	misses    counter
	upstream  counter // upstream failures answered 502 by a proxy fallback
	latency   [numOutcomes]histogram

	reloads        atomic.Uint64 // builds swapped in (the first load included)
	reloadFailures atomic.Uint64 // builds refused
	watchErrors    atomic.Uint64 // errors reported by the file watcher (overflows included)

	mu         sync.Mutex
	live       *Live
	sinks      []SinkCounter
	collectors []prometheus.Collector

	regOnce sync.Once
	reg     *prometheus.Registry // m alone, for WritePrometheus and ServeHTTP
	handler http.Handler
}

// NewMetrics returns a Metrics with every counter at zero.
func NewMetrics() *Metrics { return &Metrics{} }

// CountHit counts one request answered by a rule with status (a redirect
// or 410). A Handler calls it for every hit.
func (m *Metrics) CountHit(status int) {
	if m != nil {
		m.redirects[statusSlot(status)].n.Add(1)
	}
}

// CountMiss counts one request that no rule answered. A Handler calls it
// for every miss.
func (m *Metrics) CountMiss() {
	if m != nil {
		m.misses.n.Add(1)
	}
}

// ObserveRequest records that a request was answered with outcome and
// took d, in the request-latency histogram. A Handler calls it for every
// request, timed from its ServeHTTP's start to its end.
// redirc_fallback_requests_total is the count of the fallback and error
// outcomes.
func (m *Metrics) ObserveRequest(o Outcome, d time.Duration) {
	if m != nil && o < numOutcomes {
		m.latency[o].observe(d)
	}
}

// CountUpstreamError counts one request whose upstream (a proxy fallback)
// could not be reached or failed to answer, and was answered 502 Bad
// Gateway.
func (m *Metrics) CountUpstreamError() {
	if m != nil {
		m.upstream.n.Add(1)
	}
}

// Hits returns the number of requests answered by a rule.
func (m *Metrics) Hits() uint64 {
	if m == nil {
		return 0
	}
	var n uint64
	for i := range m.redirects {
		n += m.redirects[i].n.Load()
	}
	return n
}

// Misses returns the number of requests no rule answered (passed to the
// next handler).
func (m *Metrics) Misses() uint64 {
	if m == nil {
		return 0
	}
	return m.misses.n.Load()
}

// HitsByStatus returns the number of requests answered with status.
func (m *Metrics) HitsByStatus(status int) uint64 {
	if m == nil {
		return 0
	}
	return m.redirects[statusSlot(status)].n.Load()
}

// Requests returns the number of requests observed with outcome
// (ObserveRequest).
func (m *Metrics) Requests(o Outcome) uint64 {
	if m == nil || o >= numOutcomes {
		return 0
	}
	return m.latency[o].count()
}

// UpstreamErrors returns the number of upstream failures counted by
// CountUpstreamError.
func (m *Metrics) UpstreamErrors() uint64 {
	if m == nil {
		return 0
	}
	return m.upstream.n.Load()
}

// Reloads returns the number of builds swapped in, the first one included.
func (m *Metrics) Reloads() uint64 {
	if m == nil {
		return 0
	}
	return m.reloads.Load()
}

// ReloadFailures returns the number of builds refused because they could not
// be loaded or failed verification.
func (m *Metrics) ReloadFailures() uint64 {
	if m == nil {
		return 0
	}
	return m.reloadFailures.Load()
}

// WatchErrors returns the number of errors the directory watcher reported,
// such as a kernel event queue overflow.
func (m *Metrics) WatchErrors() uint64 {
	if m == nil {
		return 0
	}
	return m.watchErrors.Load()
}

// SinkCounter is what Metrics reports about an event sink. Every *Sink is
// one, whatever its event type.
type SinkCounter interface {
	Name() string
	Sent() uint64
	Dropped() uint64
}

// AddSink makes m report the events sent and dropped by s, labelled with
// s.Name(). A nil s (or nil *Sink) is ignored. NewHandler adds its click
// sink itself.
func (m *Metrics) AddSink(s SinkCounter) {
	if m == nil || s == nil {
		return
	}
	if n, ok := s.(interface{ isNil() bool }); ok && n.isNil() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !slices.Contains(m.sinks, s) {
		m.sinks = append(m.sinks, s)
	}
}

// AddCollector makes m collect c's metrics with its own, so that a part
// of the program holding only the Metrics (a build source, an exporter)
// can publish metrics of its own wherever m is registered. c's metric
// names must not clash with m's (begin them with "redirc_" and a word of
// their own). A nil c, or one already added, is ignored.
//
// Add collectors before registering m: a registry learns m's metric
// descriptions once, when m is registered, and checks a collector added
// later only when it gathers.
func (m *Metrics) AddCollector(c prometheus.Collector) {
	if m == nil || c == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !slices.Contains(m.collectors, c) {
		m.collectors = append(m.collectors, c)
	}
}

// attach makes m report l's build and reload state.
func (m *Metrics) attach(l *Live) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.live = l
	m.mu.Unlock()
}

func newDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// The metrics of a Metrics.
var (
	descRedirects      = newDesc("redirc_redirects_total", "Requests answered by a redirect rule, by status (410 included).", "status")
	descHits           = newDesc("redirc_hits_total", "Requests answered by a redirect rule.")
	descMisses         = newDesc("redirc_misses_total", "Requests no rule answered, passed to the fallback (or answered 404 without one).")
	descFallbacks      = newDesc("redirc_fallback_requests_total", "Requests no rule answered that a fallback (static directory, upstream, next handler) answered, errors included.")
	descUpstreamErrors = newDesc("redirc_upstream_errors_total", "Requests whose fallback upstream failed (unreachable, timed out, bad answer), answered 502 Bad Gateway.")
	descDuration       = newDesc("redirc_request_duration_seconds", "Time to answer a request, by outcome: hit (a rule), miss (404, no fallback), fallback, error (fallback answered 5xx).", "outcome")
	descReloads        = newDesc("redirc_reloads_total", "Builds loaded and swapped in, the first one included.")
	descReloadFailures = newDesc("redirc_reload_failures_total", "Builds refused (unreadable or failed verification); the previous build kept serving.")
	descWatchErrors    = newDesc("redirc_watch_errors_total", "Errors reported by the build directory watcher.")
	descEvents         = newDesc("redirc_events_total", "Events accepted by an asynchronous sink (clicks, access log).", "sink")
	descEventsDropped  = newDesc("redirc_events_dropped_total", "Events dropped because a sink's buffer was full.", "sink")
	descBuildLoaded    = newDesc("redirc_build_loaded", "1 when a build is loaded and serving, 0 before the first one.")
	descDataBuildInfo  = newDesc("redirc_data_build_info", "The rule build being served, by its build id (value 1).", "build_id")
	descBuildRules     = newDesc("redirc_build_rules", "Rules in the build being served.")
	descBuildShards    = newDesc("redirc_build_shards", "Shards in the build being served.")
	descBuildLoadedAt  = newDesc("redirc_build_loaded_timestamp_seconds", "Unix time the build being served was swapped in.")
	descBuildLoadTime  = newDesc("redirc_build_load_duration_seconds", "Time the build being served took to open and verify.")
	descReloadFailing  = newDesc("redirc_reload_failing", "1 when the latest reload attempt was refused (the previous build keeps serving).")
	descLastAttempt    = newDesc("redirc_last_reload_attempt_timestamp_seconds", "Unix time of the latest reload attempt.")

	allDescs = []*prometheus.Desc{
		descRedirects, descHits, descMisses, descFallbacks, descUpstreamErrors, descDuration,
		descReloads, descReloadFailures, descWatchErrors, descEvents, descEventsDropped,
		descBuildLoaded, descDataBuildInfo, descBuildRules, descBuildShards, descBuildLoadedAt,
		descBuildLoadTime, descReloadFailing, descLastAttempt,
	}
)

// Describe sends the descriptions of m's metrics and of the collectors
// added to it (prometheus.Collector).
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	if m == nil {
		return
	}
	for _, d := range allDescs {
		ch <- d
	}
	m.mu.Lock()
	cs := slices.Clone(m.collectors)
	m.mu.Unlock()
	for _, c := range cs {
		c.Describe(ch)
	}
}

// Collect sends m's metrics and those of the collectors added to it
// (prometheus.Collector). The build metrics are sent once a Live is
// attached (LiveOptions.Metrics).
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	if m == nil {
		return
	}
	m.mu.Lock()
	live := m.live
	sinks := slices.Clone(m.sinks)
	cs := slices.Clone(m.collectors)
	m.mu.Unlock()

	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for i, st := range Statuses {
		counter(descRedirects, m.redirects[i].n.Load(), fmt.Sprint(st))
	}
	if n := m.redirects[len(Statuses)].n.Load(); n > 0 {
		counter(descRedirects, n, "other")
	}
	counter(descHits, m.Hits())
	counter(descMisses, m.Misses())
	counter(descFallbacks, m.Requests(OutcomeFallback)+m.Requests(OutcomeError))
	counter(descUpstreamErrors, m.UpstreamErrors())
	for o := range numOutcomes {
		h := &m.latency[o]
		buckets := make(map[float64]uint64, len(LatencyBuckets))
		var cum uint64
		for i, b := range LatencyBuckets {
			cum += h.buckets[i].n.Load()
			buckets[b.Seconds()] = cum
		}
		count := cum + h.buckets[len(LatencyBuckets)].n.Load()
		sum := float64(h.sum.n.Load()) / 1e9
		ch <- prometheus.MustNewConstHistogram(descDuration, count, sum, buckets, o.String())
	}
	counter(descReloads, m.Reloads())
	counter(descReloadFailures, m.ReloadFailures())
	counter(descWatchErrors, m.WatchErrors())
	for _, s := range sinks {
		counter(descEvents, s.Sent(), s.Name())
		counter(descEventsDropped, s.Dropped(), s.Name())
	}

	if live != nil {
		st := live.Status()
		loaded := 0.0
		if st.BuildID != "" {
			loaded = 1
			gauge(descDataBuildInfo, 1, st.BuildID)
		}
		gauge(descBuildLoaded, loaded)
		gauge(descBuildRules, float64(st.Rules))
		gauge(descBuildShards, float64(st.Shards))
		gauge(descBuildLoadedAt, unixSeconds(st.LoadedAt))
		gauge(descBuildLoadTime, st.LoadDuration.Seconds())
		failing := 0.0
		if st.LastError != "" {
			failing = 1
		}
		gauge(descReloadFailing, failing)
		gauge(descLastAttempt, unixSeconds(st.LastAttempt))
	}
	for _, c := range cs {
		c.Collect(ch)
	}
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// registry returns a registry holding m alone, made on first use.
func (m *Metrics) registry() *prometheus.Registry {
	m.regOnce.Do(func() {
		m.reg = prometheus.NewRegistry()
		m.reg.MustRegister(m)
		m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	})
	return m.reg
}

// WritePrometheus writes m's metrics (and its added collectors') in the
// Prometheus text exposition format (version 0.0.4). It writes nothing for
// a nil Metrics.
func (m *Metrics) WritePrometheus(w io.Writer) error {
	if m == nil {
		return nil
	}
	mfs, err := m.registry().Gather()
	if err != nil {
		return fmt.Errorf("runtime: gathering metrics: %w", err)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return fmt.Errorf("runtime: writing metrics: %w", err)
		}
	}
	return nil
}

// WriteCollector writes the metrics of c, alone, in the Prometheus text
// exposition format (version 0.0.4): the text form of any collector
// (RemoteMetrics, a clicks.Recorder) without a registry of the caller's.
func WriteCollector(w io.Writer, c prometheus.Collector) error {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		return fmt.Errorf("runtime: registering metrics: %w", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		return fmt.Errorf("runtime: gathering metrics: %w", err)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return fmt.Errorf("runtime: writing metrics: %w", err)
		}
	}
	return nil
}

// ServeHTTP serves m's metrics alone (without Go runtime and process
// metrics; register m in a prometheus.Registry for those) in the format
// the scraper asks for, so that a *Metrics can be mounted at /metrics
// directly. Methods other than GET and HEAD get 405.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if m == nil {
		h.Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
		return
	}
	m.registry()
	m.handler.ServeHTTP(w, r)
}
