package runtime

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// Metrics counts what a Handler and a Live do. Create it with NewMetrics and
// pass it in HandlerOptions and LiveOptions; it is safe for concurrent use.
//
// Every method works on a nil *Metrics (and counts nothing), so the cost of
// metrics on the request path when none are configured is one nil check. When
// configured, a request costs one atomic add on a counter that has a cache
// line to itself.
type Metrics struct {
	redirects [numSlots]counter // hits, by status slot
	misses    counter

	reloads        atomic.Uint64 // builds swapped in (the first load included)
	reloadFailures atomic.Uint64 // builds refused
	watchErrors    atomic.Uint64 // errors reported by the file watcher (overflows included)

	mu    sync.Mutex
	live  *Live
	sinks []SinkCounter
}

// NewMetrics returns a Metrics with every counter at zero.
func NewMetrics() *Metrics { return &Metrics{} }

// hit counts one redirect (or 410) answer.
func (m *Metrics) hit(status int) {
	if m != nil {
		m.redirects[statusSlot(status)].n.Add(1)
	}
}

// miss counts one request that no rule answered.
func (m *Metrics) miss() {
	if m != nil {
		m.misses.n.Add(1)
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

// attach makes m report l's build and reload state.
func (m *Metrics) attach(l *Live) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.live = l
	m.mu.Unlock()
}

// WritePrometheus writes every metric in the Prometheus text exposition
// format (version 0.0.4). All names begin with "redirc_".
func (m *Metrics) WritePrometheus(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if m == nil {
		return bw.Flush()
	}
	m.mu.Lock()
	live := m.live
	sinks := slices.Clone(m.sinks)
	m.mu.Unlock()

	family := func(name, typ, help string) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	family("redirc_redirects_total", "counter", "Requests answered by a redirect rule, by status (410 included).")
	for i, st := range Statuses {
		fmt.Fprintf(bw, "redirc_redirects_total{status=\"%d\"} %d\n", st, m.redirects[i].n.Load())
	}
	if n := m.redirects[len(Statuses)].n.Load(); n > 0 {
		fmt.Fprintf(bw, "redirc_redirects_total{status=\"other\"} %d\n", n)
	}
	family("redirc_hits_total", "counter", "Requests answered by a redirect rule.")
	fmt.Fprintf(bw, "redirc_hits_total %d\n", m.Hits())
	family("redirc_misses_total", "counter", "Requests no rule answered, passed to the fallback.")
	fmt.Fprintf(bw, "redirc_misses_total %d\n", m.Misses())
	family("redirc_reloads_total", "counter", "Builds loaded and swapped in, the first one included.")
	fmt.Fprintf(bw, "redirc_reloads_total %d\n", m.Reloads())
	family("redirc_reload_failures_total", "counter", "Builds refused (unreadable or failed verification); the previous build kept serving.")
	fmt.Fprintf(bw, "redirc_reload_failures_total %d\n", m.ReloadFailures())
	family("redirc_watch_errors_total", "counter", "Errors reported by the build directory watcher.")
	fmt.Fprintf(bw, "redirc_watch_errors_total %d\n", m.WatchErrors())

	if len(sinks) > 0 {
		family("redirc_events_total", "counter", "Events accepted by an asynchronous sink (clicks, access log).")
		for _, s := range sinks {
			fmt.Fprintf(bw, "redirc_events_total{sink=%s} %d\n", promLabel(s.Name()), s.Sent())
		}
		family("redirc_events_dropped_total", "counter", "Events dropped because a sink's buffer was full.")
		for _, s := range sinks {
			fmt.Fprintf(bw, "redirc_events_dropped_total{sink=%s} %d\n", promLabel(s.Name()), s.Dropped())
		}
	}

	if live != nil {
		st := live.Status()
		loaded := 0
		if st.BuildID != "" {
			loaded = 1
		}
		family("redirc_build_loaded", "gauge", "1 when a build is loaded and serving, 0 before the first one.")
		fmt.Fprintf(bw, "redirc_build_loaded %d\n", loaded)
		if loaded == 1 {
			family("redirc_build_info", "gauge", "The build being served, by id.")
			fmt.Fprintf(bw, "redirc_build_info{build_id=%s} 1\n", promLabel(st.BuildID))
		}
		family("redirc_build_rules", "gauge", "Rules in the build being served.")
		fmt.Fprintf(bw, "redirc_build_rules %d\n", st.Rules)
		family("redirc_build_shards", "gauge", "Shards in the build being served.")
		fmt.Fprintf(bw, "redirc_build_shards %d\n", st.Shards)
		family("redirc_build_loaded_timestamp_seconds", "gauge", "Unix time the build being served was swapped in.")
		fmt.Fprintf(bw, "redirc_build_loaded_timestamp_seconds %s\n", unixSeconds(st.LoadedAt.UnixNano()))
		family("redirc_build_load_duration_seconds", "gauge", "Time the build being served took to open and verify.")
		fmt.Fprintf(bw, "redirc_build_load_duration_seconds %s\n", strconv.FormatFloat(st.LoadDuration.Seconds(), 'g', -1, 64))
		failing := 0
		if st.LastError != "" {
			failing = 1
		}
		family("redirc_reload_failing", "gauge", "1 when the latest reload attempt was refused (the previous build keeps serving).")
		fmt.Fprintf(bw, "redirc_reload_failing %d\n", failing)
		family("redirc_last_reload_attempt_timestamp_seconds", "gauge", "Unix time of the latest reload attempt.")
		fmt.Fprintf(bw, "redirc_last_reload_attempt_timestamp_seconds %s\n", unixSeconds(st.LastAttempt.UnixNano()))
	}
	return bw.Flush()
}

func unixSeconds(ns int64) string {
	if ns <= 0 {
		return "0"
	}
	return strconv.FormatFloat(float64(ns)/1e9, 'f', 3, 64)
}

// promLabel quotes a label value as the exposition format asks: backslash,
// double quote and newline escaped.
func promLabel(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// ServeHTTP serves the metrics in the Prometheus text format, so that a
// *Metrics can be mounted at /metrics directly.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Method == http.MethodHead {
		return
	}
	m.WritePrometheus(w)
}
