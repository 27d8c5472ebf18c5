package server

import (
	"net"
	"net/http"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/redirc/redirc/runtime"
)

// TestMetricsEndpoint: /metrics serves the request outcomes, the upstream
// failures a proxy fallback answered 502, the binary's build info, the
// loaded data build, and the Go runtime and process metrics.
func TestMetricsEndpoint(t *testing.T) {
	dir := t.TempDir()
	id := writeBuild(t, dir, "/perm /to-perm 301")
	// An upstream that is not there: every fallback request fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	fb, err := FallbackURL("http://"+addr, quiet)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newServer(t, dir, Options{Fallback: fb, Version: "v1.2.3", Revision: "abc123"})
	for _, p := range []string{"/perm", "/perm", "/down"} {
		do(s.Handler(), "GET", p)
	}
	m := s.Metrics()
	if m.Requests(runtime.OutcomeHit) != 2 || m.Requests(runtime.OutcomeError) != 1 || m.UpstreamErrors() != 1 {
		t.Errorf("hits %d, errors %d, upstream errors %d", m.Requests(runtime.OutcomeHit), m.Requests(runtime.OutcomeError), m.UpstreamErrors())
	}
	r := do(s.Handler(), "GET", "/.redirc/metrics")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics: %d %q", r.status, r.header.Get("Content-Type"))
	}
	for _, want := range []string{
		"redirc_hits_total 2\n",
		"redirc_misses_total 1\n",
		"redirc_fallback_requests_total 1\n",
		"redirc_upstream_errors_total 1\n",
		`redirc_request_duration_seconds_count{outcome="hit"} 2` + "\n",
		`redirc_request_duration_seconds_count{outcome="error"} 1` + "\n",
		`redirc_build_info{goversion="` + goruntime.Version() + `",revision="abc123",version="v1.2.3"} 1` + "\n",
		`redirc_data_build_info{build_id="` + id + `"} 1` + "\n",
		"go_goroutines ",
		"go_memstats_heap_inuse_bytes ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// The admin address serves the same registry.
	if a := do(s.AdminHandler(), "GET", "/metrics"); a.status != 200 || !strings.Contains(a.body, "redirc_upstream_errors_total 1\n") {
		t.Errorf("admin metrics: %d", a.status)
	}
	if r := do(s.Handler(), "POST", "/.redirc/metrics"); r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST metrics: %d %q", r.status, r.header.Get("Allow"))
	}
	if r := do(s.Handler(), "HEAD", "/.redirc/metrics"); r.status != 200 {
		t.Errorf("HEAD metrics: %d", r.status)
	}
}

// TestMetricsOwnRegistry: a program's registry, which already has a Go
// collector, takes the server's metrics and serves them with its own.
func TestMetricsOwnRegistry(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, "/perm /to-perm 301")
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	mine := prometheus.NewCounter(prometheus.CounterOpts{Name: "app_things_total", Help: "x"})
	reg.MustRegister(mine)
	s, _ := newServer(t, dir, Options{Registry: reg})
	if s.Registry() != reg {
		t.Fatal("Registry is not Options.Registry")
	}
	do(s.Handler(), "GET", "/perm")
	r := do(s.Handler(), "GET", "/.redirc/metrics")
	for _, want := range []string{"redirc_hits_total 1\n", "app_things_total 0\n", `version="unknown"`, "go_goroutines "} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// A second server in the same registry would count into the same
	// names: refused, with an error saying where.
	if _, err := New(dir, Options{Registry: reg, NoWatch: true, GCPercent: -1, Logger: quiet}); err == nil || !strings.Contains(err.Error(), "Options.Registry") {
		t.Errorf("second server in one registry: %v", err)
	}
}

// TestFallbackOutcomes: a static fallback's answers are fallback
// requests, and without a fallback a miss is a miss.
func TestFallbackOutcomes(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, "/perm /to-perm 301")
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("app")) })
	s, _ := newServer(t, dir, Options{Fallback: app})
	plain, _ := newServer(t, dir, Options{})
	do(s.Handler(), "GET", "/page")
	do(plain.Handler(), "GET", "/page")
	if m := s.Metrics(); m.Requests(runtime.OutcomeFallback) != 1 || m.Requests(runtime.OutcomeMiss) != 0 {
		t.Errorf("with a fallback: fallback %d, miss %d", m.Requests(runtime.OutcomeFallback), m.Requests(runtime.OutcomeMiss))
	}
	if m := plain.Metrics(); m.Requests(runtime.OutcomeMiss) != 1 || m.Requests(runtime.OutcomeFallback) != 0 {
		t.Errorf("without: fallback %d, miss %d", m.Requests(runtime.OutcomeFallback), m.Requests(runtime.OutcomeMiss))
	}
	// Health checks and scrapes are not requests of the redirect service.
	do(s.Handler(), "GET", "/.redirc/healthz")
	if n := s.Metrics().Requests(runtime.OutcomeHit) + s.Metrics().Requests(runtime.OutcomeFallback); n != 1 {
		t.Errorf("admin requests observed: %d", n)
	}
}
