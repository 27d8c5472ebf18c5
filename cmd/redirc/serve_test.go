package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/shardfmt"
)

// serveBuffer is a bytes.Buffer safe for concurrent writers.
type serveBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *serveBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *serveBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// writeRules compiles rules ("source dest status" per line) into dir and
// returns the build id.
func writeServeBuild(t *testing.T, dir string, lines ...string) string {
	t.Helper()
	var rs []compiler.Rule
	for i, l := range lines {
		f := strings.Fields(l)
		r := compiler.Rule{Source: f[0], Destination: f[1], Status: 301, Pos: compiler.Pos{File: "t", Line: i + 1}}
		if r.Destination == "-" {
			r.Destination = ""
		}
		for _, o := range f[2:] {
			if o == "query" {
				r.Query = true
			} else if _, err := fmt.Sscan(o, &r.Status); err != nil {
				t.Fatalf("bad option %q", o)
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

// serveProc is a `redirc serve` running in this process.
type serveProc struct {
	base, admin string // http://addr of --addr and --admin-addr ("" without)
	logs        *serveBuffer
	stdout      *serveBuffer
	cancel      context.CancelFunc // stands for SIGINT/SIGTERM
	done        chan int           // the exit code, once serve returns
	err         error              // the error serve returned (valid after done)
}

// serveExitCode maps an error from the app to run()'s exit code.
func serveExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 2
}

// startServe runs `redirc serve args...` in-process and waits until it
// listens. The server is stopped (and must exit 0) when the test ends.
func startServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	s := &serveProc{logs: &serveBuffer{}, stdout: &serveBuffer{}, done: make(chan int, 1)}
	ready := make(chan [2]string, 1)
	serveStarted = func(addr, admin string) { ready <- [2]string{addr, admin} }
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	app := newApp(s.stdout, s.logs)
	go func() {
		s.err = app.RunContext(ctx, append([]string{"redirc", "serve", "--addr", "127.0.0.1:0"}, args...))
		s.done <- serveExitCode(s.err)
	}()
	select {
	case a := <-ready:
		s.base = "http://" + a[0]
		if a[1] != "" {
			s.admin = "http://" + a[1]
		}
	case code := <-s.done:
		t.Fatalf("serve exited with %d before listening: %v\n%s", code, s.err, s.logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not start:\n%s", s.logs)
	}
	t.Cleanup(func() {
		s.cancel()
		select {
		case code := <-s.done:
			if code != 0 {
				t.Errorf("serve exited with %d:\n%s", code, s.logs)
			}
			s.done <- code
		case <-time.After(20 * time.Second):
			t.Errorf("serve did not stop")
		}
		if testing.Verbose() {
			t.Logf("serve logs:\n%s", s.logs)
		}
	})
	return s
}

var serveNoFollow = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

type serveResp struct {
	status int
	header http.Header
	body   string
}

func serveGet(t *testing.T, method, u, host string) serveResp {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	r, err := serveNoFollow.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return serveResp{r.StatusCode, r.Header, string(b)}
}

func serveWait(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 15*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// serveMetric returns the value of one sample from a Prometheus text page.
func serveMetric(t *testing.T, page, sample string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(page))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			return v
		}
	}
	t.Errorf("metric %s missing from:\n%s", sample, page)
	return ""
}

var serveRules = []string{
	"/perm /to-perm 301",
	"/found /to-found 302",
	"/see-other /to-see-other 303",
	"/temp /to-temp 307",
	"/perm8 /to-perm8 308",
	"/gone - 410",
	"/docs/* /manual/:splat 308",
	"shop.example.com/cards https://www.example.org/gifts 301",
	"/q /to-q?a=1 302 query",
	"/café /menu 301",
	"/.redirc/other /not-admin 302",
}

func TestServeHitsMissesToDirectory(t *testing.T) {
	build, site := t.TempDir(), t.TempDir()
	writeServeBuild(t, build, serveRules...)
	os.WriteFile(filepath.Join(site, "index.html"), []byte("home page"), 0o644)
	os.WriteFile(filepath.Join(site, "style.css"), []byte("body{}"), 0o644)
	os.Mkdir(filepath.Join(site, "private"), 0o755)
	os.WriteFile(filepath.Join(site, "private", "notes.txt"), []byte("notes"), 0o644)
	s := startServe(t, "--fallback", site, "--cache-control", "permanent=public, max-age=600", "--cache-control", "410=", build)

	for _, c := range []struct {
		method, path, host string
		status             int
		loc, cc            string
	}{
		{"GET", "/perm", "", 301, "/to-perm", "public, max-age=600"},
		{"GET", "/found", "", 302, "/to-found", "no-store"},
		{"POST", "/see-other", "", 303, "/to-see-other", "no-store"},
		{"PUT", "/temp", "", 307, "/to-temp", "no-store"},
		{"HEAD", "/perm8", "", 308, "/to-perm8", "public, max-age=600"},
		{"GET", "/gone", "", 410, "", ""},
		{"GET", "/docs/a/b", "", 308, "/manual/a/b", "public, max-age=600"},
		{"GET", "/cards", "shop.example.com", 301, "https://www.example.org/gifts", "public, max-age=600"},
		{"GET", "/q?z=9", "", 302, "/to-q?a=1&z=9", "no-store"},
		{"GET", "/caf%C3%A9", "", 301, "/menu", "public, max-age=600"},
		{"HEAD", "/caf%c3%a9", "", 301, "/menu", "public, max-age=600"},
		{"GET", "/.redirc/other", "", 302, "/not-admin", "no-store"},
	} {
		r := serveGet(t, c.method, s.base+c.path, c.host)
		if r.status != c.status || r.header.Get("Location") != c.loc || r.header.Get("Cache-Control") != c.cc {
			t.Errorf("%s %s: %d Location %q Cache-Control %q, want %d %q %q", c.method, c.path, r.status,
				r.header.Get("Location"), r.header.Get("Cache-Control"), c.status, c.loc, c.cc)
		}
		if c.method == "HEAD" && r.body != "" {
			t.Errorf("HEAD %s: body %q", c.path, r.body)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: no nosniff", c.method, c.path)
		}
	}

	// Misses go to the directory; directories are never listed.
	for _, c := range []struct {
		path   string
		status int
		body   string
	}{
		{"/", 200, "home page"},
		{"/style.css", 200, "body{}"},
		{"/private/notes.txt", 200, "notes"},
		{"/private/", 404, ""},
		{"/nope", 404, ""},
		{"/cards", 404, ""}, // host-scoped rule, other host
	} {
		r := serveGet(t, "GET", s.base+c.path, "")
		if r.status != c.status || (c.body != "" && r.body != c.body) {
			t.Errorf("miss GET %s: %d %q, want %d %q", c.path, r.status, r.body, c.status, c.body)
		}
	}
	if r := serveGet(t, "HEAD", s.base+"/style.css", ""); r.status != 200 || r.body != "" {
		t.Errorf("miss HEAD: %d %q", r.status, r.body)
	}

	// Health and metrics on the main address, under /.redirc/.
	h := serveGet(t, "GET", s.base+"/.redirc/healthz", "")
	if h.status != 200 || !strings.Contains(h.body, `"rules": 11`) {
		t.Errorf("healthz: %d %s", h.status, h.body)
	}
	m := serveGet(t, "GET", s.base+"/.redirc/metrics", "").body
	for sample, want := range map[string]string{
		`redirc_redirects_total{status="301"}`: "4",
		`redirc_redirects_total{status="410"}`: "1",
		`redirc_hits_total`:                    "12",
		`redirc_misses_total`:                  "7",
		`redirc_reloads_total`:                 "1",
		`redirc_build_rules`:                   "11",
	} {
		if got := serveMetric(t, m, sample); got != want {
			t.Errorf("%s = %s, want %s", sample, got, want)
		}
	}
}

func TestServeMissesToUpstream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream %s %s %s xfh=%s", r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("X-Forwarded-Host"))
	}))
	defer up.Close()
	build := t.TempDir()
	writeServeBuild(t, build, serveRules...)
	s := startServe(t, "--fallback", up.URL+"/base", build)

	r := serveGet(t, "GET", s.base+"/some/page?x=1", "site.example")
	if want := "upstream GET /base/some/page?x=1 " + strings.TrimPrefix(up.URL, "http://") + " xfh=site.example"; r.status != 200 || r.body != want {
		t.Errorf("miss to upstream: %d %q, want %q", r.status, r.body, want)
	}
	if r := serveGet(t, "POST", s.base+"/api", ""); !strings.HasPrefix(r.body, "upstream POST /base/api") {
		t.Errorf("POST miss: %q", r.body)
	}
	if r := serveGet(t, "GET", s.base+"/perm", ""); r.status != 301 {
		t.Errorf("hit with an upstream: %d", r.status)
	}
	// An upstream that is down gives 502, not a hang.
	up.Close()
	if r := serveGet(t, "GET", s.base+"/other", ""); r.status != 502 {
		t.Errorf("upstream down: %d, want 502", r.status)
	}
}

func TestServeHealthBeforeAndAfterLoad(t *testing.T) {
	build := filepath.Join(t.TempDir(), "out")
	s := startServe(t, "--admin-addr", "127.0.0.1:0", "--debounce", "20ms", build)
	if s.admin == "" {
		t.Fatal("no admin address")
	}
	h := serveGet(t, "GET", s.admin+"/healthz", "")
	if h.status != 503 || !strings.Contains(h.body, `"status": "no build"`) {
		t.Errorf("healthz before a build: %d %s", h.status, h.body)
	}
	if r := serveGet(t, "GET", s.base+"/perm", ""); r.status != 404 {
		t.Errorf("before a build: %d, want 404", r.status)
	}
	// With --admin-addr the main address has no admin paths at all.
	if r := serveGet(t, "GET", s.base+"/.redirc/healthz", ""); r.status != 404 {
		t.Errorf("/.redirc/healthz on --addr with --admin-addr: %d, want 404", r.status)
	}
	if m := serveGet(t, "GET", s.admin+"/metrics", "").body; serveMetric(t, m, "redirc_build_loaded") != "0" {
		t.Errorf("metrics before a build:\n%s", m)
	}

	id := writeServeBuild(t, build, serveRules...)
	took := serveWait(t, "the first build", func() bool { return serveGet(t, "GET", s.base+"/perm", "").status == 301 })
	t.Logf("first build served %v after it was written (the directory is looked for every second)", took)
	h = serveGet(t, "GET", s.admin+"/healthz", "")
	if h.status != 200 || !strings.Contains(h.body, id) {
		t.Errorf("healthz after the build: %d %s", h.status, h.body)
	}
	m := serveGet(t, "GET", s.admin+"/metrics", "").body
	v := currentVersion()
	if serveMetric(t, m, "redirc_build_loaded") != "1" || serveMetric(t, m, `redirc_data_build_info{build_id="`+id+`"}`) != "1" ||
		serveMetric(t, m, fmt.Sprintf(`redirc_build_info{goversion=%q,revision=%q,version=%q}`, goruntime.Version(), v.Revision, v.Version)) != "1" {
		t.Errorf("metrics after the build:\n%s", m)
	}
}

func TestServeReloadAndCorruptBuild(t *testing.T) {
	build := t.TempDir()
	idA := writeServeBuild(t, build, "/x /from-a 301", "/a /only-a 301")
	s := startServe(t, "--debounce", "20ms", "--admin-addr", "127.0.0.1:0", build)
	if r := serveGet(t, "GET", s.base+"/x", ""); r.header.Get("Location") != "/from-a" {
		t.Fatalf("build A: %d %q", r.status, r.header.Get("Location"))
	}

	start := time.Now()
	idB := writeServeBuild(t, build, "/x /from-b 308", "/b /only-b 301")
	took := serveWait(t, "build B", func() bool { return serveGet(t, "GET", s.base+"/x", "").header.Get("Location") == "/from-b" })
	t.Logf("new answers %v after the rebuild began (%v after it finished)", time.Since(start), took)

	// A corrupt build: B's shard with one byte flipped, under a new index.
	scratch := t.TempDir()
	writeServeBuild(t, scratch, "/x /from-c 302")
	ents, _ := os.ReadDir(scratch)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(scratch, e.Name()))
		if strings.HasSuffix(e.Name(), ".rdx") {
			b[len(b)/3] ^= 1
			os.WriteFile(filepath.Join(build, e.Name()), b, 0o644)
		}
	}
	idx, _ := os.ReadFile(filepath.Join(scratch, shardfmt.IndexFileName))
	os.WriteFile(filepath.Join(build, ".tmp-idx"), idx, 0o644)
	os.Rename(filepath.Join(build, ".tmp-idx"), filepath.Join(build, shardfmt.IndexFileName))

	serveWait(t, "the corrupt build to be refused", func() bool {
		return serveMetric(t, serveGet(t, "GET", s.admin+"/metrics", "").body, "redirc_reload_failures_total") == "1"
	})
	for i := 0; i < 10; i++ {
		if r := serveGet(t, "GET", s.base+"/x", ""); r.status != 308 || r.header.Get("Location") != "/from-b" {
			t.Fatalf("after a corrupt build: %d %q, want build B's answer", r.status, r.header.Get("Location"))
		}
	}
	var h struct {
		Status, BuildID, LastError string
	}
	hr := serveGet(t, "GET", s.admin+"/healthz", "") // details only on --admin-addr
	if err := json.Unmarshal([]byte(hr.body), &h); err != nil || hr.status != 200 || h.BuildID != idB || !strings.Contains(h.LastError, "corrupt") {
		t.Errorf("healthz after a corrupt build: %d %s", hr.status, hr.body)
	}
	if !strings.Contains(s.logs.String(), "build refused") {
		t.Errorf("the refusal was not logged:\n%s", s.logs)
	}
	_ = idA
}

// TestServeEndToEnd follows redirects from `redirc serve` to a local
// destination serveProc with Go's client and with curl, for ASCII and
// non-ASCII paths.
func TestServeEndToEnd(t *testing.T) {
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "landed %s %s", r.URL.Path, r.URL.RawQuery)
	}))
	defer dest.Close()
	build := t.TempDir()
	writeServeBuild(t, build,
		"/old "+dest.URL+"/new 301",
		"/temp "+dest.URL+"/tmp 307",
		"/café "+dest.URL+"/thé 308",
		"/日本/* "+dest.URL+"/ja/:splat 302",
		"/hop /old 301",
		"/keep "+dest.URL+"/kept 302 query",
	)
	s := startServe(t, build)
	cases := []struct{ path, want string }{
		{"/old", "landed /new "},
		{"/temp", "landed /tmp "},
		{"/café", "landed /thé "},
		{"/caf%C3%A9", "landed /thé "},
		{"/日本/東京", "landed /ja/東京 "},
		{"/hop", "landed /new "},
		{"/keep?a=1&b=%C3%A9", "landed /kept a=1&b=%C3%A9"},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, c := range cases {
		r, err := client.Get(s.base + c.path)
		if err != nil {
			t.Errorf("Go client %s: %v", c.path, err)
			continue
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 || string(b) != c.want {
			t.Errorf("Go client %s: %d %q, want %q", c.path, r.StatusCode, b, c.want)
		}
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed: skipping the curl half")
	}
	for _, c := range cases {
		out, err := exec.Command(curl, "-sS", "-L", "--max-redirs", "5", "--max-time", "10", s.base+c.path).CombinedOutput()
		if err != nil || string(out) != c.want {
			t.Errorf("curl -L %s: %q (%v), want %q", c.path, out, err, c.want)
		}
	}
}

func TestServeGracefulShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "slow answer")
	}))
	defer up.Close()
	build := t.TempDir()
	writeServeBuild(t, build, "/x /y 301")
	s := startServe(t, "--fallback", up.URL, build)

	got := make(chan serveResp, 1)
	go func() {
		r, err := http.Get(s.base + "/slow")
		if err != nil {
			got <- serveResp{body: err.Error()}
			return
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		got <- serveResp{status: r.StatusCode, body: string(b)}
	}()
	<-entered
	s.cancel() // SIGTERM
	// The listener closes at once: new connections are refused.
	serveWait(t, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.base, "http://"), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case code := <-s.done:
		t.Fatalf("serve exited (%d) with a request in flight", code)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	r := <-got
	if r.status != 200 || r.body != "slow answer" {
		t.Errorf("request in flight during shutdown: %d %q", r.status, r.body)
	}
}

func TestServeAccessLogAndShadowWarning(t *testing.T) {
	build := t.TempDir()
	writeServeBuild(t, build, "/.redirc/healthz /x 301", "/perm /to-perm 301")
	logPath := filepath.Join(t.TempDir(), "access.log")
	s := startServe(t, "--access-log", logPath, "--log-format", "json", build)
	if !strings.Contains(s.logs.String(), "admin endpoint takes it") {
		t.Errorf("no warning for a rule under an admin path:\n%s", s.logs)
	}
	if r := serveGet(t, "GET", s.base+"/.redirc/healthz", ""); r.status != 200 {
		t.Errorf("healthz with a shadowed rule: %d", r.status)
	}
	serveGet(t, "GET", s.base+"/perm?utm=1", "")
	serveGet(t, "GET", s.base+"/nope", "")
	s.cancel()
	<-s.done
	s.done <- 0
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("access log has %d lines, want 2 (admin requests are not logged):\n%s", len(lines), b)
	}
	var e struct {
		Method, Path, Query, Location string
		Status                        int
	}
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil || e.Path != "/perm" || e.Query != "utm=1" || e.Status != 301 || e.Location != "/to-perm" {
		t.Errorf("access log line %q: %+v %v", lines[0], e, err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &e); err != nil || e.Path != "/nope" || e.Status != 404 {
		t.Errorf("access log line %q: %+v %v", lines[1], e, err)
	}
	// Every process log line is JSON too.
	for _, l := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		if !json.Valid([]byte(l)) {
			t.Errorf("log line is not JSON: %q", l)
		}
	}
}

func TestServeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"serve"}, 2, "exactly one build directory"},
		{[]string{"serve", "a", "b"}, 2, "exactly one build directory"},
		{[]string{"serve", "--log-format", "xml", dir}, 2, "--log-format"},
		{[]string{"serve", "--log-level", "loud", dir}, 2, "--log-level"},
		{[]string{"serve", "--cache-control", "999=x", dir}, 2, "unknown key"},
		{[]string{"serve", "--cache-control", "novalue", dir}, 2, "KEY=VALUE"},
		{[]string{"serve", "--fallback", "http://", dir}, 2, "--fallback"},
		{[]string{"serve", "--fallback", filepath.Join(dir, "missing"), dir}, 1, "--fallback"},
		{[]string{"serve", "--addr", busy.Addr().String(), dir}, 1, "address already in use"},
		{[]string{"serve", "--addr", "127.0.0.1:1", "--admin-addr", "127.0.0.1:1", dir}, 2, "--admin-addr"},
	} {
		var out, errb serveBuffer
		code := run(append([]string{"redirc"}, c.args...), &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.msg) {
			t.Errorf("redirc %v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, errb.String(), c.code, c.msg)
		}
	}
}

// TestServeProcessSignals runs `redirc serve` as a real process (this test
// binary, re-executed through cliCmd) to check SIGHUP reloads and SIGTERM shuts down
// cleanly with exit code 0.
func TestServeProcessSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	build := t.TempDir()
	writeServeBuild(t, build, "/x /from-a 301")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs serveBuffer
	cmd := cliCmd("serve", "--addr", addr, "--watch=false", "--log-format", "json", build)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := "http://" + addr
	serveWait(t, "the process to serve", func() bool {
		r, err := serveNoFollow.Get(base + "/x")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 301
	})

	// With --watch=false a rebuild is not noticed until SIGHUP.
	writeServeBuild(t, build, "/x /from-b 308")
	time.Sleep(300 * time.Millisecond)
	if r := serveGet(t, "GET", base+"/x", ""); r.status != 301 {
		t.Errorf("reloaded without SIGHUP: %d", r.status)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	took := serveWait(t, "the SIGHUP reload", func() bool { return serveGet(t, "GET", base+"/x", "").status == 308 })
	t.Logf("SIGHUP reload answered after %v", took)

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit after SIGTERM:\n%s", logs.String())
	}
	for _, want := range []string{`"msg":"redirc: SIGHUP: reloading"`, `"msg":"redirc: shutting down`, `"msg":"redirc: stopped"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
}

// TestServePollWithoutWatch covers file systems without change events:
// --watch=false --poll re-reads the index on a timer.
func TestServePollWithoutWatch(t *testing.T) {
	build := t.TempDir()
	writeServeBuild(t, build, "/x /from-a 301")
	s := startServe(t, "--watch=false", "--poll", "50ms", build)
	writeServeBuild(t, build, "/x /from-b 308")
	took := serveWait(t, "the polled reload", func() bool { return serveGet(t, "GET", s.base+"/x", "").status == 308 })
	t.Logf("polled reload answered after %v", took)
}

// TestServePublicHealthHidesDetails: the health answer on --addr shows
// the status, build id and rule count only; the build directory and the
// text of load errors (which hold file paths) are kept for --admin-addr.
func TestServePublicHealthHidesDetails(t *testing.T) {
	build := t.TempDir()
	id := writeServeBuild(t, build, serveRules...)
	s := startServe(t, "--debounce", "20ms", build)
	// A build that fails to load, so that there is an error to hide.
	if err := os.WriteFile(filepath.Join(build, ".tmp"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(build, ".tmp"), filepath.Join(build, shardfmt.IndexFileName)); err != nil {
		t.Fatal(err)
	}
	serveWait(t, "the broken index to be refused", func() bool {
		return serveMetric(t, serveGet(t, "GET", s.base+"/.redirc/metrics", "").body, "redirc_reload_failing") == "1"
	})
	h := serveGet(t, "GET", s.base+"/.redirc/healthz", "")
	var got map[string]any
	if err := json.Unmarshal([]byte(h.body), &got); err != nil || h.status != 200 {
		t.Fatalf("public healthz: %d %s (%v)", h.status, h.body, err)
	}
	want := map[string]any{"status": "ok", "buildId": id, "rules": float64(len(serveRules))}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("public healthz = %v, want exactly %v", got, want)
	}
	if strings.Contains(h.body, build) {
		t.Errorf("public healthz shows the build directory: %s", h.body)
	}
}

// TestServePublicHealthBeforeBuild: before a build the public health
// answer is 503 with no directory and no error text.
func TestServePublicHealthBeforeBuild(t *testing.T) {
	build := filepath.Join(t.TempDir(), "not-yet")
	s := startServe(t, build)
	h := serveGet(t, "GET", s.base+"/.redirc/healthz", "")
	if h.status != 503 || strings.Contains(h.body, build) || strings.Contains(h.body, "rror") {
		t.Errorf("public healthz before a build: %d %s", h.status, h.body)
	}
	if !strings.Contains(h.body, `"status": "no build"`) {
		t.Errorf("public healthz before a build lacks the status: %s", h.body)
	}
}
