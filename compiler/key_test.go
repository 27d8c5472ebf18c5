package compiler

import (
	"testing"
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
		{"/Docs//*", true, false, "P/Docs"},
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
