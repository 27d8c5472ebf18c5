package pattern_test

import (
	"testing"

	"github.com/redirc/redirc/internal/pattern"
	"github.com/redirc/redirc/internal/synth"
)

// BenchmarkIndexLookup: a hit among 100,000 Kong-like placeholder rules,
// through the index alone (no build, no exact tier).
func BenchmarkIndexLookup(b *testing.B) {
	rules := synth.Kong(100_000, 1)
	pats := make([]*pattern.Pattern, len(rules))
	for i, r := range rules {
		src, err := pattern.Netlify(r.Source, false)
		if err != nil {
			b.Fatal(err)
		}
		tmpl, err := src.Template(r.Destination, nil)
		if err != nil {
			b.Fatal(err)
		}
		if pats[i], err = pattern.Compile(pattern.Spec{Rank: i, Re: src.Re, Fold: src.Fold, Segs: src.Segs, Tail: src.Tail, Dest: tmpl, Status: 301}); err != nil {
			b.Fatal(err)
		}
	}
	ix, err := pattern.NewIndex(pats)
	if err != nil {
		b.Fatal(err)
	}
	paths := make([][2][]byte, 1024)
	for i := range paths {
		sub := []byte(synth.KongPath(rules[(i*7919)%len(rules)]))
		paths[i] = [2][]byte{sub, pattern.AppendFold(nil, sub)}
	}
	i := 0
	for b.Loop() {
		p := paths[i&1023]
		if q, _ := ix.Lookup(nil, p[0], p[1], ""); q == nil {
			b.Fatalf("miss %s", p[0])
		}
		i++
	}
}
