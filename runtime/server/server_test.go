package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/runtime"
	"github.com/redirc/redirc/shardfmt"
)

// writeBuild compiles rules ("source dest [status]" per line, dest "-"
// for none) into dir and returns the build id.
func writeBuild(t testing.TB, dir string, lines ...string) string {
	t.Helper()
	var rs []compiler.Rule
	for i, l := range lines {
		f := strings.Fields(l)
		r := compiler.Rule{Source: f[0], Destination: f[1], Status: 301, Pos: compiler.Pos{File: "t", Line: i + 1}}
		if r.Destination == "-" {
			r.Destination = ""
		}
		if len(f) > 2 {
			if _, err := fmt.Sscan(f[2], &r.Status); err != nil {
				t.Fatalf("bad status %q", f[2])
			}
		}
		rs = append(rs, r)
	}
	b, ps, err := compiler.Compile(rs, compiler.Options{})
	if err != nil {
		t.Fatalf("compile: %v %v", err, ps)
	}
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return b.Index.BuildID
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newServer is New with a logger writing to the returned buffer, the GC
// left alone and no watcher; the server is closed when the test ends.
func newServer(t *testing.T, dir string, opts Options) (*Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.GCPercent == 0 {
		opts.GCPercent = -1
	}
	opts.NoWatch = true
	s, err := New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, logs
}

// quiet is a logger for tests that do not read the logs.
var quiet = slog.New(slog.DiscardHandler)

type answer struct {
	status int
	header http.Header
	body   string
}

// do sends one request to h and returns its answer.
func do(h http.Handler, method, target string) answer {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return answer{w.Code, w.Header(), w.Body.String()}
}

func TestAdminPaths(t *testing.T) {
	for prefix, want := range map[string]string{
		DefaultAdminPrefix: "/.redirc/healthz /.redirc/metrics",
		"/ops/":            "/ops/healthz /ops/metrics",
		"":                 "/healthz /metrics",
		"/":                "/healthz /metrics",
	} {
		if got := strings.Join(AdminPaths(prefix), " "); got != want {
			t.Errorf("AdminPaths(%q) = %s, want %s", prefix, got, want)
		}
	}
}

func TestNewOptionErrors(t *testing.T) {
	for _, c := range []struct {
		opts  Options
		field string
	}{
		{Options{AdminPrefix: "ops"}, "AdminPrefix"},
		{Options{AdminPrefix: "/a b"}, "AdminPrefix"},
		{Options{AdminPrefix: "/a?b"}, "AdminPrefix"},
		{Options{Addr: "127.0.0.1:9000", AdminAddr: "127.0.0.1:9000"}, "AdminAddr"},
		{Options{AdminAddr: DefaultAddr}, "AdminAddr"},
		{Options{AccessLogFormat: "xml"}, "AccessLogFormat"},
		{Options{MaxHeaderBytes: -1}, "MaxHeaderBytes"},
	} {
		c.opts.Logger = quiet
		_, err := New(t.TempDir(), c.opts)
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Field != c.field || !strings.Contains(err.Error(), "Options."+c.field) {
			t.Errorf("New(%+v): %v, want an *OptionError for %s", c.opts, err, c.field)
		}
	}
	// Two :0 addresses are two different ports.
	if _, err := New(t.TempDir(), Options{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", GCPercent: -1, Logger: quiet}); err != nil {
		t.Errorf("Addr and AdminAddr both :0: %v", err)
	}
}

func TestHandlerServesRedirectsAndAdminUnderPrefix(t *testing.T) {
	dir := t.TempDir()
	id := writeBuild(t, dir, "/perm /to-perm 301", "/gone - 410", "/.redirc/other /not-admin 302")
	s, _ := newServer(t, dir, Options{})
	h := s.Handler()
	for _, c := range []struct {
		method, target string
		status         int
		loc            string
	}{
		{"GET", "/perm", 301, "/to-perm"},
		{"GET", "/gone", 410, ""},
		{"GET", "/.redirc/other", 302, "/not-admin"}, // only the two exact paths are taken
		{"GET", "/.redirc/", 404, ""},
		{"GET", "/nope", 404, ""},
		{"POST", "/.redirc/healthz", 405, ""},
	} {
		if r := do(h, c.method, c.target); r.status != c.status || r.header.Get("Location") != c.loc {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.target, r.status, r.header.Get("Location"), c.status, c.loc)
		}
	}
	r := do(h, "GET", "/.redirc/healthz")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != 200 {
		t.Fatalf("healthz: %d %s %v", r.status, r.body, err)
	}
	if want := fmt.Sprint(map[string]any{"status": "ok", "buildId": id, "rules": 3.0}); fmt.Sprint(got) != want {
		t.Errorf("healthz = %v, want %v", got, want)
	}
	if r := do(h, "GET", "/.redirc/metrics"); r.status != 200 || !strings.Contains(r.body, "redirc_hits_total 3\n") || !strings.Contains(r.body, "redirc_misses_total 2\n") {
		t.Errorf("metrics: %d\n%s", r.status, r.body)
	}
	if s.ReservedPaths()[0] != "/.redirc/healthz" || s.Live().Set() == nil || s.Metrics().Hits() != 3 {
		t.Errorf("ReservedPaths %v, Live %v, Metrics hits %d", s.ReservedPaths(), s.Live().Set(), s.Metrics().Hits())
	}
}

// TestPublicHealthHidesDetails: the health answer of Handler (the public
// address) never shows the build directory or load errors; AdminHandler's
// does.
func TestPublicHealthHidesDetails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secret-place")
	s, _ := newServer(t, dir, Options{})
	pub := do(s.Handler(), "GET", "/.redirc/healthz")
	if pub.status != 503 || strings.TrimSpace(pub.body) != "{\n  \"status\": \"no build\",\n  \"rules\": 0\n}" {
		t.Errorf("public healthz before a build: %d %s", pub.status, pub.body)
	}
	adm := do(s.AdminHandler(), "GET", "/healthz")
	if adm.status != 503 || !strings.Contains(adm.body, "secret-place") {
		t.Errorf("admin healthz before a build: %d %s", adm.status, adm.body)
	}

	id := writeBuild(t, dir, "/a /b")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, shardfmt.IndexFileName), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err == nil {
		t.Fatal("a broken index was accepted")
	}
	pub = do(s.Handler(), "GET", "/.redirc/healthz")
	if pub.status != 200 || strings.Contains(pub.body, "secret-place") || strings.Contains(pub.body, "rror") || !strings.Contains(pub.body, id) {
		t.Errorf("public healthz after a refused build: %d %s", pub.status, pub.body)
	}
	adm = do(s.AdminHandler(), "GET", "/healthz")
	var st struct{ Dir, LastError string }
	if err := json.Unmarshal([]byte(adm.body), &st); err != nil || st.Dir != dir || st.LastError == "" {
		t.Errorf("admin healthz after a refused build: %d %s", adm.status, adm.body)
	}
	if r := do(s.AdminHandler(), "HEAD", "/healthz"); r.status != 200 || r.body != "" {
		t.Errorf("HEAD admin healthz: %d %q", r.status, r.body)
	}
}

func TestAdminPlacement(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, "/x /y")
	for _, c := range []struct {
		name   string
		opts   Options
		health string // the health path on the main address, "" for none
	}{
		{"default", Options{}, "/.redirc/healthz"},
		{"prefix", Options{AdminPrefix: "/_ops/"}, "/_ops/healthz"},
		{"root", Options{AdminPrefix: "/"}, "/healthz"},
		{"admin address", Options{AdminAddr: "127.0.0.1:0"}, ""},
		{"none", Options{NoAdmin: true}, ""},
	} {
		s, _ := newServer(t, dir, c.opts)
		for _, p := range []string{"/.redirc/healthz", "/_ops/healthz", "/healthz"} {
			want := 404
			if p == c.health {
				want = 200
			}
			if r := do(s.Handler(), "GET", p); r.status != want {
				t.Errorf("%s: GET %s: %d, want %d", c.name, p, r.status, want)
			}
		}
		if r := do(s.AdminHandler(), "GET", "/metrics"); r.status != 200 || !strings.Contains(r.body, "redirc_build_loaded 1") {
			t.Errorf("%s: admin metrics: %d", c.name, r.status)
		}
	}
}

func TestShadowedAdminPathWarning(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, "/.redirc/healthz /x", "/a /b")
	_, logs := newServer(t, dir, Options{})
	if !strings.Contains(logs.String(), "the admin endpoint takes it") || !strings.Contains(logs.String(), "path=/.redirc/healthz") {
		t.Errorf("no warning for a rule on an admin path:\n%s", logs)
	}
	if strings.Contains(logs.String(), "--") {
		t.Errorf("a library log names a flag:\n%s", logs)
	}
	_, logs = newServer(t, dir, Options{AdminAddr: "127.0.0.1:0"})
	if strings.Contains(logs.String(), "admin endpoint takes it") {
		t.Errorf("warning without admin paths on the main address:\n%s", logs)
	}
}

func TestFallbackDir(t *testing.T) {
	site := t.TempDir()
	os.WriteFile(filepath.Join(site, "index.html"), []byte("home page"), 0o644)
	os.Mkdir(filepath.Join(site, "private"), 0o755)
	os.WriteFile(filepath.Join(site, "private", "notes.txt"), []byte("notes"), 0o644)
	fb, err := FallbackDir(site)
	if err != nil {
		t.Fatal(err)
	}
	if fb.(fmt.Stringer).String() != "files in "+site {
		t.Errorf("String() = %q", fb.(fmt.Stringer).String())
	}
	dir := t.TempDir()
	writeBuild(t, dir, "/private/notes.txt /elsewhere")
	s, _ := newServer(t, dir, Options{Fallback: fb})
	for _, c := range []struct {
		path   string
		status int
		body   string
	}{
		{"/", 200, "home page"},
		{"/private/", 404, "404 page not found\n"}, // never listed
		{"/private/notes.txt", 301, ""},            // a rule first
		{"/missing", 404, "404 page not found\n"},
	} {
		if r := do(s.Handler(), "GET", c.path); r.status != c.status || (c.body != "" && r.body != c.body) {
			t.Errorf("GET %s: %d %q, want %d %q", c.path, r.status, r.body, c.status, c.body)
		}
	}

	if _, err := FallbackDir(filepath.Join(site, "missing")); !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrBadFallback) {
		t.Errorf("missing directory: %v", err)
	}
	if _, err := FallbackDir(filepath.Join(site, "index.html")); !errors.Is(err, ErrBadFallback) {
		t.Errorf("a file: %v", err)
	}
}

func TestFallbackURL(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream %s %s xfh=%s", r.Method, r.URL.RequestURI(), r.Header.Get("X-Forwarded-Host"))
	}))
	defer up.Close()
	var logs syncBuffer
	fb, err := FallbackURL(up.URL+"/base", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if got := fb.(fmt.Stringer).String(); got != "proxy to "+up.URL+"/base" {
		t.Errorf("String() = %q", got)
	}
	req := httptest.NewRequest("POST", "http://site.example/some/page?x=1", nil)
	w := httptest.NewRecorder()
	fb.ServeHTTP(w, req)
	if want := "upstream POST /base/some/page?x=1 xfh=site.example"; w.Code != 200 || w.Body.String() != want {
		t.Errorf("proxied: %d %q, want %q", w.Code, w.Body.String(), want)
	}
	up.Close()
	if r := do(fb, "GET", "/down"); r.status != 502 || !strings.Contains(logs.String(), "fallback upstream failed") {
		t.Errorf("upstream down: %d, logs %q", r.status, logs.String())
	}

	for _, bad := range []string{"http://", "ftp://host/", "/relative", "http://host/?q=1", "http://host/#f", "http://%zz"} {
		if _, err := FallbackURL(bad, nil); !errors.Is(err, ErrBadFallback) {
			t.Errorf("FallbackURL(%q): %v, want ErrBadFallback", bad, err)
		}
	}
}

func TestAccessLog(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, "/perm /to-perm 301")
	for _, format := range []string{"json", "text"} {
		var out syncBuffer
		s, _ := newServer(t, dir, Options{AccessLog: &out, AccessLogFormat: format})
		do(s.Handler(), "GET", "/perm?utm=1")
		do(s.Handler(), "GET", "/.redirc/healthz") // not logged
		do(s.Handler(), "GET", "/nope")
		s.Close() // writes what was accepted
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("%s: %d lines, want 2:\n%s", format, len(lines), out.String())
		}
		if format == "text" {
			if !strings.Contains(lines[0], `path=/perm query="utm=1" status=301`) || !strings.Contains(lines[0], "location=/to-perm") ||
				!strings.Contains(lines[1], "path=/nope status=404 bytes=19") {
				t.Errorf("text lines:\n%s", out.String())
			}
			continue
		}
		var e struct {
			Method, Path, Query, Location string
			Status                        int
			Bytes                         int64
		}
		if err := json.Unmarshal([]byte(lines[0]), &e); err != nil || e.Method != "GET" || e.Path != "/perm" || e.Query != "utm=1" || e.Status != 301 || e.Location != "/to-perm" || e.Bytes == 0 {
			t.Errorf("json line %q: %+v %v", lines[0], e, err)
		}
		if err := json.Unmarshal([]byte(lines[1]), &e); err != nil || e.Path != "/nope" || e.Status != 404 {
			t.Errorf("json line %q: %+v %v", lines[1], e, err)
		}
		if n := s.Metrics(); !strings.Contains(scrape(t, n), `redirc_events_total{sink="access_log"} 2`) {
			t.Errorf("access log not in the metrics:\n%s", scrape(t, n))
		}
	}
}

func scrape(t *testing.T, m *runtime.Metrics) string {
	t.Helper()
	var sb strings.Builder
	if err := m.WritePrometheus(&sb); err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

// stuckWriter blocks every Write until release is closed.
type stuckWriter struct {
	entered chan struct{}
	once    sync.Once
	release chan struct{}
}

func (w *stuckWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.release
	return len(p), nil
}

// TestAccessLogNeverBlocksRequests: with the log's writer stuck, requests
// are still answered, and the records that do not fit are dropped and
// counted.
func TestAccessLogNeverBlocksRequests(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, "/perm /to-perm 301")
	w := &stuckWriter{entered: make(chan struct{}), release: make(chan struct{})}
	s, _ := newServer(t, dir, Options{AccessLog: w, AccessLogBuffer: 4})
	do(s.Handler(), "GET", "/perm")
	<-w.entered // the writer goroutine is stuck in Write from now on
	const n = 50
	for range n {
		if r := do(s.Handler(), "GET", "/perm"); r.status != 301 {
			t.Fatalf("answer with a stuck access log: %d", r.status)
		}
	}
	m := scrape(t, s.Metrics())
	if !strings.Contains(m, `redirc_events_dropped_total{sink="access_log"} 46`) || !strings.Contains(m, `redirc_events_total{sink="access_log"} 5`) {
		t.Errorf("with a buffer of 4 and the writer stuck, want 5 sent and 46 dropped:\n%s", m)
	}
	close(w.release)
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, "/x /from-a")
	var reloads []string
	s, logs := newServer(t, dir, Options{OnReload: func(st runtime.Status, err error) { reloads = append(reloads, st.BuildID) }})
	idB := writeBuild(t, dir, "/x /from-b 308")
	if r := do(s.Handler(), "GET", "/x"); r.header.Get("Location") != "/from-a" {
		t.Fatalf("reloaded without Reload (NoWatch): %q", r.header.Get("Location"))
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if r := do(s.Handler(), "GET", "/x"); r.status != 308 || r.header.Get("Location") != "/from-b" {
		t.Errorf("after Reload: %d %q", r.status, r.header.Get("Location"))
	}
	if len(reloads) != 2 || reloads[1] != idB {
		t.Errorf("OnReload saw %v", reloads)
	}
	if !strings.Contains(logs.String(), "collected the previous build") {
		t.Errorf("no collection after a reload swapped out a build:\n%s", logs)
	}
	os.RemoveAll(dir)
	if err := s.Reload(); !errors.Is(err, runtime.ErrNoBuild) {
		t.Errorf("Reload of a removed directory: %v, want ErrNoBuild", err)
	}
}

func TestGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	dir := t.TempDir()
	t.Setenv("GOGC", "")
	debug.SetGCPercent(100)
	New(dir, Options{Logger: quiet})
	if got := debug.SetGCPercent(100); got != DefaultGCPercent {
		t.Errorf("GOGC after New: %d, want %d", got, DefaultGCPercent)
	}
	New(dir, Options{GCPercent: -1, Logger: quiet})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC after New with GCPercent -1: %d, want 100 (left alone)", got)
	}
	t.Setenv("GOGC", "200")
	New(dir, Options{Logger: quiet})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC after New with GOGC set: %d, want 100 (left alone)", got)
	}
}

// startServe runs s.Serve on loopback listeners until the test ends (or
// stop is called) and returns the addresses once it accepts connections.
func startServe(t *testing.T, s *Server, admin bool) (base, adminBase string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var adminLn net.Listener
	if admin {
		if adminLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, adminLn) }()
	stopped := false
	var serveErr error
	stop = func() error {
		if !stopped {
			cancel()
			serveErr, stopped = <-done, true
		}
		return serveErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	base = "http://" + ln.Addr().String()
	if admin {
		adminBase = "http://" + adminLn.Addr().String()
	}
	return base, adminBase, stop
}

var noFollow = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

func get(t *testing.T, u string) answer {
	t.Helper()
	r, err := noFollow.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return answer{r.StatusCode, r.Header, string(b)}
}

func TestServe(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, "/perm /to-perm 301")
	started := make(chan [2]net.Addr, 1)
	s, logs := newServer(t, dir, Options{AdminAddr: "127.0.0.1:0", Started: func(a, b net.Addr) { started <- [2]net.Addr{a, b} }})
	base, admin, stop := startServe(t, s, true)
	addrs := <-started
	if "http://"+addrs[0].String() != base || "http://"+addrs[1].String() != admin {
		t.Errorf("Started with %v, want %s and %s", addrs, base, admin)
	}
	if r := get(t, base+"/perm"); r.status != 301 || r.header.Get("Location") != "/to-perm" {
		t.Errorf("GET /perm: %d %q", r.status, r.header.Get("Location"))
	}
	if r := get(t, base+"/.redirc/healthz"); r.status != 404 {
		t.Errorf("admin path on the main address with an admin address: %d", r.status)
	}
	if r := get(t, admin+"/healthz"); r.status != 200 || !strings.Contains(r.body, dir) {
		t.Errorf("admin healthz: %d %s", r.status, r.body)
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	for _, want := range []string{"redirc: serving", "healthz=" + admin + "/healthz", "redirc: shutting down", "redirc: stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if err := s.Serve(context.Background(), nil, nil); err == nil {
		t.Error("a second Serve did not fail")
	}
}

func TestListenAndServe(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, "/perm /to-perm 301")
	started := make(chan net.Addr, 1)
	s, _ := newServer(t, dir, Options{Addr: "127.0.0.1:0", Started: func(a, _ net.Addr) { started <- a }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx) }()
	var addr net.Addr
	select {
	case addr = <-started:
	case err := <-done:
		t.Fatalf("ListenAndServe: %v", err)
	}
	if r := get(t, "http://"+addr.String()+"/perm"); r.status != 301 {
		t.Errorf("GET /perm: %d", r.status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe after cancel: %v", err)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s2, _ := newServer(t, dir, Options{Addr: busy.Addr().String()})
	if err := s2.ListenAndServe(context.Background()); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("ListenAndServe on a busy address: %v", err)
	}
}

// TestServeGracefulShutdown: a request in flight when the context is done
// is finished (ShutdownTimeout default); with a negative ShutdownTimeout
// it is cut.
func TestServeGracefulShutdown(t *testing.T) {
	for _, c := range []struct {
		name    string
		timeout time.Duration
		cut     bool
	}{{"graceful", 0, false}, {"at once", -1, true}} {
		t.Run(c.name, func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(entered)
				<-release
				io.WriteString(w, "slow answer")
			})
			dir := t.TempDir()
			writeBuild(t, dir, "/x /y")
			s, _ := newServer(t, dir, Options{Fallback: slow, ShutdownTimeout: c.timeout})
			base, _, stop := startServe(t, s, false)
			got := make(chan error, 1)
			go func() {
				r, err := http.Get(base + "/slow")
				if err == nil {
					b, _ := io.ReadAll(r.Body)
					r.Body.Close()
					if string(b) != "slow answer" {
						err = fmt.Errorf("body %q", b)
					}
				}
				got <- err
			}()
			<-entered
			stopped := make(chan error, 1)
			go func() { stopped <- stop() }()
			if !c.cut {
				// The listener closes at once: new connections are refused.
				for {
					c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
					if err != nil {
						break
					}
					c.Close()
					time.Sleep(5 * time.Millisecond)
				}
			}
			if c.cut {
				if err := <-got; err == nil {
					t.Error("the request in flight was finished, want it cut")
				}
				close(release)
			} else {
				close(release)
				if err := <-got; err != nil {
					t.Errorf("the request in flight: %v", err)
				}
			}
			if err := <-stopped; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
}

// TestServeFollowsBuilds: Serve watches the directory by default, and
// polls it with NoWatch and Poll.
func TestServeFollowsBuilds(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
	}{
		{"watch", Options{Debounce: 5 * time.Millisecond}},
		{"poll", Options{NoWatch: true, Poll: 20 * time.Millisecond}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeBuild(t, dir, "/x /from-a")
			opts := c.opts
			opts.GCPercent = -1
			opts.Logger = quiet
			s, err := New(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			base, _, _ := startServe(t, s, false)
			writeBuild(t, dir, "/x /from-b 308")
			deadline := time.Now().Add(15 * time.Second)
			for get(t, base+"/x").status != 308 {
				if time.Now().After(deadline) {
					t.Fatal("the new build was not loaded")
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}
