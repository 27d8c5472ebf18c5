package pattern

import (
	"strings"
	"testing"

	"github.com/redirc/redirc/internal/urlnorm"
)

func TestValidHost(t *testing.T) {
	for h, want := range map[string]bool{
		"example.com": true, "a": true, "xn--bcher-kva.example": true, "a_b-c.d9": true, "[::1]": true, "[2001:db8::1]": true,
		"": false, ".": false, "a..b": false, ".a": false, "a.": false, "A.example": false, "a:80": false,
		"a b": false, "a/b": false, "a@b": false, "a\\b": false, "a\r\nb": false, "bücher.example": false,
		"[]": false, "[::1": false, "[::g]": false, "[::1]x": false, strings.Repeat("a", 254): false,
	} {
		if got := ValidHost([]byte(h)); got != want {
			t.Errorf("ValidHost(%q) = %v, want %v", h, got, want)
		}
	}
}

func regexPattern(t *testing.T, re, dest string, status int) *Pattern {
	t.Helper()
	s, err := Regex(re, true)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := ""
	if status != 0 && status != 410 {
		if tmpl, err = s.Template(dest, nil); err != nil {
			t.Fatalf("template %q: %v", dest, err)
		}
	}
	p, err := Compile(Spec{Re: s.Re, Segs: s.Segs, Tail: s.Tail, Dest: tmpl, Status: status})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return p
}

// TestExpandHost: "${host}" is the request's canonical host, and a host
// that is not a valid host name gives no Location at all (ok false).
func TestExpandHost(t *testing.T) {
	p := regexPattern(t, `^/(.*)\.php$`, "https://${host}/$1.html", 301)
	if !p.UsesHost() {
		t.Fatal("UsesHost false")
	}
	sub := []byte("/a/b.php")
	m, ok := p.Match(nil, sub, "")
	if !ok {
		t.Fatal("no match")
	}
	for raw, want := range map[string]string{
		"Example.COM:8080": "https://example.com/a/b.html",
		"example.com.":     "https://example.com/a/b.html",
		"[::1]:443":        "https://[::1]/a/b.html",
		// hostile or unusable: no Location
		"":                                "",
		"evil.example\r\nSet-Cookie: x=1": "",
		"evil.example/x":                  "",
		"user@evil.example":               "",
		"a b":                             "",
		"evil.example\\x":                 "",
		"bücher.example":                  "",
	} {
		host := urlnorm.AppendHost(nil, raw)
		loc, ok := p.ExpandHost(host, sub, m, "", false)
		if loc != want || ok != (want != "") {
			t.Errorf("host %q: %q, %v; want %q", raw, loc, ok, want)
		}
	}
	// Expand (no host) never puts one in.
	if loc := p.Expand(sub, m, "", false); loc != "" {
		t.Errorf("Expand without a host: %q", loc)
	}
	// In a path, too.
	p = regexPattern(t, `^/x$`, "/sites/$host/x", 302)
	if loc, ok := p.ExpandHost([]byte("a.example"), []byte("/x"), []int{0, 2}, "", false); !ok || loc != "/sites/a.example/x" {
		t.Errorf("host in a path: %q %v", loc, ok)
	}
}

// TestExpandWholeMatch: "${0}" (and "$0") is the whole match; right after
// a scheme and host it always begins a path.
func TestExpandWholeMatch(t *testing.T) {
	for _, c := range []struct{ re, dest, path, want string }{
		{`^/old(/.*)?$`, "https://new.example${0}", "/old/a b", "https://new.example/old/a%20b"},
		{`^/old(/.*)?$`, "https://${host}${0}", "/old/x", "https://h.example/old/x"},
		{`old`, "https://new.example${0}", "/x/old", "https://new.example/old"}, // the match lacks a '/': given one
		{`old.*`, "https://new.example$0", "/old@evil.example", "https://new.example/old@evil.example"},
		{`^/a(.*)$`, "https://new.example${1}", "/a.evil.example", "https://new.example/.evil.example"}, // a group right after the host, too
		{`^/(.*)$`, "/keep/${0}", "/a/b", "/keep//a/b"},
		{`^/(.*)$`, "${0}", "//evil.example/x", "/evil.example/x"},
	} {
		p := regexPattern(t, c.re, c.dest, 301)
		sub := []byte(Subject(c.path))
		m, ok := p.Match(nil, sub, "")
		if !ok {
			t.Errorf("%s: %s does not match", c.re, c.path)
			continue
		}
		if loc, _ := p.ExpandHost([]byte("h.example"), sub, m, "", false); loc != c.want {
			t.Errorf("%s -> %s on %s: %q, want %q", c.re, c.dest, c.path, loc, c.want)
		}
	}
	if _, err := Regex(`^/(?P<host>[^/]+)`, true); err == nil {
		t.Error("a capture named host: no error")
	}
}

// TestPassMatchAllocs: a pass matches without allocating (it has no
// captures to report), and expands to nothing.
func TestPassMatchAllocs(t *testing.T) {
	p := regexPattern(t, `^/((2|3)(\.[0-9]+)?|dev)/`, "", 0)
	if !p.Pass() {
		t.Fatal("not a pass")
	}
	ix, err := NewIndex([]*Pattern{p})
	if err != nil {
		t.Fatal(err)
	}
	sub := []byte("/3.12/library/os.html")
	got, m := ix.Lookup(nil, sub, nil, "")
	if got != p || m == nil {
		t.Fatalf("pass not found: %v %v", got, m)
	}
	if loc, ok := p.ExpandHost(nil, sub, m, "", false); loc != "" || !ok {
		t.Errorf("pass expands to %q %v", loc, ok)
	}
	p.Regexp() // compiled once, outside the measure
	if n := testing.AllocsPerRun(100, func() { ix.Lookup(nil, sub, nil, "") }); n != 0 {
		t.Errorf("pass lookup: %.1f allocations, want 0", n)
	}
	for _, bad := range []Spec{
		{Re: "^/a", Status: 0, Dest: "/b"},
		{Re: "^/a", Status: 0, Expires: 1},
	} {
		if _, err := Compile(bad); err == nil {
			t.Errorf("%+v compiles", bad)
		}
	}
}
