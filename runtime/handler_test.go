package runtime

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redirc/redirc/compiler"
)

// compileRules compiles rules given in the same "source dest [status]
// [case] [query] [exp=RFC3339]" form as build (set_test.go).
func compileRules(t testing.TB, lines ...string) *compiler.Build {
	t.Helper()
	rs := parseRules(t, lines...)
	b, ps, err := compiler.Compile(rs, compiler.Options{})
	if err != nil {
		t.Fatalf("compile: %v %v", err, ps)
	}
	return b
}

// writeBuild compiles rules into dir (created if needed) and returns the
// build id.
func writeBuild(t testing.TB, dir string, lines ...string) string {
	t.Helper()
	b := compileRules(t, lines...)
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return b.Index.BuildID
}

// handlerRules covers every status and every kind of rule.
var handlerRules = []string{
	"/perm /to-perm 301",
	"/found /to-found 302",
	"/see-other /to-see-other 303",
	"/temp /to-temp 307",
	"/perm8 /to-perm8 308",
	"/gone - 410",
	"/expired /to-expired 307 exp=2001-01-01T00:00:00Z",
	"/docs/* /v2/:splat 308",
	"shop.example.com/cards https://www.example.org/gifts 301",
	"shop.example.com/* https://www.example.org/shop/:splat 302",
	"/Case /to-case-sensitive 302 case",
	"/case /to-folded 301",
	"/q /to-q?a=1 302 query",
	"/amp https://example.org/a?x=1&y=2 302",
	"/café /menu#coffee 301",
}

// testLogger sends logs to t.Log, so they show only for failing tests
// and with -v.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// noFollow is a client that reports redirects instead of following them.
var noFollow = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, rawURL, host string) response {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// nextHandler stands for the embedding application: it marks what it
// serves, so a test can tell that a miss reached it untouched.
var nextHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Next", "yes")
	w.WriteHeader(299)
	fmt.Fprintf(w, "next %s %s", r.Method, r.URL.RequestURI())
})

// setCookie plays an outer middleware that sets a session cookie.
func setCookie(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "session=secret")
		h.ServeHTTP(w, r)
	})
}

func startHandler(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestHandlerHits(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, handlerRules...)
	l, err := OpenLive(dir, LiveOptions{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	base := startHandler(t, setCookie(NewHandler(l, nextHandler, HandlerOptions{Metrics: m})))

	const perm, temp, gone = "public, max-age=86400", "no-store", "public, max-age=3600"
	cases := []struct {
		host, path string
		status     int
		loc, cc    string
	}{
		{"", "/perm", 301, "/to-perm", perm},
		{"", "/found", 302, "/to-found", temp},
		{"", "/see-other", 303, "/to-see-other", temp},
		{"", "/temp", 307, "/to-temp", temp},
		{"", "/perm8", 308, "/to-perm8", perm},
		{"", "/gone", 410, "", gone},
		{"", "/expired", 410, "", gone},
		{"", "/docs/a/B?x=1", 308, "/v2/a/B", perm},
		{"", "/DOCS/", 308, "/v2/", perm},
		{"shop.example.com", "/cards", 301, "https://www.example.org/gifts", perm},
		{"Shop.Example.com:8443", "/x/y", 302, "https://www.example.org/shop/x/y", temp},
		{"", "/Case", 302, "/to-case-sensitive", temp},
		{"", "/CASE", 301, "/to-folded", perm},
		{"", "/q?b=2", 302, "/to-q?a=1&b=2", temp},
		{"", "/amp/", 302, "https://example.org/a?x=1&y=2", temp},
		{"", "/caf%C3%A9", 301, "/menu#coffee", perm},
		{"", "/caf%c3%a9", 301, "/menu#coffee", perm},
		{"", "/CAF%C3%A9", 301, "/menu#coffee", perm},
	}
	for _, c := range cases {
		for _, method := range []string{"GET", "HEAD", "POST", "DELETE"} {
			r := do(t, method, base+c.path, c.host)
			name := fmt.Sprintf("%s %s (host %q)", method, c.path, c.host)
			if r.status != c.status {
				t.Errorf("%s: status %d, want %d (body %q)", name, r.status, c.status, r.body)
				continue
			}
			if got := r.header.Get("Location"); got != c.loc {
				t.Errorf("%s: Location %q, want %q", name, got, c.loc)
			}
			if _, ok := r.header["Location"]; c.loc == "" && ok {
				t.Errorf("%s: unexpected Location header", name)
			}
			if got := r.header.Get("Cache-Control"); got != c.cc {
				t.Errorf("%s: Cache-Control %q, want %q", name, got, c.cc)
			}
			if got := r.header.Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("%s: Content-Type %q", name, got)
			}
			if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s: X-Content-Type-Options %q", name, got)
			}
			if got := r.header.Values("Set-Cookie"); len(got) != 0 {
				t.Errorf("%s: Set-Cookie %q leaked into a redirect", name, got)
			}
			switch {
			case method == "HEAD" && r.body != "":
				t.Errorf("%s: body %q, want none", name, r.body)
			case method != "HEAD" && c.loc != "" && !strings.Contains(r.body, `href="`+strings.ReplaceAll(c.loc, "&", "&amp;")+`"`):
				t.Errorf("%s: body %q does not link to %q", name, r.body, c.loc)
			case method != "HEAD" && c.loc == "" && r.body != "<p>Gone.</p>\n":
				t.Errorf("%s: body %q", name, r.body)
			}
		}
	}
	if got, want := m.Hits(), uint64(4*len(cases)); got != want {
		t.Errorf("Hits() = %d, want %d", got, want)
	}
	if got := m.HitsByStatus(410); got != 8 {
		t.Errorf("HitsByStatus(410) = %d, want 8", got)
	}
	if m.Misses() != 0 {
		t.Errorf("Misses() = %d, want 0", m.Misses())
	}
}

func TestHandlerMisses(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, handlerRules...)
	l, err := OpenLive(dir, LiveOptions{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	base := startHandler(t, NewHandler(l, nextHandler, HandlerOptions{Metrics: m}))
	for _, p := range []string{"/nope", "/perm/x", "/cards", "/case-x", "/docsx", "/caf%C3%A9s", "/a%2Fb?x=%41", "/q%25"} {
		for _, method := range []string{"GET", "HEAD", "POST"} {
			r := do(t, method, base+p, "")
			if r.status != 299 || r.header.Get("X-Next") != "yes" {
				t.Errorf("%s %s: %d %v, want the next handler's 299", method, p, r.status, r.header)
				continue
			}
			if want := "next " + method + " " + p; method != "HEAD" && r.body != want {
				t.Errorf("%s %s: next saw %q, want %q", method, p, r.body, want)
			}
		}
	}
	if m.Misses() != 24 || m.Hits() != 0 {
		t.Errorf("misses %d hits %d, want 24 and 0", m.Misses(), m.Hits())
	}

	// No next handler: 404.
	base = startHandler(t, l.Handler(nil))
	if r := do(t, "GET", base+"/nope", ""); r.status != 404 {
		t.Errorf("nil next: status %d, want 404", r.status)
	}
	if r := do(t, "GET", base+"/perm", ""); r.status != 301 {
		t.Errorf("nil next: hit status %d, want 301", r.status)
	}

	// OPTIONS * is not a path: a miss.
	conn := rawRequest(t, base, "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(conn, "HTTP/1.1 404") && !strings.HasPrefix(conn, "HTTP/1.1 200") {
		t.Errorf("OPTIONS *: %q", conn)
	}
}

// rawRequest sends req over a fresh connection and returns the response.
func rawRequest(t *testing.T, base, req string) string {
	t.Helper()
	u, _ := url.Parse(base)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, req)
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestHandlerNoBuildYet(t *testing.T) {
	l := NewLive(t.TempDir(), LiveOptions{Logger: testLogger(t)})
	base := startHandler(t, l.Handler(nextHandler))
	if r := do(t, "GET", base+"/perm", ""); r.status != 299 {
		t.Errorf("before any build: status %d, want a miss", r.status)
	}
}

func TestHandlerCacheControlOptions(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, handlerRules...)
	l, err := OpenLive(dir, LiveOptions{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(l, nil, HandlerOptions{CacheControl: map[int]string{301: "public, max-age=60", 302: "", 410: "no-cache"}})
	base := startHandler(t, h)
	for _, c := range []struct{ path, cc string }{
		{"/perm", "public, max-age=60"},
		{"/perm8", "public, max-age=86400"},
		{"/found", ""},
		{"/temp", "no-store"},
		{"/gone", "no-cache"},
	} {
		r := do(t, "GET", base+c.path, "")
		if got := r.header.Get("Cache-Control"); got != c.cc {
			t.Errorf("%s: Cache-Control %q, want %q", c.path, got, c.cc)
		}
	}
}

func TestHandlerStripPrefix(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, handlerRules...)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	base := startHandler(t, http.StripPrefix("/r", s.Handler(nil)))
	if r := do(t, "GET", base+"/r/caf%c3%a9", ""); r.status != 301 || r.header.Get("Location") != "/menu#coffee" {
		t.Errorf("behind StripPrefix: %d %q", r.status, r.header.Get("Location"))
	}
}

func TestHandlerClicks(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, handlerRules...)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan Event, 10)
	sink := NewEventSink("clicks", 10, func(e Event) { got <- e })
	defer sink.Close()
	m := NewMetrics()
	base := startHandler(t, NewHandler(staticLive(s), nil, HandlerOptions{Clicks: sink, Metrics: m}))
	req, _ := http.NewRequest("GET", base+"/q?b=2", nil)
	req.Header.Set("Referer", "https://ref.example/")
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	do(t, "GET", base+"/nope", "") // misses are not clicks
	select {
	case e := <-got:
		if e.Path != "/q" || e.Query != "b=2" || e.Status != 302 || e.Location != "/to-q?a=1&b=2" ||
			e.Referer != "https://ref.example/" || e.Method != "GET" || e.Time.IsZero() || e.RemoteAddr == "" {
			t.Errorf("click event %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no click event")
	}
	select {
	case e := <-got:
		t.Errorf("unexpected second event %+v", e)
	case <-time.After(50 * time.Millisecond):
	}
	var sb strings.Builder
	m.WritePrometheus(&sb)
	if !strings.Contains(sb.String(), `redirc_events_total{sink="clicks"} 1`) {
		t.Errorf("metrics do not count the click:\n%s", sb.String())
	}
}

// TestEndToEnd follows redirects from a real server to a local destination
// server, with Go's client and with curl, for ASCII and non-ASCII paths.
func TestEndToEnd(t *testing.T) {
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "landed %s %s", r.URL.Path, r.URL.RawQuery)
	}))
	defer dest.Close()
	dir := t.TempDir()
	writeBuild(t, dir,
		"/old "+dest.URL+"/new 301",
		"/café "+dest.URL+"/thé 308",
		"/docs/* "+dest.URL+"/manual/:splat 302",
		"/hop /old 307", // flattened by the compiler to dest/new
		"/keep "+dest.URL+"/kept 302 query",
	)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	base := startHandler(t, s.Handler(nil))
	cases := []struct{ path, want string }{
		{"/old", "landed /new "},
		{"/café", "landed /thé "},
		{"/caf%C3%A9", "landed /thé "},
		{"/docs/ünï/x", "landed /manual/ünï/x "},
		{"/hop", "landed /new "},
		{"/keep?a=1&b=%C3%A9", "landed /kept a=1&b=%C3%A9"},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, c := range cases {
		resp, err := client.Get(base + c.path)
		if err != nil {
			t.Errorf("GET %s: %v", c.path, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != c.want {
			t.Errorf("Go client GET %s: %d %q, want 200 %q", c.path, resp.StatusCode, b, c.want)
		}
	}

	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed: skipping the curl half of the test")
	}
	for _, c := range cases {
		out, err := exec.Command(curl, "-sS", "-L", "--max-redirs", "5", "--max-time", "10", base+c.path).CombinedOutput()
		if err != nil {
			t.Errorf("curl -L %s: %v\n%s", c.path, err, out)
			continue
		}
		if string(out) != c.want {
			t.Errorf("curl -L %s: %q, want %q", c.path, out, c.want)
		}
	}
	if testing.Verbose() {
		out, _ := exec.Command(curl, "-sS", "-I", base+"/caf%C3%A9").CombinedOutput()
		t.Logf("curl -I /caf%%C3%%A9:\n%s", out)
	}
}

// discardWriter is the cheapest http.ResponseWriter: it measures the
// handler itself, not net/http.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

func benchSetup(tb testing.TB) (*Handler, *Set) {
	dir := tb.(interface{ TempDir() string }).TempDir()
	var lines []string
	for i := range 10000 {
		lines = append(lines, fmt.Sprintf("/page/%d /new/%d 301", i, i))
	}
	writeBuild(tb, dir, lines...)
	s, err := Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return NewHandler(staticLive(s), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), HandlerOptions{Metrics: NewMetrics()}), s
}

// TestHandlerAllocs pins the allocations of the handler itself: one for
// the Location header's value on a hit, none on a miss.
func TestHandlerAllocs(t *testing.T) {
	h, _ := benchSetup(t)
	w := &discardWriter{h: make(http.Header)}
	hit := httptest.NewRequest("GET", "/page/42", nil)
	miss := httptest.NewRequest("GET", "/nope/42", nil)
	utf := httptest.NewRequest("GET", "/caf%C3%A9", nil)
	for _, c := range []struct {
		name string
		req  *http.Request
		max  float64
	}{{"hit", hit, 1}, {"miss", miss, 0}, {"non-ASCII miss", utf, 0}} {
		n := testing.AllocsPerRun(200, func() {
			clear(w.h)
			h.ServeHTTP(w, c.req)
		})
		if n > c.max {
			t.Errorf("%s: %.1f allocations per request, want at most %.0f", c.name, n, c.max)
		}
	}
}

// BenchmarkHandler measures ServeHTTP on a hit and on a miss, against a
// peer doing the same job the obvious way: a map[string]string and
// http.Redirect.
func BenchmarkHandler(b *testing.B) {
	h, set := benchSetup(b)
	peer := make(map[string]string)
	for i := range 10000 {
		peer[fmt.Sprintf("/page/%d", i)] = fmt.Sprintf("/new/%d", i)
	}
	peerH := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loc, ok := peer[r.URL.Path]; ok {
			http.Redirect(w, r, loc, 301)
			return
		}
	})
	hit := httptest.NewRequest("GET", "/page/4242", nil)
	miss := httptest.NewRequest("GET", "/nope/4242", nil)
	var results = map[string]float64{}
	run := func(name string, hd http.Handler, req *http.Request) {
		b.Run(name, func(b *testing.B) {
			w := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				hd.ServeHTTP(w, req)
			}
			results[name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
	}
	run("hit", h, hit)
	run("miss", h, miss)
	// Set.Lookup alone, to show what the handler adds around it.
	for _, c := range []struct{ name, path string }{{"lookup-only-hit", "/page/4242"}, {"lookup-only-miss", "/nope/4242"}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				set.Lookup("example.com", c.path, "")
			}
		})
	}
	run("peer-map-redirect-hit", peerH, hit)
	run("peer-map-redirect-miss", peerH, miss)
	if results["peer-map-redirect-hit"] > 0 && results["hit"] > 0 {
		b.Logf("hit: %.2fx the peer's time; miss: %.2fx", results["hit"]/results["peer-map-redirect-hit"], results["miss"]/results["peer-map-redirect-miss"])
	}
}

// BenchmarkHandlerParallel is BenchmarkHandler/hit on every core, through
// the shared atomic counters.
func BenchmarkHandlerParallel(b *testing.B) {
	h, _ := benchSetup(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: make(http.Header)}
		req := httptest.NewRequest("GET", "/page/4242", nil)
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	})
}
