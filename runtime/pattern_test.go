package runtime_test

import (
	"fmt"
	"testing"

	"github.com/redirc/redirc/compiler"
)

// TestPatternLookupAllocs: a lookup that reaches the pattern rules does not
// allocate on a miss; a hit allocates its Location only (the capture
// positions go to a pooled buffer, for placeholders and for regexes the
// hand matcher takes, like these).
func TestPatternLookupAllocs(t *testing.T) {
	var rules []compiler.Rule
	for i := range 200 {
		rules = append(rules, compiler.Rule{Source: fmt.Sprintf("/p%d/:version/install/:os", i), Destination: fmt.Sprintf("/p%d/:version/setup/:os", i),
			Status: 301, Syntax: compiler.SyntaxNetlify, FirstMatch: true, Pos: compiler.Pos{File: "_redirects", Line: i + 1}})
		rules = append(rules, compiler.Rule{Source: fmt.Sprintf(`^/r%d/([^/]+)/x\.html$`, i), Destination: fmt.Sprintf("/r%d/$1/y.html", i),
			Status: 301, Syntax: compiler.SyntaxRegex, FirstMatch: true, CaseSensitive: true, Pos: compiler.Pos{File: "nginx.conf", Line: i + 1}})
	}
	s, probs := openMem(t, rules, compiler.Options{})
	if s == nil {
		t.Fatal(probs)
	}
	if r := s.Lookup("example.com", "/p7/3.1/install/linux", ""); r.Location != "/p7/3.1/setup/linux" {
		t.Fatalf("hit: %+v", r)
	}
	if r := s.Lookup("", "/r9/abc/x.html", ""); r.Location != "/r9/abc/y.html" {
		t.Fatalf("regex hit: %+v", r)
	}
	// Under the race detector the scratch pool drops buffers at random:
	// allow the one allocation that costs.
	slack := 0.0
	if raceEnabled {
		slack = 1
	}
	for _, miss := range []string{"/p7/3.1/install", "/nope/a/b", "/r9/a/b/x.html", "/"} {
		if n := testing.AllocsPerRun(100, func() { s.Lookup("example.com", miss, "q=1") }); n > slack {
			t.Errorf("miss %s: %.1f allocations, want 0", miss, n)
		}
	}
	for _, hit := range []string{"/p7/3.1/install/linux", "/r9/abc/x.html"} {
		if n := testing.AllocsPerRun(100, func() { s.Lookup("example.com", hit, "") }); n > 1+slack {
			t.Errorf("hit %s: %.1f allocations, want 1 (the Location)", hit, n)
		}
	}
}
