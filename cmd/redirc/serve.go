package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"path"
	goruntime "runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/redirc/redirc/runtime"
)

// gcPercent is the GOGC redirc serve uses unless GOGC is set.
const gcPercent = 25

// serveStarted, when set (by tests), is called with the addresses the
// servers listen on once they accept connections; adminAddr is "" without
// --admin-addr.
var serveStarted func(addr, adminAddr string)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve redirects from a build directory over HTTP, reloading new builds",
		ArgsUsage: "[--addr HOST:PORT] DIR",
		Description: `Answers HTTP requests from the build in DIR (written by "redirc build -o DIR").
A request a rule matches gets the rule's status and Location; any other
request goes to --fallback (a static directory or an upstream URL), else 404.

Responses to a rule: the status (301, 302, 303, 307, 308 or 410 Gone), a
Location (none for 410), Cache-Control by status (301/308 "public,
max-age=86400", 302/303/307 "no-store", 410 "public, max-age=3600"; change
with --cache-control), Content-Type text/html with a one-line link body,
X-Content-Type-Options: nosniff, never Set-Cookie. Every method gets the
rule's answer (307/308 keep the method, 303 asks for GET, 301/302 let
clients switch POST to GET); HEAD gets the headers without a body.

Reloading: DIR is watched; when a new index.json is renamed into place (as
"redirc build" does) the new build is loaded and fully verified in the
background and then swapped in; requests never wait and never see a mix of
two builds. A build that fails verification is refused and logged, and the
previous build keeps serving. SIGHUP asks for a reload at once. If DIR does
not exist or holds no build yet, every request is a miss and health checks
answer 503 until a build lands (DIR is looked for every second).

Admin endpoints: health (200 with the build id, rule count and last reload
error as JSON; 503 until a build is loaded) and metrics (Prometheus text
format). Without --admin-addr they are served on --addr at
/.redirc/healthz and /.redirc/metrics (--admin-prefix): exactly these two
paths are reserved, and every other path, also under /.redirc/, is
looked up as usual. A build whose rules would answer one of the two is
served, but a warning is logged on each load. With --admin-addr they move
to /healthz and /metrics on that address, and --addr serves redirects
only. Keep them off the public internet with --admin-addr 127.0.0.1:9090.

--fallback DIR serves files with http.FileServer; a directory is served as
its index.html and never listed. --fallback URL proxies misses to that
upstream (Host set to the upstream's, X-Forwarded-For/-Host/-Proto added).

Access log (--access-log FILE, "-" for stdout): one line per request
(admin endpoints excepted), in --log-format, written by one goroutine
from a buffer; when the buffer is full lines are dropped and counted
(redirc_events_dropped_total{sink="access_log"}), never waited for.

Memory: the build is held in memory (about its size on disk); during a
reload the old and the new build are both held. Unless GOGC is set, serve
runs the GC with GOGC=25 (the build is never scanned, so this is cheap and
keeps the heap near the build's size); GOMEMLIMIT is honoured.

SIGINT or SIGTERM stops accepting connections and lets requests in flight
finish (up to --shutdown-timeout); a second signal exits at once.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: ":8080", Usage: "`HOST:PORT` to serve redirects on"},
			&cli.StringFlag{Name: "admin-addr", Usage: "serve /healthz and /metrics on this `HOST:PORT` instead of under --admin-prefix on --addr"},
			&cli.StringFlag{Name: "admin-prefix", Value: "/.redirc", Usage: "path `PREFIX` of the health and metrics endpoints on --addr (\"\" to serve none there)"},
			&cli.StringFlag{Name: "fallback", Usage: "where misses go: a static `DIR` or an upstream http(s) URL (default: 404)"},
			&cli.StringFlag{Name: "access-log", Usage: "write an access log to `FILE` (\"-\": stdout)"},
			&cli.GenericFlag{Name: "cache-control", Value: &cacheControlFlag{}, Usage: "Cache-Control for a status or class, as `KEY=VALUE`: KEY is 301..410, permanent (301, 308), temporary (302, 303, 307) or gone (410); an empty VALUE sends none; repeatable"},
			&cli.DurationFlag{Name: "read-header-timeout", Value: 5 * time.Second, Usage: "time allowed to read request headers"},
			&cli.DurationFlag{Name: "read-timeout", Value: 30 * time.Second, Usage: "time allowed to read a whole request, body included"},
			&cli.DurationFlag{Name: "write-timeout", Value: 60 * time.Second, Usage: "time allowed to write a response (bounds large fallback downloads too)"},
			&cli.DurationFlag{Name: "idle-timeout", Value: 120 * time.Second, Usage: "how long an idle keep-alive connection is kept"},
			&cli.IntFlag{Name: "max-header-bytes", Value: 64 << 10, Usage: "largest request header block accepted, in bytes"},
			&cli.DurationFlag{Name: "shutdown-timeout", Value: 30 * time.Second, Usage: "on SIGINT/SIGTERM, how long requests in flight may take to finish"},
			&cli.BoolFlag{Name: "watch", Value: true, Usage: "reload when a new build lands in DIR (--watch=false: only on SIGHUP or --poll)"},
			&cli.DurationFlag{Name: "debounce", Value: 200 * time.Millisecond, Usage: "quiet time after a change in DIR before reloading"},
			&cli.DurationFlag{Name: "poll", Usage: "also re-read DIR's index this often, for file systems without change events or a DIR that is a symlink swapped in place (0: never)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "log level: debug, info, warn or error"},
		},
		OnUsageError: cmdUsageError,
		Action:       runServe,
	}
}

// cacheControlFlag collects --cache-control KEY=VALUE settings. It is a
// flag.Value rather than a string slice because Cache-Control values hold
// commas, which slice flags would split.
type cacheControlFlag struct {
	set map[int]string
}

var cacheClasses = map[string][]int{
	"permanent": {301, 308},
	"temporary": {302, 303, 307},
	"gone":      {410},
}

func (f *cacheControlFlag) Set(s string) error {
	key, val, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want KEY=VALUE, such as permanent='public, max-age=600'")
	}
	key = strings.ToLower(strings.TrimSpace(key))
	val = strings.TrimSpace(val)
	if strings.ContainsAny(val, "\r\n") {
		return fmt.Errorf("value %q holds a line break", val)
	}
	statuses, ok := cacheClasses[key]
	if !ok {
		n, err := strconv.Atoi(key)
		if err != nil || runtime.DefaultCacheControl(n) == "" {
			return fmt.Errorf("unknown key %q: want 301, 302, 303, 307, 308, 410, permanent, temporary or gone", key)
		}
		statuses = []int{n}
	}
	if f.set == nil {
		f.set = map[int]string{}
	}
	for _, st := range statuses {
		f.set[st] = val
	}
	return nil
}

func (f *cacheControlFlag) String() string {
	if f == nil || len(f.set) == 0 {
		return ""
	}
	keys := make([]int, 0, len(f.set))
	for k := range f.set {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d=%s", k, f.set[k]))
	}
	return strings.Join(parts, "; ")
}

// newLogger builds the process logger from --log-format and --log-level.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageErr("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageErr("--log-format %q: want text or json", format)
}

// serveConfig is everything runServe needs, checked.
type serveConfig struct {
	dir, addr, adminAddr, prefix string
	fallback                     http.Handler
	fallbackDesc                 string
	cacheControl                 map[int]string
	log                          *slog.Logger
	accessLog                    io.Writer
	accessClose                  func() error
}

func runServe(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErr("serve: want exactly one build directory (usage: redirc serve [--addr HOST:PORT] DIR)")
	}
	log, err := newLogger(c.App.ErrWriter, c.String("log-format"), c.String("log-level"))
	if err != nil {
		return err
	}
	cfg := serveConfig{
		dir:       c.Args().First(),
		addr:      c.String("addr"),
		adminAddr: c.String("admin-addr"),
		prefix:    strings.TrimSuffix(c.String("admin-prefix"), "/"),
		log:       log,
	}
	if cfg.prefix != "" && (!strings.HasPrefix(cfg.prefix, "/") || strings.ContainsAny(cfg.prefix, "?#% ")) {
		return usageErr("--admin-prefix %q: want a path such as /.redirc", cfg.prefix)
	}
	if cfg.adminAddr != "" && cfg.adminAddr == cfg.addr && !strings.HasSuffix(cfg.addr, ":0") {
		return usageErr("--admin-addr must differ from --addr")
	}
	if c.Int("max-header-bytes") <= 0 {
		return usageErr("--max-header-bytes must be positive")
	}
	if f, ok := c.Generic("cache-control").(*cacheControlFlag); ok {
		cfg.cacheControl = f.set
	}
	if cfg.fallback, cfg.fallbackDesc, err = fallbackHandler(c.String("fallback"), log); err != nil {
		return err
	}
	switch p := c.String("access-log"); p {
	case "":
	case "-":
		cfg.accessLog = c.App.Writer
	default:
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return failErr("--access-log: %v", err)
		}
		cfg.accessLog, cfg.accessClose = f, f.Close
	}
	if cfg.accessClose != nil {
		defer cfg.accessClose()
	}
	return serve(c, cfg)
}

// fallbackHandler returns the handler for misses described by --fallback.
func fallbackHandler(spec string, log *slog.Logger) (http.Handler, string, error) {
	if spec == "" {
		return nil, "404", nil
	}
	if strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://") {
		u, err := url.Parse(spec)
		if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, "", usageErr("--fallback %q: want an upstream URL such as http://127.0.0.1:3000 (no query or fragment)", spec)
		}
		rp := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(u)
				pr.SetXForwarded()
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				if !errors.Is(err, context.Canceled) {
					log.Warn("redirc: fallback upstream failed", "upstream", u.Redacted(), "path", r.URL.Path, "error", err)
				}
				w.WriteHeader(http.StatusBadGateway)
			},
		}
		return rp, "proxy to " + u.Redacted(), nil
	}
	fi, err := os.Stat(spec)
	if err != nil {
		return nil, "", failErr("--fallback: %v", err)
	}
	if !fi.IsDir() {
		return nil, "", usageErr("--fallback %q is neither a directory nor an http(s) URL", spec)
	}
	return http.FileServer(noListing{http.Dir(spec)}), "files in " + spec, nil
}

// noListing hides directories that have no index.html, so http.FileServer
// never lists a directory's contents.
type noListing struct{ fs http.FileSystem }

func (n noListing) Open(name string) (http.File, error) {
	f, err := n.fs.Open(name)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		idx, err := n.fs.Open(path.Join(name, "index.html"))
		if err != nil {
			f.Close()
			return nil, fs.ErrNotExist
		}
		idx.Close()
	}
	return f, nil
}

func serve(c *cli.Context, cfg serveConfig) error {
	log := cfg.log
	if os.Getenv("GOGC") == "" {
		// A build is pointer-free bytes (~100 B/rule) that the GC never
		// scans, so collecting more often costs little, while the default
		// GOGC=100 lets the heap grow to twice the build before a cycle:
		// on a 1M-rule build, 217 MB RSS under load instead of 145 MB.
		debug.SetGCPercent(gcPercent)
	}
	metrics := runtime.NewMetrics()
	adminPaths := []string{"/healthz", "/metrics"}
	if cfg.adminAddr == "" && cfg.prefix != "" {
		adminPaths = []string{cfg.prefix + "/healthz", cfg.prefix + "/metrics"}
	}
	var live *runtime.Live
	live = runtime.NewLive(cfg.dir, runtime.LiveOptions{
		Debounce: c.Duration("debounce"),
		Poll:     c.Duration("poll"),
		Logger:   log,
		Metrics:  metrics,
		OnReload: func(st runtime.Status, err error) {
			if err != nil {
				return
			}
			if cfg.adminAddr == "" && cfg.prefix != "" {
				// OnReload runs after the swap: Set is the new build.
				warnShadowed(log, live.Set(), adminPaths)
			}
			if st.Reloads > 1 {
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
				log.Debug("redirc: collected the previous build", "duration", time.Since(start))
			}
		},
	})
	// Load before listening, so the first requests are answered from the
	// build; without a usable build, start anyway and wait for one.
	live.Reload()

	handler := runtime.NewHandler(live, cfg.fallback, runtime.HandlerOptions{CacheControl: cfg.cacheControl, Metrics: metrics})
	admin := http.NewServeMux()
	admin.Handle("GET "+adminPaths[0], live.HealthHandler())
	admin.Handle("GET "+adminPaths[1], metrics)

	var main http.Handler = handler
	if cfg.adminAddr == "" && cfg.prefix != "" {
		main = withAdmin(handler, admin, adminPaths)
	}
	var access *runtime.EventSink
	if cfg.accessLog != nil {
		access = newAccessLog(cfg.accessLog, c.String("log-format"))
		metrics.AddSink(access)
		main = withAccessLog(main, access, cfg.adminAddr == "" && cfg.prefix != "", adminPaths)
	}

	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: c.Duration("read-header-timeout"),
			ReadTimeout:       c.Duration("read-timeout"),
			WriteTimeout:      c.Duration("write-timeout"),
			IdleTimeout:       c.Duration("idle-timeout"),
			MaxHeaderBytes:    c.Int("max-header-bytes"),
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
	}
	var servers []*http.Server
	var listeners []net.Listener
	listen := func(addr string, h http.Handler) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return failErr("serve: %v", err)
		}
		servers = append(servers, newServer(h))
		listeners = append(listeners, ln)
		return nil
	}
	if err := listen(cfg.addr, main); err != nil {
		return err
	}
	adminAddr := ""
	if cfg.adminAddr != "" {
		if err := listen(cfg.adminAddr, admin); err != nil {
			return err
		}
		adminAddr = listeners[1].Addr().String()
	}

	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var bg sync.WaitGroup
	defer bg.Wait()
	bgCtx, cancelBG := context.WithCancel(ctx)
	defer cancelBG()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	bg.Go(func() {
		for {
			select {
			case <-bgCtx.Done():
				return
			case <-hup:
				log.Info("redirc: SIGHUP: reloading", "dir", cfg.dir)
				live.Reload()
			}
		}
	})
	if c.Bool("watch") {
		bg.Go(func() { live.Watch(bgCtx) })
	} else if every := c.Duration("poll"); every > 0 {
		bg.Go(func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-bgCtx.Done():
					return
				case <-t.C:
					live.Reload()
				}
			}
		})
	}

	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	mainURL := "http://" + displayAddr(listeners[0].Addr())
	attrs := []any{"addr", mainURL, "dir", cfg.dir, "fallback", cfg.fallbackDesc}
	if adminAddr != "" {
		a := "http://" + displayAddr(listeners[1].Addr())
		attrs = append(attrs, "healthz", a+"/healthz", "metrics", a+"/metrics")
	} else if cfg.prefix != "" {
		attrs = append(attrs, "healthz", mainURL+adminPaths[0], "metrics", mainURL+adminPaths[1])
	}
	if st := live.Status(); st.BuildID != "" {
		attrs = append(attrs, "build", st.BuildID, "rules", st.Rules)
	}
	log.Info("redirc: serving", attrs...)
	if serveStarted != nil {
		serveStarted(listeners[0].Addr().String(), adminAddr)
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	stop() // from here on, a second SIGINT/SIGTERM kills the process
	cancelBG()
	log.Info("redirc: shutting down; letting requests in flight finish", "timeout", c.Duration("shutdown-timeout"))
	sctx, cancel := context.WithTimeout(context.Background(), c.Duration("shutdown-timeout"))
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Go(func() {
			if err := srv.Shutdown(sctx); err != nil {
				log.Warn("redirc: shutdown cut requests short", "error", err)
				srv.Close()
			}
		})
	}
	wg.Wait()
	if access != nil {
		access.Close()
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return failErr("serve: %v", serveErr)
	}
	log.Info("redirc: stopped", "hits", metrics.Hits(), "misses", metrics.Misses(), "reloads", metrics.Reloads())
	return nil
}

// displayAddr turns a listener's address into one a browser can use:
// an unspecified IP ("[::]:8080") is shown as localhost.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// withAdmin serves the admin paths from admin and everything else from h.
// Only the exact admin paths are taken: every other path, under the prefix
// or not, is looked up in the build as usual.
func withAdmin(h, admin http.Handler, paths []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == paths[0] || p == paths[1] {
			admin.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// warnShadowed logs when the build just loaded has a rule (for any host)
// that the admin endpoints on the main address would hide.
func warnShadowed(log *slog.Logger, set *runtime.Set, paths []string) {
	if set == nil {
		return
	}
	for _, p := range paths {
		if res := set.Lookup("", p, ""); res.Found() {
			log.Warn("redirc: a rule answers an admin path, but the admin endpoint takes it; serve admin endpoints with --admin-addr or move them with --admin-prefix",
				"path", p, "status", res.Status, "location", res.Location)
		}
	}
}

// accessRecorder captures the status and size of a response for the
// access log.
type accessRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (a *accessRecorder) WriteHeader(code int) {
	if a.status == 0 && code >= 200 {
		a.status = code
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *accessRecorder) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	n, err := a.ResponseWriter.Write(b)
	a.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController (used by the reverse proxy to flush)
// reach the real writer.
func (a *accessRecorder) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// withAccessLog sends one event per request to sink after it is answered.
// Admin requests (health checks, scrapes) are not logged.
func withAccessLog(h http.Handler, sink *runtime.EventSink, skipAdmin bool, adminPaths []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if skipAdmin && (r.URL.Path == adminPaths[0] || r.URL.Path == adminPaths[1]) {
			h.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &accessRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		p, q, _ := strings.Cut(r.RequestURI, "?")
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		sink.Send(runtime.Event{
			Time:       start,
			Method:     r.Method,
			Host:       r.Host,
			Path:       p,
			Query:      q,
			Status:     rec.status,
			Location:   rec.Header().Get("Location"),
			Referer:    r.Header.Get("Referer"),
			UserAgent:  r.Header.Get("User-Agent"),
			RemoteAddr: r.RemoteAddr,
			Bytes:      rec.bytes,
			Duration:   time.Since(start),
		})
	})
}

// newAccessLog starts the access log's writer goroutine. Lines go through
// a buffer that is flushed whenever no event is waiting, so a busy server
// writes in large blocks and a quiet one line by line.
func newAccessLog(w io.Writer, format string) *runtime.EventSink {
	bw := bufio.NewWriterSize(w, 64<<10)
	var h slog.Handler
	opts := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && (a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
			return slog.Attr{} // every line is an access: no level, no message
		}
		return a
	}}
	if format == "json" {
		h = slog.NewJSONHandler(bw, opts)
	} else {
		h = slog.NewTextHandler(bw, opts)
	}
	var sink *runtime.EventSink
	sink = runtime.NewEventSink("access_log", 8192, func(e runtime.Event) {
		rec := slog.NewRecord(e.Time, slog.LevelInfo, "", 0)
		rec.AddAttrs(
			slog.String("remote", e.RemoteAddr),
			slog.String("method", e.Method),
			slog.String("host", e.Host),
			slog.String("path", e.Path),
		)
		if e.Query != "" {
			rec.AddAttrs(slog.String("query", e.Query))
		}
		rec.AddAttrs(slog.Int("status", e.Status), slog.Int64("bytes", e.Bytes), slog.Duration("duration", e.Duration))
		if e.Location != "" {
			rec.AddAttrs(slog.String("location", e.Location))
		}
		if e.Referer != "" {
			rec.AddAttrs(slog.String("referer", e.Referer))
		}
		if e.UserAgent != "" {
			rec.AddAttrs(slog.String("ua", e.UserAgent))
		}
		h.Handle(context.Background(), rec)
		if sink.Pending() == 0 {
			bw.Flush()
		}
	})
	return sink
}
