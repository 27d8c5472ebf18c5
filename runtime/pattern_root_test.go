package runtime_test

import (
	"testing"

	"github.com/redirc/redirc/compiler"
)

// TestPatternRootWithFinalSlash: "//" is "/" with a final '/', for pattern
// rules as for exact ones. An ordered "/" pass (or redirect) before a
// catch-all must answer "//" too; FuzzPatternDiffRegex found the index
// skipping the "/" pattern for "//", so the catch-all answered.
func TestPatternRootWithFinalSlash(t *testing.T) {
	rule := func(line int, syn compiler.Syntax, src, dst string, order int) compiler.Rule {
		r := compiler.Rule{Source: src, Destination: dst, Status: 301, Order: order, Syntax: syn, FirstMatch: true,
			Pos: compiler.Pos{File: "nginx.conf", Line: line}}
		if dst == "" {
			r.Pass, r.Status = true, 0
		}
		return r
	}
	for _, tc := range []struct {
		root, want string
	}{{"", ""}, {"/root", "/root"}} {
		s, probs := openMem(t, []compiler.Rule{
			rule(1, compiler.SyntaxPath, "/", tc.root, 0),
			rule(2, compiler.SyntaxRegex, "^/", "/catch", 1),
		}, compiler.Options{})
		if s == nil {
			t.Fatalf("%v", probs)
		}
		for _, p := range []string{"/", "//"} {
			if got := s.Lookup("a.example", p, ""); got.Location != tc.want {
				t.Errorf("root rule %q: %s answers %+v, want Location %q", tc.root, p, got, tc.want)
			}
		}
		if got := s.Lookup("a.example", "/x", ""); got.Location != "/catch" {
			t.Errorf("/x answers %+v, want /catch", got)
		}
	}
}
