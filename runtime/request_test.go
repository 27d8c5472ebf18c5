package runtime

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// readRequest parses a request as net/http's server does.
func readRequest(t testing.TB, method, target, host string) *http.Request {
	t.Helper()
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")))
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return req
}

// TestLookupRequest checks that Set.LookupRequest and Live.LookupRequest
// answer every request exactly as the Handler does, including the paths
// where url.URL.EscapedPath would give the wrong key.
func TestLookupRequest(t *testing.T) {
	rules := append([]string{
		"/a%2Fb|c /escaped 301",
		"/a/b|c /separator 301",
		"/100%25 /percent 302",
	}, handlerRules...)
	s := fromBuild(t, compileRules(t, rules...))
	live := staticLive(s)
	h := NewHandler(s, nextHandler, HandlerOptions{})

	stripped := httptest.NewRequest("GET", "/r/perm", nil)
	stripped = stripPrefix(t, "/r", stripped)
	rewritten := readRequest(t, "GET", "/a%2Fb|c", "x")
	rewritten.URL.Path = "/perm" // a middleware changed Path and left RawPath behind

	for _, c := range []struct {
		name string
		req  *http.Request
		want Result
	}{
		{"plain", readRequest(t, "GET", "/perm", "x"), Result{Status: 301, Location: "/to-perm"}},
		{"trailing slash", readRequest(t, "GET", "/perm/", "x"), Result{Status: 301, Location: "/to-perm"}},
		{"escaped non-ASCII", readRequest(t, "GET", "/caf%C3%A9", "x"), Result{Status: 301, Location: "/menu#coffee"}},
		{"escaped non-ASCII, lower-case hex", readRequest(t, "GET", "/caf%c3%a9", "x"), Result{Status: 301, Location: "/menu#coffee"}},
		{"escaped slash and a byte Go escapes", readRequest(t, "GET", "/a%2Fb|c", "x"), Result{Status: 301, Location: "/escaped"}},
		{"escaped slash, escaped bar", readRequest(t, "GET", "/a%2fb%7Cc", "x"), Result{Status: 301, Location: "/escaped"}},
		{"separator", readRequest(t, "GET", "/a/b|c", "x"), Result{Status: 301, Location: "/separator"}},
		{"escaped percent", readRequest(t, "GET", "/100%25", "x"), Result{Status: 302, Location: "/percent"}},
		{"query", readRequest(t, "GET", "/q?b=2", "x"), Result{Status: 302, Location: "/to-q?a=1&b=2"}},
		{"splat", readRequest(t, "GET", "/docs/Install/Linux?x=1", "x"), Result{Status: 308, Location: "/v2/Install/Linux"}},
		{"host rule", readRequest(t, "GET", "/cards", "Shop.Example.COM:8080"), Result{Status: 301, Location: "https://www.example.org/gifts"}},
		{"host rule, other host", readRequest(t, "GET", "/cards", "example.com"), Result{}},
		{"HEAD", readRequest(t, "HEAD", "/perm", "x"), Result{Status: 301, Location: "/to-perm"}},
		{"POST", readRequest(t, "POST", "/temp", "x"), Result{Status: 307, Location: "/to-temp"}},
		{"gone", readRequest(t, "GET", "/gone", "x"), Result{Status: 410}},
		{"miss", readRequest(t, "GET", "/nope", "x"), Result{}},
		{"OPTIONS *", readRequest(t, "OPTIONS", "*", "x"), Result{}},
		{"CONNECT", readRequest(t, "CONNECT", "x:443", "x"), Result{}},
		{"absolute form", readRequest(t, "GET", "http://shop.example.com/cards", "shop.example.com"), Result{Status: 301, Location: "https://www.example.org/gifts"}},
		{"behind StripPrefix", stripped, Result{Status: 301, Location: "/to-perm"}},
		{"stale RawPath", rewritten, Result{Status: 301, Location: "/to-perm"}},
		{"no URL", &http.Request{Method: "GET", Host: "x"}, Result{}},
	} {
		if got := s.LookupRequest(c.req); got != c.want {
			t.Errorf("%s: Set.LookupRequest = %+v, want %+v", c.name, got, c.want)
		}
		if got := live.LookupRequest(c.req); got != c.want {
			t.Errorf("%s: Live.LookupRequest = %+v, want %+v", c.name, got, c.want)
		}
		if c.req.URL == nil {
			continue
		}
		// The Handler answers the same.
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, c.req)
		got := Result{}
		if rec.Code != 299 {
			got = Result{Status: rec.Code, Location: rec.Header().Get("Location")}
		}
		if got != c.want {
			t.Errorf("%s: Handler answered %+v, want %+v", c.name, got, c.want)
		}
	}

	// A nil *Set (a Live before its first build) answers a miss.
	if got := (*Set)(nil).LookupRequest(readRequest(t, "GET", "/perm", "x")); got != (Result{}) {
		t.Errorf("nil Set: %+v, want a miss", got)
	}
}

// stripPrefix returns r as http.StripPrefix passes it on.
func stripPrefix(t *testing.T, prefix string, r *http.Request) *http.Request {
	t.Helper()
	var got *http.Request
	http.StripPrefix(prefix, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r })).ServeHTTP(httptest.NewRecorder(), r)
	if got == nil {
		t.Fatalf("StripPrefix(%q) did not pass %s on", prefix, r.URL)
	}
	return got
}

// TestLookupRequestAllocs: LookupRequest allocates no more than Lookup,
// that is nothing on a miss or a plain hit, also for a path sent escaped.
func TestLookupRequestAllocs(t *testing.T) {
	s := fromBuild(t, compileRules(t, handlerRules...))
	live := staticLive(s)
	for _, target := range []string{"/perm", "/nope", "/caf%C3%A9", "/a%2Fb|c"} {
		req := readRequest(t, "GET", target, "example.com")
		if n := testing.AllocsPerRun(200, func() { s.LookupRequest(req) }); n != 0 {
			t.Errorf("Set.LookupRequest(%s): %.1f allocations, want 0", target, n)
		}
		if n := testing.AllocsPerRun(200, func() { live.LookupRequest(req) }); n != 0 {
			t.Errorf("Live.LookupRequest(%s): %.1f allocations, want 0", target, n)
		}
	}
}
