package runtime

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redirc/redirc/compiler"
)

// browserEncode percent-encodes a path the way a browser does before
// sending it (the WHATWG URL standard's path percent-encode set): control
// bytes, space, '"', '#', '<', '>', '?', '`', '{', '}' and every non-ASCII
// byte. '%' and everything else are sent as typed.
func browserEncode(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"#<>?`{}", c) >= 0 {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// upperASCII upper-cases ASCII letters, as someone retyping a URL might.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

// FuzzBuildLookupAgree checks that build-side and lookup-side
// normalization agree: a source path the compiler accepts is found by a
// lookup of the same path as written, with one trailing slash more or less, in
// upper case when the rule is case-insensitive, and as a browser sends it
// (percent-encoded, parsed by net/http's request reader and looked up
// through the Handler and LookupRequest). Sources the compiler rejects are
// skipped.
func FuzzBuildLookupAgree(f *testing.F) {
	for _, s := range []string{
		"/", "/café", "/caf%C3%A9", "/caf%c3%a9", "/a b", "/a?b", "/a#b", "/%41", "/a%2fb", "/a%2F", "/%25", "/%", "/%zz",
		"/docs/*", "/A/", "/\xff\xfe", `/a\b`, "/[x]", "/a;b=c", "/~user", "/%7euser", "/a/./b", "/a/../b", "/a//b",
		"/a//*", "/日本/東京", "/x%20y z", "/{a}|^`", "/a%2", "/a%", "/a%/", "/e%CC%81",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, src string, caseSensitive bool) {
		if !strings.HasPrefix(src, "/") {
			src = "/" + src
		}
		rule := compiler.Rule{Source: src, Destination: "/found", Status: 301, CaseSensitive: caseSensitive, Pos: compiler.Pos{File: "fuzz", Line: 1}}
		b, _, err := compiler.Compile([]compiler.Rule{rule}, compiler.Options{Now: time.Unix(0, 0)})
		if err != nil {
			return // a source the compiler refuses (tested elsewhere)
		}
		s := fromBuild(t, b)
		want := Result{Status: 301, Location: "/found"}
		lookups := []string{src}
		// One trailing slash more or less is the same path.
		switch {
		case !strings.HasSuffix(src, "/"):
			lookups = append(lookups, src+"/")
		case !strings.HasSuffix(src, "//"):
			lookups = append(lookups, strings.TrimSuffix(src, "/"))
		}
		if !caseSensitive {
			lookups = append(lookups, upperASCII(src))
		}
		for _, p := range lookups {
			if got := s.Lookup("", p, ""); got != want {
				t.Fatalf("rule %q (caseSensitive=%v): Lookup(%q) = %+v, want %+v", src, caseSensitive, p, got, want)
			}
		}

		// As a browser sends it, through net/http and the Handler.
		target := browserEncode(src)
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: redirc.test\r\n\r\n")))
		if err != nil {
			// Go's server answers 400 and never looks such a request up
			// (a '%' not followed by two hex digits, say).
			return
		}
		rec := httptest.NewRecorder()
		s.Handler(nil).ServeHTTP(rec, req)
		if rec.Code != 301 || rec.Header().Get("Location") != "/found" {
			t.Fatalf("rule %q (caseSensitive=%v): GET %q (path %q, raw %q) = %d %q, want 301 /found",
				src, caseSensitive, target, req.URL.Path, req.URL.RawPath, rec.Code, rec.Header().Get("Location"))
		}
		if got := s.LookupRequest(req); got != want {
			t.Fatalf("rule %q (caseSensitive=%v): LookupRequest(GET %q) = %+v, want %+v", src, caseSensitive, target, got, want)
		}
	})
}

// TestRequestPathRawWithUnescapedBytes is the regression test for a
// disagreement FuzzBuildLookupAgree found: for a request path holding both
// an escaped slash and a byte Go would have escaped ('|', '^', '\', raw
// non-ASCII), url.URL.EscapedPath discards the path as sent and re-escapes
// the decoded one, so "%2F" became a separator and the rule written for
// the path was missed.
func TestRequestPathRawWithUnescapedBytes(t *testing.T) {
	for _, c := range []struct{ target, want string }{
		{"/a%2Fb|c", "/a%2Fb|c"},
		{"/a%2fb^c", "/a%2fb^c"},
		{`/%2f\`, `/%2f\`},
		{"/x%2F\xff", "/x%2F\xff"},
		{"/caf%c3%a9", "/caf%c3%a9"},
		{"/a%2Fb", "/a%2Fb"},
		{"/plain", "/plain"},
		{"/100%25", "/100%25"},
	} {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + c.target + " HTTP/1.1\r\nHost: x\r\n\r\n")))
		if err != nil {
			t.Fatalf("%q: %v", c.target, err)
		}
		if got, ok := requestPath(req.URL); !ok || got != c.want {
			t.Errorf("requestPath(%q) = %q, %v; want %q", c.target, got, ok, c.want)
		}
	}
	// A RawPath that no longer decodes to Path (a middleware rewrote Path
	// and left RawPath behind) is not used.
	req := httptest.NewRequest("GET", "/a%2Fb|c", nil)
	req.URL.Path = "/other|x"
	if got, _ := requestPath(req.URL); got != "/other%7Cx" {
		t.Errorf("stale RawPath: requestPath = %q, want /other%%7Cx", got)
	}

	// End to end: each of two rules that differ only by an escaped slash
	// answers its own request.
	b, ps, err := compiler.Compile([]compiler.Rule{
		{Source: "/a%2Fb|c", Destination: "/escaped", Status: 301, Pos: compiler.Pos{File: "t", Line: 1}},
		{Source: "/a/b|c", Destination: "/separator", Status: 301, Pos: compiler.Pos{File: "t", Line: 2}},
	}, compiler.Options{})
	if err != nil {
		t.Fatal(err, ps)
	}
	h := fromBuild(t, b).Handler(nil)
	for target, want := range map[string]string{"/a%2Fb|c": "/escaped", "/a%2fb%7Cc": "/escaped", "/a/b|c": "/separator", "/a/b%7cc": "/separator"} {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")))
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 301 || rec.Header().Get("Location") != want {
			t.Errorf("GET %s: %d %q, want 301 %s", target, rec.Code, rec.Header().Get("Location"), want)
		}
	}
}
