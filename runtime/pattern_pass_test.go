package runtime_test

import (
	"strings"
	"testing"
	"time"

	"github.com/redirc/redirc/compiler"
)

func ngxRule(file string, line, order int, src, dst string) compiler.Rule {
	return compiler.Rule{Source: src, Destination: dst, Status: 301, Syntax: compiler.SyntaxRegex, FirstMatch: true,
		CaseSensitive: true, Order: order, Pos: compiler.Pos{File: file, Line: line}}
}

func exactRule(file string, line, order int, src, dst string) compiler.Rule {
	return compiler.Rule{Source: src, Destination: dst, Status: 301, FirstMatch: true, Order: order,
		Pos: compiler.Pos{File: file, Line: line}}
}

func passRule(file string, line, order int, src string) compiler.Rule {
	r := ngxRule(file, line, order, src, "")
	r.Pass, r.Status = true, 0
	return r
}

type lookupCase struct {
	host, path string
	status     int
	loc        string
}

func hasWarning(probs []compiler.Problem, line int, text string) bool {
	for _, p := range probs {
		if p.Severity == compiler.Warning && p.Pos.Line == line && strings.Contains(p.Msg, text) {
			return true
		}
	}
	return false
}

// TestOrderAcrossExactAndRegex: exact rules with an Order (nginx map keys,
// "location =") are ranked with the regex rules of their file by Order,
// not by line; files keep their order.
func TestOrderAcrossExactAndRegex(t *testing.T) {
	rules := []compiler.Rule{
		ngxRule("nginx.conf", 1, 2, `^/a/(.*)$`, "/regex/$1"),
		exactRule("nginx.conf", 2, 1, "/a/x", "/exact-x"),       // ranked before line 1
		exactRule("nginx.conf", 3, 3, "/a/y", "/exact-y"),       // after line 1, which takes /a/y but not /A/Y
		exactRule("nginx.conf", 4, 3, "/a", "/exact-a"),         // line 1 does not match it
		exactRule("map.conf", 1, 1, "/a/z", "/map-z"),           // a later file: after every rule of nginx.conf
		exactRule("map.conf", 2, 1, "/b/z", "/map-b"),           //
		ngxRule("map.conf", 3, 0, `^/b/(.*)$`, "/map-regex/$1"), // Order 0 in its file: before line 2
	}
	w := exactRule("nginx.conf", 8, 3, "/a/w", "/exact-w") // after line 1, which takes it in every case: never reached
	w.CaseSensitive = true
	rules = append(rules, w)
	s, probs := openMem(t, rules, compiler.Options{})
	if s == nil {
		t.Fatal(probs)
	}
	for _, c := range []lookupCase{
		{"", "/A/Y", 301, "/exact-y"},
		{"", "/a/w", 301, "/regex/w"},
		{"", "/a/x", 301, "/exact-x"},
		{"", "/a/y", 301, "/regex/y"},
		{"", "/a", 301, "/exact-a"},
		{"", "/a/z", 301, "/regex/z"},
		{"", "/b/z", 301, "/map-regex/z"},
	} {
		if r := s.Lookup(c.host, c.path, ""); r.Status != c.status || r.Location != c.loc {
			t.Errorf("%s: %d %q, want %d %q", c.path, r.Status, r.Location, c.status, c.loc)
		}
	}
	if !hasWarning(probs, 8, "never reached") || hasWarning(probs, 3, "never reached") {
		t.Errorf("want one \"never reached\" warning, for nginx.conf:8: %v", probs)
	}
}

// TestPassRules: a pass that matches first ends the lookup with no
// redirect: later patterns, exact rules of its list and any-host bulk
// prefix rules are not tried.
func TestPassRules(t *testing.T) {
	exactPass := exactRule("nginx.conf", 3, 3, "/keep", "")
	exactPass.Pass, exactPass.Status = true, 0
	hostPass := passRule("nginx.conf", 4, 4, `^/h/`)
	hostPass.Host = "a.example"
	rules := []compiler.Rule{
		{Source: "/bulk/*", Destination: "/bulk-target", Status: 302, Pos: compiler.Pos{File: "bulk.csv", Line: 1}},
		passRule("nginx.conf", 1, 1, `^/archive/`),
		ngxRule("nginx.conf", 2, 2, `^/(archive|docs)/(.*)$`, "/new/$2"),
		exactPass,
		hostPass,
		ngxRule("nginx.conf", 5, 5, `^/(keep|h)/?(.*)$`, "/other/$1"),
		ngxRule("nginx.conf", 6, 6, `^/bulk/archive/`, "/x"),
		passRule("nginx.conf", 7, 7, `^/bulk/`),
	}
	s, probs := openMem(t, rules, compiler.Options{})
	if s == nil {
		t.Fatal(probs)
	}
	for _, c := range []lookupCase{
		{"", "/archive/a", 0, ""},
		{"", "/docs/a", 301, "/new/a"},
		{"", "/keep", 0, ""},
		{"", "/KEEP/", 0, ""},
		{"", "/keep/x", 301, "/other/keep"},
		{"a.example", "/h/x", 0, ""},
		{"b.example", "/h/x", 301, "/other/h"},
		{"", "/bulk/archive/a", 301, "/x"},
		{"", "/bulk/other", 0, ""}, // the pass comes before the any-host bulk prefix rule
	} {
		if r := s.Lookup(c.host, c.path, ""); r.Status != c.status || r.Location != c.loc {
			t.Errorf("%s%s: %d %q, want %d %q", c.host, c.path, r.Status, r.Location, c.status, c.loc)
		}
	}
	// A pass answers "no redirect" without allocating. (Not "/keep":
	// the index tries line 5's regex, whose skeleton is shorter, before
	// the pass, and regexp allocates its capture positions.)
	for _, path := range []string{"/archive/a", "/bulk/other"} {
		// (Not measured under the race detector: its pools, regexp's
		// too, drop at random.)
		if n := testing.AllocsPerRun(100, func() { s.Lookup("", path, "q=1") }); n > 0 && !raceEnabled {
			t.Errorf("pass %s: %.1f allocations, want 0", path, n)
		}
	}

	for _, bad := range []compiler.Rule{
		{Source: "^/a", Pass: true, Status: 301, Syntax: compiler.SyntaxRegex, Pos: compiler.Pos{File: "x", Line: 1}},
		{Source: "^/a", Pass: true, Destination: "/b", Syntax: compiler.SyntaxRegex, Pos: compiler.Pos{File: "x", Line: 1}},
		{Source: "^/a", Pass: true, Expires: time.Unix(1e9, 0), Syntax: compiler.SyntaxRegex, Pos: compiler.Pos{File: "x", Line: 1}},
	} {
		if _, probs, err := compiler.Compile([]compiler.Rule{bad}, compiler.Options{}); err == nil {
			t.Errorf("%+v compiles: %v", bad, probs)
		}
	}
}

// TestHostDestinations: "${host}" is the request's canonical host; a
// Host header that is not a valid host name never reaches a Location: the
// rule answers no redirect (and so does the lookup).
func TestHostDestinations(t *testing.T) {
	rules := []compiler.Rule{
		ngxRule("nginx.conf", 1, 1, `^/(.+)\.php$`, "https://${host}/$1.html"),
		ngxRule("nginx.conf", 2, 2, `^/old(/.*)?$`, "https://$host:8443${0}"),
		ngxRule("nginx.conf", 3, 3, `^/site/`, "/sites/${host}/"),
		ngxRule("nginx.conf", 4, 4, `^/`, "https://fallback.example/"),
	}
	s, probs := openMem(t, rules, compiler.Options{})
	if s == nil {
		t.Fatal(probs)
	}
	cases := []lookupCase{
		{"Docs.Example:8080", "/a/b.php", 301, "https://docs.example/a/b.html"},
		{"docs.example.", "/old/x y", 301, "https://docs.example:8443/old/x%20y"},
		{"docs.example", "/site/", 301, "/sites/docs.example/"},
		{"[::1]:80", "/a.php", 301, "https://[::1]/a.html"},
		{"docs.example", "/other", 301, "https://fallback.example/"},
	}
	for _, h := range []string{"", "evil.example\r\nSet-Cookie: x=1", "evil.example\nLocation: //x", "a/b", "evil.example/", "user@evil.example",
		"a b", " ", "evil.example\\x", "a..b", "bücher.example", strings.Repeat("a", 300)} {
		cases = append(cases, lookupCase{h, "/a/b.php", 0, ""}, lookupCase{h, "/old/x", 0, ""}, lookupCase{h, "/site/", 0, ""},
			lookupCase{h, "/other", 301, "https://fallback.example/"})
	}
	for _, c := range cases {
		r := s.Lookup(c.host, c.path, "")
		if r.Status != c.status || r.Location != c.loc {
			t.Errorf("%q %s: %d %q, want %d %q", c.host, c.path, r.Status, r.Location, c.status, c.loc)
		}
		if strings.ContainsAny(r.Location, "\r\n @\\") {
			t.Errorf("%q %s: unsafe Location %q", c.host, c.path, r.Location)
		}
	}
	// The pattern matched before its host was found bad: at most its
	// capture positions are allocated, never a Location.
	// (Not measured under the race detector, whose pools, regexp's too,
	// drop at random.)
	if n := testing.AllocsPerRun(100, func() { s.Lookup("a b", "/a/b.php", "") }); n > 1 && !raceEnabled {
		t.Errorf("bad host: %.1f allocations, want at most 1", n)
	}

	// A reference in the host other than "${host}" (or "${0}" ending it)
	// would let a request choose where it is sent.
	for i, dst := range []string{"https://a$1/x", "https://${host}.$1/", "https://x${1}", "https://${0}x/"} {
		r := ngxRule("x.conf", i+1, 0, `^/(.*)$`, dst)
		if _, probs, err := compiler.Compile([]compiler.Rule{r}, compiler.Options{}); err == nil {
			t.Errorf("%s compiles: %v", dst, probs)
		}
	}
}
