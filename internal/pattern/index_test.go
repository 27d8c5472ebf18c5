package pattern

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestIndexLookupLinear checks Index.Lookup (the flat table) against
// trying every pattern in rank order, on random placeholder, regex and
// literal patterns (host-scoped, case-folded or not) and random requests.
// Segments are never empty: a skeleton with an empty segment ("//") does
// not always describe its expression's matches (a known gap of the
// translations, the same with the tries this table replaced).
func TestIndexLookupLinear(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	segs := []string{"a", "A", "b", "k", "\u212a", "x.y", "ab"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	for round := range 200 {
		var pats []*Pattern
		for i := range 1 + rng.IntN(40) {
			var src *Source
			var err error
			fold := rng.IntN(2) == 0
			switch rng.IntN(3) {
			case 0:
				var b strings.Builder
				for j := range 1 + rng.IntN(3) {
					b.WriteString("/")
					switch rng.IntN(5) {
					case 0:
						b.WriteString(":p" + string(rune('0'+j)))
					case 1:
						b.WriteString("*")
					default:
						b.WriteString(pick(segs))
					}
				}
				src, err = Netlify(b.String(), !fold)
			case 1:
				var b strings.Builder
				b.WriteString("^")
				for range 1 + rng.IntN(3) {
					b.WriteString("/" + pick([]string{"([^/]+)", "a", "x\\.y", "(.*)", "K"}))
				}
				if rng.IntN(2) == 0 {
					b.WriteString("$")
				}
				src, err = Regex(b.String(), !fold)
			default:
				src, err = Literal("/"+pick(segs)+"/"+pick(segs), rng.IntN(2) == 0, !fold, rng.IntN(2) == 0)
			}
			if err != nil {
				continue
			}
			host := ""
			if rng.IntN(4) == 0 {
				host = "h.example"
			}
			p, err := Compile(Spec{Rank: i, Host: host, Re: src.Re, Fold: src.Fold, Segs: src.Segs, Tail: src.Tail, Status: 410})
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			pats = append(pats, p)
		}
		ix, err := NewIndex(pats)
		if err != nil {
			t.Fatal(err)
		}
		for range 100 {
			var b strings.Builder
			for range rng.IntN(5) {
				b.WriteString("/" + pick(segs))
			}
			if b.Len() == 0 || rng.IntN(4) == 0 {
				b.WriteString("/")
			}
			sub := []byte(b.String())
			var host []byte
			if rng.IntN(2) == 0 {
				host = []byte("h.example")
			}
			var want *Pattern
			var wantM []int
			for _, p := range pats { // rank order: i
				if m, ok := p.Match(host, sub, ""); ok {
					want, wantM = p, m
					break
				}
			}
			got, gotM := ix.Lookup(host, sub, AppendFold(nil, sub), "")
			if got != want || !reflect.DeepEqual(gotM, wantM) {
				t.Fatalf("round %d: %q: index %v %v, linear %v %v", round, sub, got, gotM, want, wantM)
			}
		}
	}
}
