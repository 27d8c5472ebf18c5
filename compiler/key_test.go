package compiler

import (
	"strings"
	"testing"

	"github.com/redirc/redirc/internal/rulekey"
)

// TestRuleKeyBytes pins the key bytes the compiler writes for
// representative rules. Builds already on disk store these bytes and the
// runtime probes for them: they must not change (see internal/rulekey).
func TestRuleKeyBytes(t *testing.T) {
	for _, tt := range []struct {
		src    string
		cs     bool
		strict bool
		key    string
	}{
		{"/", false, false, "e/"},
		{"/a", false, false, "e/a"},
		{"/A/B/", false, false, "e/a/b"},
		{"/A/B/", false, true, "e/a/b/"},
		{"/a//", false, false, "e/a/"},
		{"/Case", true, false, "E/Case"},
		{"/Case/", true, false, "E/Case"},
		{"/café", false, false, "e/caf%C3%A9"},
		{"/CAF%c3%a9", false, false, "e/caf%C3%A9"},
		{"/%41%2fB", false, false, "e/a%2Fb"},
		{"/%41%2fB", true, false, "E/A%2FB"},
		{"/x y?z#f", false, false, "e/x%20y%3Fz%23f"},
		{"example.com/x", false, false, "eexample.com/x"},
		{"Example.COM:8080/X/", false, false, "eexample.com/x"},
		{"https://Example.com./X", true, false, "Eexample.com/X"},
		{"http://example.com", false, false, "eexample.com/"},
		{"localhost/a", false, false, "elocalhost/a"},
		{"https://[::1]:80/a", false, false, "e[::1]/a"},
		{"/docs/*", false, false, "p/docs"},
		{"/Docs/*", false, true, "p/docs"},
		{"/Docs//*", true, false, "P/Docs/"}, // the double slash is kept (issue 9)
		{"/*", false, false, "p"},
		{"/*", true, false, "P"},
		{"example.com/*", false, false, "pexample.com"},
		{"example.com/Docs/API/*", true, false, "Pexample.com/Docs/API"},
		{"/docs*", false, false, "e/docs*"},
		{"/a/*/b", false, false, "e/a/*/b"},
	} {
		in := []Rule{{Source: tt.src, Destination: "/dest", Status: 301, CaseSensitive: tt.cs, Pos: Pos{"t", 1}}}
		c := check(in, Options{StrictTrailingSlash: tt.strict})
		if len(c.rules) != 1 {
			t.Errorf("%q: not compiled: %v", tt.src, c.probs)
			continue
		}
		if got := c.rules[0].key; got != tt.key {
			t.Errorf("%q cs=%v strict=%v: key %q, want %q", tt.src, tt.cs, tt.strict, got, tt.key)
		}
	}
}

// TestIndexFlagsFromKeys pins what the index records about the keys.
func TestIndexFlagsFromKeys(t *testing.T) {
	for _, tt := range []struct {
		lines            []string
		host, cs, prefix bool
		maxSegs          int
	}{
		{[]string{"/a /x"}, false, false, false, 0},
		{[]string{"/* /x"}, false, false, true, 0},
		{[]string{"/docs/* /x", "/a/b/c/d /y"}, false, false, true, 1},
		{[]string{"/docs//api/* /x", "/a/* /y 301 case"}, false, true, true, 3},
		{[]string{"example.com/a/b/* /x"}, true, false, true, 2},
		{[]string{"/A /x 301 case"}, false, true, false, 0},
	} {
		c := check(rules(t, tt.lines...), Options{})
		if len(c.probs) != 0 {
			t.Fatalf("%v: %v", tt.lines, c.probs)
		}
		if c.hostRules != tt.host || c.caseRules != tt.cs || c.prefixRules != tt.prefix || c.maxPrefixSegments != tt.maxSegs {
			t.Errorf("%v: host=%v case=%v prefix=%v maxSegs=%d, want %v %v %v %d", tt.lines,
				c.hostRules, c.caseRules, c.prefixRules, c.maxPrefixSegments, tt.host, tt.cs, tt.prefix, tt.maxSegs)
		}
	}
}

// FuzzCheckKeys: whatever the source, a rule the compiler accepts has a key
// that follows the layout (internal/rulekey): a host without '/', a path
// beginning with '/' (or empty, for the root prefix), and host() and path()
// agree with rulekey.Split.
func FuzzCheckKeys(f *testing.F) {
	for _, s := range []string{
		"/a", "/a/", "/*", "/docs/*", "example.com/x", "https://Example.com:8080/A/*", "example.co/m/x",
		"http://example.com", "localhost/a", "https://[::1]/a", "a.b", "a.b/", "//x", "https://a/b/../*", "x",
		"https://a.b?c/d", "https://a.b#c/d", "https://a.b%2Fc/d",
	} {
		f.Add(s, false, false)
		f.Add(s, true, true)
	}
	f.Fuzz(func(t *testing.T, src string, cs, strict bool) {
		c := check([]Rule{{Source: src, Destination: "https://t.example/d", Status: 301, CaseSensitive: cs, Pos: Pos{"f", 1}}}, Options{StrictTrailingSlash: strict})
		for _, r := range c.rules {
			k, host, path, ok := rulekey.Split(r.key)
			if !ok || k != r.kind || host != r.host() || path != r.path() {
				t.Fatalf("source %q: key %q splits into %q %q %q %v; rule says %q %q %q", src, r.key, byte(k), host, path, ok, byte(r.kind), r.host(), r.path())
			}
			if strings.Contains(host, "/") || (path == "" && !k.IsPrefix()) || (path != "" && path[0] != '/') {
				t.Fatalf("source %q: key %q breaks the layout", src, r.key)
			}
			if k.IsPrefix() != strings.HasSuffix(src, "/*") || k.Fold() == cs {
				t.Fatalf("source %q cs=%v: kind %v", src, cs, k)
			}
		}
	})
}

// TestShadowWarningPrefixes: the shadow check tries the prefixes a lookup
// of the exact rule's path would try, the root prefix and host-scoped
// prefixes included.
func TestShadowWarningPrefixes(t *testing.T) {
	for _, tt := range []struct {
		lines []string
		warn  bool
	}{
		{[]string{"/* /x", "/a/b /y"}, true},
		{[]string{"example.com/* /x", "example.com/a /y"}, true},
		{[]string{"example.com/* /x", "/a /y"}, false},
		{[]string{"/a/b/c/* /x", "/a/b /y"}, false},
		{[]string{"/A/* /x 301 case", "/A/b /y 301 case"}, true},
		{[]string{"/A/* /x 301 case", "/a/b /y"}, false},
		{[]string{"/a/* /x", "/A/B /y 301 case"}, true},
		{[]string{"/a/b /y", "/a/* /x"}, false},
		{[]string{"/docs/* /x", "/docs/ /y"}, true},
	} {
		rs := rules(t, tt.lines...)
		for i := range rs {
			rs[i].FirstMatch = true
		}
		ps := Check(rs, Options{})
		got := len(ps) == 1 && strings.Contains(ps[0].Msg, "never reached: shadowed by")
		if got != tt.warn || len(ps) > 1 {
			t.Errorf("%v: problems %v, want shadow warning %v", tt.lines, ps, tt.warn)
		}
	}
}
