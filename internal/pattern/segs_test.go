package pattern

import (
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMatchSegs checks the hand matcher of regex patterns (segProgram,
// matchSegs) against regexp itself on random expressions of the form it
// takes and of forms next to it (which it must refuse), and random
// subjects: capture positions must be identical.
func TestMatchSegs(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	lits := []string{"a", "A", "k", "K", "\u212a", "s", "\u017f", "x.y", "é", "É", "-", ""}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	subjects := []string{"a", "A", "k", "K", "\u212a", "\u017f", "S", "x.y", "xzy", "é", "É", "\xff", "\n", "%2F", ""}
	handled := 0
	for range 3000 {
		var re strings.Builder
		if rng.IntN(3) == 0 {
			re.WriteString("(?i)")
		}
		if rng.IntN(8) != 0 {
			re.WriteString("^")
		}
		for range 1 + rng.IntN(4) {
			switch rng.IntN(9) {
			case 0:
				re.WriteString("/([^/]+)")
			case 1:
				re.WriteString("/([^/]*)")
			case 2:
				re.WriteString("/[^/]+")
			case 3:
				re.WriteString("/(?P<n" + string(rune('a'+rng.IntN(26))) + ">[^/]+)")
			case 4:
				re.WriteString("([^/]+)") // a run not after '/'
			case 5:
				re.WriteString("/([^/]+?)")
			case 6:
				re.WriteString("/(" + regexp.QuoteMeta(pick(lits)) + ")")
			default:
				re.WriteString("/" + regexp.QuoteMeta(pick(lits)))
			}
			if rng.IntN(6) == 0 {
				re.WriteString(regexp.QuoteMeta(pick(lits)))
			}
		}
		if rng.IntN(2) == 0 {
			re.WriteString("/?"[:1+rng.IntN(2)])
		}
		if rng.IntN(2) == 0 {
			re.WriteString("$")
		}
		expr := re.String()
		std, err := regexp.Compile(expr)
		if err != nil {
			continue // e.g. a repeated group name
		}
		p, err := Compile(Spec{Re: expr, Status: 410})
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		if p.segs != nil {
			handled++
		}
		for range 20 {
			var sub strings.Builder
			for range rng.IntN(5) {
				sub.WriteString("/")
				for range rng.IntN(3) {
					sub.WriteString(pick(subjects))
				}
			}
			if rng.IntN(5) == 0 {
				sub.WriteString("/")
			}
			s := []byte(sub.String())
			want := std.FindSubmatchIndex(s)
			got, ok := p.Match(nil, s, "")
			if ok != (want != nil) || ok && !reflect.DeepEqual(got, want) {
				t.Fatalf("%q on %q: matcher %v (segs %v), regexp %v", expr, s, got, p.segs != nil, want)
			}
		}
	}
	if handled == 0 {
		t.Fatal("no expression took the hand matcher")
	}
	t.Logf("%d expressions took the hand matcher", handled)
}

// TestMatchSegsTakes checks which expressions take the hand matcher.
func TestMatchSegsTakes(t *testing.T) {
	for re, want := range map[string]bool{
		`^/mesh-9/([^/]+)/faq-3\.html$`: true,
		`^/a/([^/]+)`:                   true,
		`(?i)^/a/([^/]*)/b/[^/]+$`:      true,
		`^/a/([^/]+)\.html$`:            false, // a run followed by other text
		`/a/([^/]+)$`:                   false, // unanchored
		`^/a/(.*)$`:                     false,
		`^/a/([^/]+?)$`:                 false,
		`^/a/(b|c)$`:                    false,
		`^/a$|^/b$`:                     false,
	} {
		p, err := Compile(Spec{Re: re, Status: 410})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.segs != nil; got != want {
			t.Errorf("%q: hand matcher %v, want %v", re, got, want)
		}
	}
}
