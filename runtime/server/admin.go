package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/redirc/redirc/runtime"
)

// DefaultAdminPrefix is the path prefix of the admin endpoints on the main
// address when Options.AdminPrefix is "".
const DefaultAdminPrefix = "/.redirc"

// The admin endpoints, under a prefix on the main address or at the root
// of AdminHandler.
const (
	healthPath  = "/healthz"
	metricsPath = "/metrics"
)

// AdminPaths returns the paths the admin endpoints take on the main address
// under prefix (a trailing slash is ignored): exactly prefix+"/healthz" and
// prefix+"/metrics"; every other path under prefix is looked up as usual.
// A build rule for one of them is hidden by the endpoint, so a compiler can
// warn about such rules. An empty prefix (or "/") gives "/healthz" and
// "/metrics".
func AdminPaths(prefix string) []string {
	prefix = strings.TrimSuffix(prefix, "/")
	return []string{prefix + healthPath, prefix + metricsPath}
}

// newAdminHandler returns the handler of AdminHandler.
func (s *Server) newAdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+healthPath, s.live.HealthHandler())
	mux.Handle("GET "+metricsPath, s.metricsH)
	return mux
}

// registerMetrics registers the server's collectors in Options.Registry
// (or a registry of its own) and makes the /metrics handler serving it.
func (s *Server) registerMetrics() error {
	reg := s.opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	version := s.opts.Version
	if version == "" {
		version = "unknown"
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "redirc_build_info",
		Help:        "The redirc binary serving: its version, VCS revision and Go version (value 1). The rule build served is redirc_data_build_info.",
		ConstLabels: prometheus.Labels{"version": version, "revision": s.opts.Revision, "goversion": goruntime.Version()},
	})
	info.Set(1)
	for _, c := range []prometheus.Collector{s.metrics, info} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("server: registering metrics in Options.Registry: %w", err)
		}
	}
	// A program's registry may hold these already (they are the same
	// for every part of a process).
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return fmt.Errorf("server: registering metrics in Options.Registry: %w", err)
		}
	}
	s.registry = reg
	prom := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
	s.metricsH = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		prom.ServeHTTP(w, r)
	})
	return nil
}

// adminRoute returns the admin endpoint the main address serves at path,
// or nil when path is not one (it is then looked up).
func (s *Server) adminRoute(path string) http.Handler {
	if s.adminPaths == nil {
		return nil
	}
	switch path {
	case s.adminPaths[0]:
		return s.healthH
	case s.adminPaths[1]:
		return s.metricsH
	}
	return nil
}

// publicHealth is the health answer on the main address, which may be the
// public internet: whether a build serves, which one and how many rules.
// The build directory and the text of load errors (which name files) are
// only in AdminHandler's answer.
type publicHealth struct {
	Status  string `json:"status"` // "ok", "degraded" (an origin's build, which may not answer every request) or "no build"
	BuildID string `json:"buildId,omitempty"`
	Rules   int    `json:"rules"`
}

// health returns the public health answer: its status code and body.
func (s *Server) health() (int, publicHealth) {
	if s.live.Set() == nil {
		return http.StatusServiceUnavailable, publicHealth{Status: "no build"}
	}
	st := s.live.Status()
	state := "ok"
	if st.Degraded != "" {
		state = "degraded"
	}
	return http.StatusOK, publicHealth{Status: state, BuildID: st.BuildID, Rules: st.Rules}
}

func (s *Server) servePublicHealth(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	code, body := s.health()
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(body)
}

// warnShadowed logs when the build just loaded has a rule (for any host)
// that the admin endpoints on the main address hide.
func (s *Server) warnShadowed(set *runtime.Set) {
	if set == nil {
		return
	}
	for _, p := range s.adminPaths {
		if res := set.Lookup("", p, ""); res.Found() {
			s.log.Warn("redirc: a rule answers an admin path, but the admin endpoint takes it; serve the admin endpoints on an address of their own or under another prefix",
				"path", p, "status", res.Status, "location", res.Location)
		}
	}
}

// mainHandler is Server.Handler: admin paths, then redirects and misses,
// recorded in the access log.
type mainHandler struct{ s *Server }

func (m mainHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := m.s
	if h := s.adminRoute(r.URL.Path); h != nil {
		h.ServeHTTP(w, r) // health checks and scrapes are not logged
		return
	}
	if !s.accessLogOn() {
		s.redirects.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	rec := accessRecorders.Get().(*accessRecorder)
	*rec = accessRecorder{ResponseWriter: w}
	s.redirects.ServeHTTP(rec, r)
	s.logAccess(newAccessRecord(r, rec, start))
	*rec = accessRecorder{}
	accessRecorders.Put(rec)
}
