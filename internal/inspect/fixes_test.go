package inspect

import (
	"testing"

	"github.com/redirc/redirc/compiler"
)

// TestRuleKeySchemeInPath: a "://" after the host is part of the path, as
// the compiler reads it.
func TestRuleKeySchemeInPath(t *testing.T) {
	src := "example.com/http://old.example/x"
	b := compile(t, []compiler.Rule{{Source: src, Destination: "/new", Status: 301, Pos: compiler.Pos{File: "m", Line: 1}}}, compiler.Options{})
	k, _ := b.Shards[0].At(0)
	if got := string(ruleKey(nil, src, false, false)); got != k {
		t.Errorf("ruleKey(%q) = %q, compiled key %q", src, got, k)
	}
}
