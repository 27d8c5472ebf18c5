package runtime

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*\})? (-?[0-9][0-9.eE+-]*|\+Inf)$`)

// scrape parses the Prometheus text format strictly enough to catch a
// malformed line or a sample without a TYPE, and returns the samples by
// "name{labels}".
func scrape(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	var sb strings.Builder
	if err := m.WritePrometheus(&sb); err != nil {
		t.Fatal(err)
	}
	typed := map[string]bool{}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(sb.String()))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# TYPE ") {
			f := strings.Fields(line)
			if len(f) != 4 || (f[3] != "counter" && f[3] != "gauge" && f[3] != "histogram") {
				t.Errorf("bad TYPE line %q", line)
			}
			typed[f[2]] = true
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		g := sampleLine.FindStringSubmatch(line)
		if g == nil {
			t.Errorf("malformed sample line %q", line)
			continue
		}
		family := g[1]
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(family, suf); ok && typed[base] {
				family = base
			}
		}
		if !typed[family] {
			t.Errorf("sample %q before its TYPE", line)
		}
		v, err := strconv.ParseFloat(g[3], 64)
		if err != nil {
			t.Errorf("bad value in %q", line)
		}
		out[g[1]+g[2]] = v
	}
	return out
}

func TestMetricsMove(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, handlerRules...)
	m := NewMetrics()
	l := NewLive(dir, LiveOptions{Logger: testLogger(t), Metrics: m, Debounce: 10 * time.Millisecond})
	s := scrape(t, m)
	if s["redirc_build_loaded"] != 0 || s["redirc_reloads_total"] != 0 {
		t.Errorf("before load: %v", s)
	}
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	clicks := NewEventSink("clicks", 1, func(Event) { <-release }) // a stuck consumer
	defer func() { close(release); clicks.Close() }()
	base := startHandler(t, NewHandler(l, nil, HandlerOptions{Metrics: m, Clicks: clicks}))
	for _, p := range []string{"/perm", "/perm", "/found", "/gone", "/temp", "/nope", "/nope2", "/perm8"} {
		do(t, "GET", base+p, "")
	}
	s = scrape(t, m)
	want := map[string]float64{
		`redirc_redirects_total{status="301"}`:                          2,
		`redirc_redirects_total{status="302"}`:                          1,
		`redirc_redirects_total{status="303"}`:                          0,
		`redirc_redirects_total{status="307"}`:                          1,
		`redirc_redirects_total{status="308"}`:                          1,
		`redirc_redirects_total{status="410"}`:                          1,
		`redirc_hits_total`:                                             6,
		`redirc_misses_total`:                                           2,
		`redirc_reloads_total`:                                          1,
		`redirc_reload_failures_total`:                                  0,
		`redirc_build_loaded`:                                           1,
		`redirc_build_rules`:                                            float64(len(handlerRules)),
		`redirc_reload_failing`:                                         0,
		`redirc_events_total{sink="clicks"}`:                            s[`redirc_events_total{sink="clicks"}`],
		`redirc_data_build_info{build_id="` + l.Status().BuildID + `"}`: 1,
		`redirc_request_duration_seconds_count{outcome="hit"}`:          6,
		`redirc_request_duration_seconds_count{outcome="miss"}`:         2,
		`redirc_request_duration_seconds_count{outcome="fallback"}`:     0,
		`redirc_fallback_requests_total`:                                0,
	}
	for k, v := range want {
		if got, ok := s[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	// The click sink holds one event at most and its consumer is stuck:
	// the other hits were dropped and counted.
	if s[`redirc_events_total{sink="clicks"}`]+s[`redirc_events_dropped_total{sink="clicks"}`] != 6 ||
		s[`redirc_events_dropped_total{sink="clicks"}`] < 4 {
		t.Errorf("click sink counters: %v sent, %v dropped", s[`redirc_events_total{sink="clicks"}`], s[`redirc_events_dropped_total{sink="clicks"}`])
	}

	// A refused build moves the failure counters.
	if err := writeFile(dir, "index.json", "{"); err != nil {
		t.Fatal(err)
	}
	if l.Reload() == nil {
		t.Fatal("a broken index was accepted")
	}
	s = scrape(t, m)
	if s["redirc_reload_failures_total"] != 1 || s["redirc_reload_failing"] != 1 || s["redirc_build_loaded"] != 1 {
		t.Errorf("after a refused build: %v", s)
	}

	// Served over HTTP with the right content type.
	mb := startHandler(t, m)
	r := do(t, "GET", mb, "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain; version=0.0.4") || !strings.Contains(r.body, "redirc_hits_total 6") {
		t.Errorf("GET metrics: %d %q\n%s", r.status, r.header.Get("Content-Type"), r.body)
	}
}

func TestMetricsNil(t *testing.T) {
	var m *Metrics
	m.CountHit(301)
	m.CountMiss()
	m.ObserveRequest(OutcomeHit, time.Millisecond)
	m.CountUpstreamError()
	m.AddSink(nil)
	m.AddCollector(nil)
	if m.Hits() != 0 || m.Misses() != 0 || m.Reloads() != 0 || m.Requests(OutcomeHit) != 0 || m.UpstreamErrors() != 0 {
		t.Error("nil Metrics counted")
	}
	var sb strings.Builder
	if err := m.WritePrometheus(&sb); err != nil || sb.Len() != 0 {
		t.Errorf("nil Metrics wrote %q, %v", sb.String(), err)
	}
}

func writeFile(dir, name, content string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
}

// TestMetricsOutcomes: a Handler observes every request with its outcome,
// a fallback's 5xx as an error, and the histogram's buckets hold them.
func TestMetricsOutcomes(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, handlerRules...)
	set, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		io.WriteString(w, "app") // an implicit 200
	})
	withFallback := NewHandler(set, fallback, HandlerOptions{Metrics: m})
	without := NewHandler(set, nil, HandlerOptions{Metrics: m})
	w := &discardWriter{h: make(http.Header)}
	serve := func(h http.Handler, path string) {
		clear(w.h)
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	}
	serve(withFallback, "/perm")
	serve(withFallback, "/app")
	serve(withFallback, "/app2")
	serve(withFallback, "/broken")
	serve(without, "/nope")
	serve(without, "/gone")
	m.CountUpstreamError()
	for o, want := range map[Outcome]uint64{OutcomeHit: 2, OutcomeMiss: 1, OutcomeFallback: 2, OutcomeError: 1} {
		if got := m.Requests(o); got != want {
			t.Errorf("Requests(%v) = %d, want %d", o, got, want)
		}
	}
	s := scrape(t, m)
	want := map[string]float64{
		`redirc_hits_total`:                                                    2,
		`redirc_misses_total`:                                                  4,
		`redirc_fallback_requests_total`:                                       3,
		`redirc_upstream_errors_total`:                                         1,
		`redirc_request_duration_seconds_count{outcome="error"}`:               1,
		`redirc_request_duration_seconds_bucket{outcome="fallback",le="+Inf"}`: 2,
		`redirc_request_duration_seconds_bucket{outcome="fallback",le="10"}`:   2,
	}
	for k, v := range want {
		if got, ok := s[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if _, ok := s[`redirc_build_loaded`]; ok {
		t.Error("build metrics without a Live")
	}
}

func TestHistogramBuckets(t *testing.T) {
	var h histogram
	for _, d := range []time.Duration{-1, 0, LatencyBuckets[0], LatencyBuckets[0] + 1, LatencyBuckets[len(LatencyBuckets)-1] + 1, time.Hour} {
		h.observe(d)
	}
	// -1 and 0 and the first bound itself are in the first bucket (le is
	// inclusive), one just above in the second, the last two above every
	// bound.
	if got := [...]uint64{h.buckets[0].n.Load(), h.buckets[1].n.Load(), h.buckets[len(LatencyBuckets)].n.Load()}; got != [...]uint64{3, 1, 2} {
		t.Errorf("buckets %v", got)
	}
	if h.count() != 6 {
		t.Errorf("count %d", h.count())
	}
	if !slices.IsSorted(LatencyBuckets[:]) {
		t.Error("LatencyBuckets not sorted")
	}
}

// TestMetricsRegistry: a Metrics registers in a registry of the caller's,
// next to the Go collector, and the collectors added to it are gathered
// with it.
func TestMetricsRegistry(t *testing.T) {
	m := NewMetrics()
	extra := prometheus.NewCounter(prometheus.CounterOpts{Name: "redirc_remote_fetches_total", Help: "test"})
	m.AddCollector(extra)
	m.AddCollector(extra) // once only
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m, collectors.NewGoCollector())
	m.CountHit(308)
	extra.Add(3)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf
	}
	if mf := got["redirc_hits_total"]; mf == nil || mf.GetMetric()[0].GetCounter().GetValue() != 1 {
		t.Errorf("redirc_hits_total: %v", mf)
	}
	if mf := got["redirc_remote_fetches_total"]; mf == nil || len(mf.GetMetric()) != 1 || mf.GetMetric()[0].GetCounter().GetValue() != 3 {
		t.Errorf("added collector: %v", mf)
	}
	if got["go_goroutines"] == nil {
		t.Error("no Go collector metrics")
	}
	if mf := got["redirc_request_duration_seconds"]; mf == nil || len(mf.GetMetric()) != int(numOutcomes) ||
		len(mf.GetMetric()[0].GetHistogram().GetBucket()) != len(LatencyBuckets) {
		t.Errorf("redirc_request_duration_seconds: %v", mf)
	}
	// Registering twice is refused, as for any collector.
	if err := reg.Register(m); err == nil {
		t.Error("registered twice")
	}
}

func TestMetricsServeHTTP(t *testing.T) {
	m := NewMetrics()
	m.CountMiss()
	for _, c := range []struct {
		method string
		status int
	}{{"GET", 200}, {"HEAD", 200}, {"POST", 405}} {
		w := httptest.NewRecorder()
		m.ServeHTTP(w, httptest.NewRequest(c.method, "/metrics", nil))
		if w.Code != c.status {
			t.Errorf("%s: %d", c.method, w.Code)
		}
		if c.method == "GET" && (!strings.Contains(w.Body.String(), "redirc_misses_total 1") ||
			!strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain; version=0.0.4")) {
			t.Errorf("GET: %q\n%s", w.Header().Get("Content-Type"), w.Body)
		}
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{OutcomeHit: "hit", OutcomeMiss: "miss", OutcomeFallback: "fallback", OutcomeError: "error", 9: "Outcome(9)"} {
		if o.String() != want {
			t.Errorf("%d: %q", o, o.String())
		}
	}
}

// BenchmarkHitMetrics prices metrics on the hit path, side by side in one
// run: a Handler hit without metrics, with them (a counter, two clock
// reads, the latency histogram), and the histogram observation alone,
// ours (padded atomics) against client_golang's Histogram, serially and
// on every core.
func BenchmarkHitMetrics(b *testing.B) {
	h, set := benchSetup(b) // with metrics
	plain := NewHandler(set, http.NotFoundHandler(), HandlerOptions{})
	req := httptest.NewRequest("GET", "/page/4242", nil)
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"hit/no-metrics", plain}, {"hit/metrics", h}} {
		b.Run(c.name, func(b *testing.B) {
			w := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				c.h.ServeHTTP(w, req)
			}
		})
	}
	m := NewMetrics()
	vec := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "x_seconds", Help: "x", Buckets: func() []float64 {
		var s []float64
		for _, d := range LatencyBuckets {
			s = append(s, d.Seconds())
		}
		return s
	}()}, []string{"outcome"})
	obs := vec.WithLabelValues("hit")
	d := 700 * time.Nanosecond
	b.Run("observe/atomic", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.ObserveRequest(OutcomeHit, d)
		}
	})
	b.Run("observe/client_golang", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			obs.Observe(d.Seconds())
		}
	})
	b.Run("observe/atomic-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.ObserveRequest(OutcomeHit, d)
			}
		})
	})
	b.Run("observe/client_golang-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				obs.Observe(d.Seconds())
			}
		})
	})
}
