// Package server is the redirect server that `redirc serve` runs, for
// programs that want all of it rather than only a runtime.Handler: the
// build directory followed and reloaded (runtime.Live), misses passed to a
// fallback (a static directory or an upstream), health and metrics
// endpoints, an access log that never slows a request, a memory policy
// suited to a server whose heap is mostly one build, timeouts, and a
// graceful shutdown.
//
//	srv, err := server.New("out", server.Options{Addr: ":8080"})
//	if err != nil { ... }
//	go func() { <-hup; srv.Reload() }()
//	err = srv.ListenAndServe(ctx) // until ctx is done, then shuts down
//
// Or mount Handler (and AdminHandler) in a server of your own, and call
// Close when done with it.
//
// # Engines
//
// Accepting connections, reading requests, timeouts and shutdown are the
// engine's, behind the small engine interface in serve.go, chosen by
// Options.Engine: fasthttp (fasthttp.go, the default) or net/http
// (nethttp.go). Everything else (options, reloads, memory policy, admin
// routing, the health answers, access records) is shared, and Handler and
// AdminHandler are net/http handlers on either. The fasthttp engine answers
// redirects and 404 misses through runtime.Handler without building a
// net/http request per request, and hands the admin endpoints and misses
// for a fallback to the net/http handlers through an adaptor. checkRequest
// (check.go) refuses the requests fasthttp's parser accepts and net/http's
// refuses, so both engines answer alike (conformance_test.go).
package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redirc/redirc/runtime"
)

// Defaults for the zero values of Options.
const (
	DefaultAddr              = ":8080"
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultShutdownTimeout   = 30 * time.Second
	DefaultAccessLogBuffer   = 8192
	// DefaultGCPercent is the GOGC a Server sets unless GOGC is set in the
	// environment (see Options.GCPercent).
	DefaultGCPercent = 25
)

// The engines Options.Engine names.
const (
	// EngineFast is the default engine, built on
	// github.com/valyala/fasthttp: hits and 404 misses are answered
	// without a net/http request; the admin endpoints and the fallback
	// run as net/http handlers through an adaptor. It answers every
	// request as the net/http engine does (README, "Serving engines").
	EngineFast = "fasthttp"
	// EngineNetHTTP serves with net/http's http.Server.
	EngineNetHTTP = "net/http"
)

// Options configures a Server. The zero value serves on DefaultAddr, with
// the admin endpoints under DefaultAdminPrefix, misses answered 404, no
// access log, the build directory watched, and the defaults above.
type Options struct {
	// Engine is the HTTP engine Serve answers through: EngineFast (the
	// default, when "") or EngineNetHTTP. Handler and AdminHandler are
	// net/http handlers either way.
	Engine string

	// Addr is the HOST:PORT ListenAndServe serves redirects on. "" means
	// DefaultAddr.
	Addr string
	// AdminAddr, if not "", is the HOST:PORT ListenAndServe serves
	// AdminHandler on (/healthz with full details, /metrics), and Handler
	// serves no admin endpoint. Keep it off the public internet (for
	// example 127.0.0.1:9090). When calling Serve, pass a listener for it.
	AdminAddr string
	// AdminPrefix is the path prefix of the admin endpoints Handler serves
	// when AdminAddr is "": exactly AdminPaths(AdminPrefix) are taken, and
	// every other path, also under the prefix, is looked up as usual. ""
	// means DefaultAdminPrefix; "/" serves them at /healthz and /metrics.
	AdminPrefix string
	// NoAdmin, with AdminAddr "", serves no admin endpoint in Handler: every
	// path is looked up. (AdminHandler can still be mounted elsewhere.)
	NoAdmin bool

	// Fallback answers the requests no rule answers. nil means 404 Not
	// Found. See FallbackDir and FallbackURL; a fallback that implements
	// fmt.Stringer is described by it in the "serving" log line.
	Fallback http.Handler
	// CacheControl overrides the Cache-Control value sent with a status
	// (see runtime.HandlerOptions.CacheControl).
	CacheControl map[int]string

	// AccessLog, if not nil, receives one line per request (admin
	// endpoints excepted), written by one goroutine through a buffer:
	// when AccessLogBuffer records wait, further ones are dropped and
	// counted (redirc_events_dropped_total{sink="access_log"}), never
	// waited for.
	AccessLog io.Writer
	// AccessLogFormat is "text" (logfmt, the default when "") or "json".
	AccessLogFormat string
	// AccessLogBuffer is how many access records may wait to be written.
	// 0 means DefaultAccessLogBuffer.
	AccessLogBuffer int

	// Clicks, if not nil, receives a runtime.Event for every redirect
	// answered, on the request's goroutine, without blocking (see
	// runtime.HandlerOptions.Clicks; a clicks.Recorder is one). Its
	// metrics are served with the server's when it is a
	// prometheus.Collector. The caller closes it after Serve returns.
	Clicks runtime.ClickRecorder

	// Logger receives the server's logs. nil means slog.Default().
	Logger *slog.Logger

	// NoWatch turns off the build directory watcher. Builds are then
	// loaded by New and Reload only, unless Poll is set.
	NoWatch bool
	// Poll, when positive, also re-reads the build's index every Poll
	// (runtime.LiveOptions.Poll), for file systems without change events
	// or a directory that is a symbolic link swapped in place. It follows
	// the directory also when NoWatch is set; the watcher then runs too.
	Poll time.Duration
	// Debounce is the quiet time after a change in the directory before
	// reloading (runtime.LiveOptions.Debounce); 0 means its default.
	Debounce time.Duration
	// Remote configures serving a build from an HTTP origin, when the
	// location New is given is an http(s) URL (see runtime.OpenRemote):
	// shard cache size, preloading, fetch timeout and what a request
	// whose shard cannot be fetched answers. Its index is polled every
	// Poll (runtime.DefaultRemotePoll when 0). A nil Remote.Metrics gets
	// metrics of the server's own, served at /metrics.
	Remote runtime.RemoteOptions
	// OnReload, if not nil, is called after each reload attempt that
	// swapped in a build or was refused, after the server's own handling
	// (see runtime.LiveOptions.OnReload).
	OnReload func(runtime.Status, error)

	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound
	// reading a request's headers, reading a whole request, writing a
	// response (large fallback downloads too) and keeping an idle
	// keep-alive connection. 0 means the Default above; a negative value
	// means no limit.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes is the largest request header block accepted. 0
	// means DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// ShutdownTimeout is how long requests in flight may take to finish
	// once the context given to Serve is done. 0 means
	// DefaultShutdownTimeout; a negative value closes connections at once.
	ShutdownTimeout time.Duration

	// GCPercent is the GOGC New sets for the process, unless the GOGC
	// environment variable is set. 0 means DefaultGCPercent; a negative
	// value leaves the GC settings alone (for a program whose heap is
	// mostly other things). GOMEMLIMIT is honoured either way.
	GCPercent int
	// NoGCAfterReload turns off the collection run after a reload swapped
	// out a build (see New).
	NoGCAfterReload bool

	// Version and Revision describe the binary serving (its release
	// version and VCS revision), reported as
	// redirc_build_info{version,revision,goversion} 1 at /metrics, as
	// Prometheus' build_info convention has it. Only the program knows how
	// it was built: "" reports "unknown" (version) or "" (revision).
	Version, Revision string
	// Registry, if not nil, is where New registers the server's metrics
	// (Metrics, redirc_build_info, and the Go runtime and process
	// collectors unless already registered there), and what /metrics
	// serves: a program with metrics of its own passes its registry and
	// has one endpoint for all. nil means a registry of the Server's own.
	// Either way Server.Registry returns it, for more collectors.
	Registry *prometheus.Registry

	// Started, if not nil, is called by Serve once it accepts connections,
	// with the addresses of its listeners (admin is nil without one).
	Started func(addr, admin net.Addr)
}

// OptionError reports an Options field New cannot use.
type OptionError struct {
	Field  string // the Options field, such as "AdminPrefix"
	Value  any    // its value
	Reason string // what is wrong, or what is wanted
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("server: Options.%s %#v: %s", e.Field, e.Value, e.Reason)
}

// withDefaults checks o and fills in its zero values.
func (o Options) withDefaults() (Options, error) {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.AdminAddr != "" && o.AdminAddr == o.Addr && !strings.HasSuffix(o.Addr, ":0") {
		return o, &OptionError{"AdminAddr", o.AdminAddr, "must differ from Addr"}
	}
	switch o.Engine {
	case "":
		o.Engine = EngineFast
	case EngineFast, EngineNetHTTP:
	default:
		return o, &OptionError{"Engine", o.Engine, "want " + EngineFast + " or " + EngineNetHTTP}
	}
	if o.AdminPrefix == "" {
		o.AdminPrefix = DefaultAdminPrefix
	}
	if !strings.HasPrefix(o.AdminPrefix, "/") || strings.ContainsAny(o.AdminPrefix, "?#% ") {
		return o, &OptionError{"AdminPrefix", o.AdminPrefix, "want a path such as " + DefaultAdminPrefix}
	}
	switch o.AccessLogFormat {
	case "":
		o.AccessLogFormat = "text"
	case "text", "json":
	default:
		return o, &OptionError{"AccessLogFormat", o.AccessLogFormat, "want text or json"}
	}
	if o.AccessLogBuffer <= 0 {
		o.AccessLogBuffer = DefaultAccessLogBuffer
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		switch {
		case *d == 0:
			*d = v
		case *d < 0:
			*d = 0 // net/http: no limit
		}
	}
	def(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&o.ReadTimeout, DefaultReadTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.IdleTimeout, DefaultIdleTimeout)
	if o.MaxHeaderBytes < 0 {
		return o, &OptionError{"MaxHeaderBytes", o.MaxHeaderBytes, "must not be negative"}
	}
	if o.MaxHeaderBytes == 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.GCPercent == 0 {
		o.GCPercent = DefaultGCPercent
	}
	return o, nil
}

// Server serves redirects from a build directory. Create it with New.
type Server struct {
	opts Options // with defaults
	log  *slog.Logger
	live *runtime.Live
	// remoteMetrics counts origin requests and the shard cache of a build
	// served from an origin (nil for a directory).
	remoteMetrics *runtime.RemoteMetrics
	metrics       *runtime.Metrics

	redirects http.Handler // the runtime.Handler, misses to the fallback
	main      http.Handler // redirects, admin paths and the access log
	admin     http.Handler // AdminHandler
	healthH   http.Handler // the public health answer

	adminPaths []string // taken on the main address; nil when none
	access     *runtime.Sink[AccessRecord]
	registry   *prometheus.Registry
	metricsH   http.Handler // /metrics: registry in the Prometheus format

	serving   atomic.Bool
	closeOnce sync.Once
}

// New returns a Server for the build directory dir, and loads the build in
// it now, so that the first requests are answered from it. A directory
// that does not exist or holds no build yet is not an error: every request
// is then a miss, and health checks answer 503, until a build lands. Only
// unusable Options are (as an *OptionError). dir may be the http(s) URL of
// a published build (see runtime.OpenRemote and Options.Remote): its index
// is then polled (ListenAndServe follows it even with NoWatch) and its
// shards fetched on demand, at most Options.Remote.CacheBytes of them held.
//
// Memory: a build is held in memory (about its size on disk), and while a
// reload runs the old and the new build both are. Unless GOGC is set in
// the environment, New sets the process's GOGC to Options.GCPercent (25).
// A build is pointer-free bytes (~100 B/rule) that the GC never scans, so
// collecting more often costs little, while the default GOGC=100 lets the
// heap grow to twice the build before a cycle: on a 1M-rule build, 217 MB
// RSS under load instead of 145 MB.
//
// If Options.AccessLog is set, New starts the access log's goroutine;
// Serve stops it when it returns, or call Close.
func New(dir string, opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: opts.Logger, metrics: runtime.NewMetrics()}
	if opts.GCPercent > 0 && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(opts.GCPercent)
	}
	if opts.AdminAddr == "" && !opts.NoAdmin {
		s.adminPaths = AdminPaths(opts.AdminPrefix)
	}
	if runtime.IsRemote(dir) && opts.Remote.Metrics == nil {
		opts.Remote.Metrics = runtime.NewRemoteMetrics()
	}
	s.remoteMetrics = opts.Remote.Metrics
	s.live = runtime.NewLive(dir, runtime.LiveOptions{
		Remote:   opts.Remote,
		Debounce: opts.Debounce,
		Poll:     opts.Poll,
		Logger:   s.log,
		Metrics:  s.metrics,
		OnReload: s.onReload,
	})
	s.redirects = runtime.NewHandler(s.live, opts.Fallback, s.handlerOptions())
	if pf, ok := opts.Fallback.(*proxyFallback); ok {
		pf.metrics.Store(s.metrics) // upstream failures are counted
	}
	if s.remoteMetrics != nil {
		s.metrics.AddCollector(s.remoteMetrics) // origin and shard-cache series
	}
	if err := s.registerMetrics(); err != nil {
		return nil, err
	}
	s.admin = s.newAdminHandler()
	s.healthH = http.HandlerFunc(s.servePublicHealth)
	if opts.AccessLog != nil {
		s.access = newAccessLog(opts.AccessLog, opts.AccessLogFormat, opts.AccessLogBuffer)
		s.metrics.AddSink(s.access)
	}
	s.main = mainHandler{s}
	// Load before serving; without a usable build, start anyway and wait
	// for one (the error is logged and recorded in the status).
	s.live.Reload()
	return s, nil
}

// onReload runs on the reloading goroutine after each reload attempt.
func (s *Server) onReload(st runtime.Status, err error) {
	if err == nil {
		// OnReload runs after the swap: Set is the new build.
		s.warnShadowed(s.live.Set())
		if st.Reloads > 1 && !s.opts.NoGCAfterReload {
			// The previous build is garbage now (or as soon as the
			// requests still using it return). Without traffic no GC
			// would run for up to two minutes: collect now, on this
			// (reloading) goroutine, so that the runtime's background
			// scavenger returns the freed pages to the OS and RSS goes
			// back to one build within seconds. Requests are not
			// stopped by it beyond the GC's usual sub-millisecond
			// pauses. (debug.FreeOSMemory would release them at once,
			// but it scavenges the whole heap without yielding its
			// core: with GOMAXPROCS=1 that stalled every request for
			// tens of milliseconds, 50 ms at 1M rules in make
			// bench-http's reload test.)
			start := time.Now()
			goruntime.GC()
			s.log.Debug("redirc: collected the previous build", "duration", time.Since(start))
		}
	}
	if s.opts.OnReload != nil {
		s.opts.OnReload(st, err)
	}
}

// Reload loads the build in the directory now, as runtime.Live.Reload does
// (a build already served is not loaded again). A program calls it on
// SIGHUP, say. The error is also logged and recorded in the status.
func (s *Server) Reload() error {
	if err := s.live.Reload(); err != nil {
		return fmt.Errorf("server: reload: %w", err)
	}
	return nil
}

// Handler returns the handler for the main address: redirects, misses to
// the fallback, the admin endpoints under the admin prefix (unless
// Options.AdminAddr or NoAdmin), and the access log.
func (s *Server) Handler() http.Handler { return s.main }

// AdminHandler returns the admin endpoints: /healthz (the full status as
// JSON, with the build directory and the last reload error; 503 before a
// build) and /metrics (Prometheus text format). Keep it off the public
// internet.
func (s *Server) AdminHandler() http.Handler { return s.admin }

// Live returns the build being served and its reload state.
func (s *Server) Live() *runtime.Live { return s.live }

// Metrics returns the server's metrics (also served at /metrics).
func (s *Server) Metrics() *runtime.Metrics { return s.metrics }

// Registry returns the registry /metrics serves (Options.Registry or the
// Server's own), holding Metrics, redirc_build_info and the Go runtime and
// process collectors. Register more collectors in it to have them served
// too (or add them to Metrics with AddCollector).
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// ReservedPaths returns the exact paths the admin endpoints take on the
// main address, nil when they are not served there.
func (s *Server) ReservedPaths() []string { return append([]string(nil), s.adminPaths...) }

// Close stops the access log, after writing the records already accepted.
// Serve calls it when it returns; a program that mounts Handler itself
// calls it when done. It does not close the writer given as
// Options.AccessLog. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.access != nil {
			s.access.Close()
		}
	})
	return nil
}

// errServing is returned by a second call of Serve or ListenAndServe.
var errServing = errors.New("server: already serving")

// handlerOptions are the options of every runtime.Handler the server
// answers redirects with (the net/http engine's and the fast engine's).
func (s *Server) handlerOptions() runtime.HandlerOptions {
	ho := runtime.HandlerOptions{CacheControl: s.opts.CacheControl, Metrics: s.metrics, Clicks: s.opts.Clicks}
	if d, ok := s.opts.Fallback.(dirFallback); ok {
		ho.Shadowed = d.exists // unforced (Netlify, no "!") rules yield to files
	}
	return ho
}
