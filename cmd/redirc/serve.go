package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/redirc/redirc/runtime"
	"github.com/redirc/redirc/runtime/clicks"
	"github.com/redirc/redirc/runtime/server"
)

// serveStarted, when set (by tests), is called with the addresses the
// servers listen on once they accept connections; adminAddr is "" without
// --admin-addr.
var serveStarted func(addr, adminAddr string)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve redirects from a build directory or URL over HTTP, reloading new builds",
		ArgsUsage: "[--addr HOST:PORT] DIR|URL",
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

Admin endpoints: health (200 with the build id and rule count as JSON;
503 until a build is loaded) and metrics (Prometheus text format).
Without --admin-addr they are served on --addr at /.redirc/healthz and
/.redirc/metrics (--admin-prefix): exactly these two paths are reserved,
and every other path, also under /.redirc/, is looked up as usual. A
build whose rules would answer one of the two is served, but a warning is
logged on each load. With --admin-addr they move to /healthz and /metrics
on that address, where health also reports the build directory, the
reload counts and the last reload error, and --addr serves redirects
only. Keep them off the public internet with --admin-addr 127.0.0.1:9090.

--fallback DIR serves files with http.FileServer; a directory is served as
its index.html and never listed; where a file exists, it is served instead
of a Netlify rule written without "!" (unforced), as on Netlify. --fallback
URL proxies misses to that
upstream (Host set to the upstream's, X-Forwarded-For/-Host/-Proto added).

Access log (--access-log FILE, "-" for stdout): one line per request
(admin endpoints excepted), in --log-format, written by one goroutine
from a buffer; when the buffer is full lines are dropped and counted
(redirc_events_dropped_total{sink="access_log"}), never waited for.

Clicks (--clicks DIR, --clicks-url URL, both allowed): one record per
redirect answered (time, host, path, status, referrer host, agent class:
human, bot, preview or scanner, and a visitor hash salted daily; never the
client's IP address), queued without blocking and written in batches every
second by a background goroutine; a full queue drops and counts
(redirc_clicks_dropped_total). --clicks DIR writes JSON-lines files,
rotated by size and age, zstd-compressed when closed, fsynced on rotation;
--clicks-url POSTs NDJSON batches (ClickHouse's "INSERT ... FORMAT
JSONEachRow" takes them as they are) with retries and a bounded spill.
--clicks-secret FILE keeps the salt's secret across restarts and servers
(created if missing), so unique visitors count across them. Summarize
with "redirc stats".

Memory: the build is held in memory (about its size on disk); during a
reload the old and the new build are both held. Unless GOGC is set, serve
runs the GC with GOGC=25 (the build is never scanned, so this is cheap and
keeps the heap near the build's size); GOMEMLIMIT is honoured.

A build published on a static host (an http(s) URL of a build directory:
URL/index.json is its index) is served the same way: index.json is polled
every --poll (10s when 0, with jitter) with conditional requests, and shards
are fetched on demand and verified, at most --cache-bytes of them held; see
the README's "Static hosting and replicas".

Engines: requests are read and answered by fasthttp (--engine fasthttp,
the default), whose request parser is stricter than net/http's in a few
places (obs-fold, an empty Host, two equal Content-Lengths are refused);
redirects are answered without building a net/http request, while the
admin endpoints and --fallback run as net/http handlers behind it.
--engine net/http serves with Go's net/http server instead.

SIGINT or SIGTERM stops accepting connections and lets requests in flight
finish (up to --shutdown-timeout); a second signal exits at once.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: ":8080", Usage: "`HOST:PORT` to serve redirects on"},
			&cli.StringFlag{Name: "engine", Value: server.EngineFast, Usage: "HTTP `ENGINE`: fasthttp (the fast one) or net/http (Go's standard server)"},
			&cli.StringFlag{Name: "admin-addr", Usage: "serve /healthz and /metrics on this `HOST:PORT` instead of under --admin-prefix on --addr"},
			&cli.StringFlag{Name: "admin-prefix", Value: "/.redirc", Usage: "path `PREFIX` of the health and metrics endpoints on --addr (\"\" to serve none there)"},
			&cli.StringFlag{Name: "fallback", Usage: "where misses go: a static `DIR` or an upstream http(s) URL (default: 404)"},
			&cli.StringFlag{Name: "access-log", Usage: "write an access log to `FILE` (\"-\": stdout)"},
			&cli.StringFlag{Name: "clicks", Usage: "record a click per redirect as JSON lines in `DIR` (rotated, zstd-compressed)"},
			&cli.StringFlag{Name: "clicks-url", Usage: "POST click batches as NDJSON to `URL` (ClickHouse JSONEachRow, log collectors)"},
			&cli.StringFlag{Name: "clicks-secret", Usage: "`FILE` holding the secret of the visitor-hash salt (created if missing; default: a new secret per process)"},
			&cli.GenericFlag{Name: "cache-control", Value: &cacheControlFlag{}, Usage: "Cache-Control for a status or class, as `KEY=VALUE`: KEY is 301..410, permanent (301, 308), temporary (302, 303, 307) or gone (410); an empty VALUE sends none; repeatable"},
			&cli.DurationFlag{Name: "read-header-timeout", Value: 5 * time.Second, Usage: "time allowed to read request headers"},
			&cli.DurationFlag{Name: "read-timeout", Value: 30 * time.Second, Usage: "time allowed to read a whole request, body included"},
			&cli.DurationFlag{Name: "write-timeout", Value: 60 * time.Second, Usage: "time allowed to write a response (bounds large fallback downloads too)"},
			&cli.DurationFlag{Name: "idle-timeout", Value: 120 * time.Second, Usage: "how long an idle keep-alive connection is kept"},
			&cli.IntFlag{Name: "max-header-bytes", Value: 64 << 10, Usage: "largest request header block accepted, in bytes"},
			&cli.DurationFlag{Name: "shutdown-timeout", Value: 30 * time.Second, Usage: "on SIGINT/SIGTERM, how long requests in flight may take to finish"},
			&cli.BoolFlag{Name: "watch", Value: true, Usage: "reload when a new build lands in DIR (--watch=false: only on SIGHUP, unless --poll is set)"},
			&cli.DurationFlag{Name: "debounce", Value: 200 * time.Millisecond, Usage: "quiet time after a change in DIR before reloading"},
			&cli.DurationFlag{Name: "poll", Usage: "also re-read DIR's index this often, for file systems without change events or a DIR that is a symlink swapped in place; DIR is then followed even with --watch=false (0: never)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "log level: debug, info, warn or error"},
			&cli.StringFlag{Name: "cache-bytes", Value: "256MiB", Usage: "for a build served from a URL: the most shard bytes held in memory, least recently used out (`SIZE`: bytes, or with KiB, MiB, GiB)"},
			&cli.BoolFlag{Name: "preload", Usage: "for a build served from a URL: fetch every shard at start instead of on demand"},
			&cli.DurationFlag{Name: "fetch-timeout", Value: runtime.DefaultFetchTimeout, Usage: "for a build served from a URL: the longest a request waits for its shard"},
			&cli.StringFlag{Name: "on-fetch-error", Value: runtime.OnFetchErrorUnavailable, Usage: "for a build served from a URL: what a request whose shard cannot be fetched in time answers: 503 (no CDN caches a wrong 404) or miss (the fallback answers)"},
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
	if f == nil {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(f.set)) {
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

// optionFlags names the flag behind each server.Options field that
// server.New checks, for its *server.OptionError.
var optionFlags = map[string]string{
	"Engine":          "--engine",
	"AdminAddr":       "--admin-addr",
	"AdminPrefix":     "--admin-prefix",
	"AccessLogFormat": "--log-format",
	"MaxHeaderBytes":  "--max-header-bytes",
}

func runServe(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErr("serve: want exactly one build directory or URL (usage: redirc serve [--addr HOST:PORT] DIR|URL)")
	}
	cacheBytes, err := parseSize(c.String("cache-bytes"))
	if err != nil || cacheBytes <= 0 {
		return usageErr("--cache-bytes %q: want a positive size such as 268435456 or 256MiB", c.String("cache-bytes"))
	}
	switch c.String("on-fetch-error") {
	case runtime.OnFetchErrorUnavailable, runtime.OnFetchErrorMiss:
	default:
		return usageErr("--on-fetch-error %q: want 503 or miss", c.String("on-fetch-error"))
	}
	if c.Duration("fetch-timeout") <= 0 {
		return usageErr("--fetch-timeout must be positive")
	}
	log, err := newLogger(c.App.ErrWriter, c.String("log-format"), c.String("log-level"))
	if err != nil {
		return err
	}
	if c.Int("max-header-bytes") <= 0 {
		return usageErr("--max-header-bytes must be positive")
	}
	// A 0 flag means no limit (net/http's 0); in server.Options it means
	// the default, and a negative value no limit.
	noLimit := func(name string) time.Duration {
		if d := c.Duration(name); d != 0 {
			return d
		}
		return -1
	}
	prefix := strings.TrimSuffix(c.String("admin-prefix"), "/")
	opts := server.Options{
		Engine:          c.String("engine"),
		Addr:            c.String("addr"),
		AdminAddr:       c.String("admin-addr"),
		AdminPrefix:     prefix,
		NoAdmin:         prefix == "",
		AccessLogFormat: c.String("log-format"),
		Logger:          log,
		NoWatch:         !c.Bool("watch"),
		Poll:            c.Duration("poll"),
		Remote: runtime.RemoteOptions{
			CacheBytes:   cacheBytes,
			Preload:      c.Bool("preload"),
			FetchTimeout: c.Duration("fetch-timeout"),
			OnFetchError: c.String("on-fetch-error"),
		},
		Debounce:          c.Duration("debounce"),
		ReadHeaderTimeout: noLimit("read-header-timeout"),
		ReadTimeout:       noLimit("read-timeout"),
		WriteTimeout:      noLimit("write-timeout"),
		IdleTimeout:       noLimit("idle-timeout"),
		MaxHeaderBytes:    c.Int("max-header-bytes"),
		ShutdownTimeout:   noLimit("shutdown-timeout"),
	}
	v := currentVersion()
	opts.Version, opts.Revision = v.Version, v.Revision
	if f, ok := c.Generic("cache-control").(*cacheControlFlag); ok {
		opts.CacheControl = f.set
	}
	if opts.Fallback, err = fallback(c.String("fallback"), log); err != nil {
		return err
	}
	switch p := c.String("access-log"); p {
	case "":
	case "-":
		opts.AccessLog = c.App.Writer
	default:
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return failErr("--access-log: %v", err)
		}
		defer f.Close()
		opts.AccessLog = f
	}
	rec, err := clickRecorder(c, log)
	if err != nil {
		return err
	}
	if rec != nil {
		defer func() {
			if err := rec.Close(); err != nil {
				log.Warn("redirc: closing the click recorder", "error", err)
			}
		}()
		opts.Clicks = rec
	}
	if serveStarted != nil {
		opts.Started = func(addr, admin net.Addr) {
			a := ""
			if admin != nil {
				a = admin.String()
			}
			serveStarted(addr.String(), a)
		}
	}

	srv, err := server.New(c.Args().First(), opts)
	if oe := (*server.OptionError)(nil); errors.As(err, &oe) {
		return usageErr("%s %q: %s", optionFlags[oe.Field], fmt.Sprint(oe.Value), oe.Reason)
	} else if err != nil {
		return failErr("serve: %v", err)
	}
	// The first SIGINT or SIGTERM shuts down gracefully; from then on the
	// default action is back, so a second one kills the process.
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("redirc: SIGHUP: reloading", "dir", c.Args().First())
				srv.Reload() // logged and recorded by the server
			}
		}
	}()
	if err := srv.ListenAndServe(ctx); err != nil {
		return failErr("serve: %v", err)
	}
	return nil
}

// fallback returns the handler for misses described by --fallback: an
// upstream http(s) URL or a directory.
func fallback(spec string, log *slog.Logger) (h http.Handler, err error) {
	isURL := strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://")
	switch {
	case spec == "":
		return nil, nil
	case isURL:
		h, err = server.FallbackURL(spec, log)
	default:
		h, err = server.FallbackDir(spec)
	}
	switch {
	case errors.Is(err, server.ErrBadFallback) && !isURL:
		return nil, usageErr("--fallback %q is neither a directory nor an http(s) URL", spec)
	case errors.Is(err, server.ErrBadFallback):
		return nil, usageErr("--fallback: %v", err)
	case err != nil:
		return nil, failErr("--fallback: %v", err)
	}
	return h, nil
}

// parseSize parses a byte count: digits, optionally followed by KiB, MiB or
// GiB (or KB, MB, GB: powers of 1000).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, err
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("size too large")
	}
	return n * mult, nil
}

// clickRecorder returns the click recorder --clicks, --clicks-url and
// --clicks-secret describe, or nil when neither sink is given.
func clickRecorder(c *cli.Context, log *slog.Logger) (*clicks.Recorder, error) {
	dir, url := c.String("clicks"), c.String("clicks-url")
	if dir == "" && url == "" {
		if c.String("clicks-secret") != "" {
			return nil, usageErr("--clicks-secret needs --clicks or --clicks-url")
		}
		return nil, nil
	}
	var opt clicks.Options
	if p := c.String("clicks-secret"); p != "" {
		secret, err := clicks.LoadSecret(p)
		if err != nil {
			return nil, failErr("--clicks-secret: %v", err)
		}
		opt.Secret = secret
	}
	var sinks []clicks.Sink
	if url != "" {
		if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
			return nil, usageErr("--clicks-url %q: want an http(s) URL", url)
		}
		sinks = append(sinks, clicks.NewHTTPSink(url, clicks.HTTPOptions{}))
	}
	if dir != "" {
		ds, err := clicks.NewDirSink(dir, clicks.DirOptions{})
		if err != nil {
			for _, s := range sinks {
				s.Close()
			}
			return nil, failErr("--clicks: %v", err)
		}
		sinks = append(sinks, ds)
	}
	sink := sinks[0]
	if len(sinks) > 1 {
		sink = clicks.Tee(sinks...)
	}
	log.Debug("redirc: recording clicks", "dir", dir, "url", url)
	return clicks.New(sink, opt), nil
}
