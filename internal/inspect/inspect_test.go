package inspect

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/shardfmt"
)

// compile compiles rules, fails the test on errors, writes the build into a
// new temporary directory and loads it back.
func compile(t *testing.T, rules []compiler.Rule, opt compiler.Options) *shardfmt.Build {
	t.Helper()
	b, probs, err := compiler.Compile(rules, opt)
	if err != nil {
		t.Fatalf("compile: %v %v", err, probs)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	lb, err := shardfmt.LoadBuild(dir)
	if err != nil {
		t.Fatal(err)
	}
	return lb
}

// roundTrip exports b as CSV, compiles the CSV with opt and checks that the
// build id is b's.
func roundTrip(t *testing.T, b *shardfmt.Build, opt compiler.Options) {
	t.Helper()
	var csv bytes.Buffer
	if err := WriteCSV(&csv, b); err != nil {
		t.Fatal(err)
	}
	rules, probs, err := compiler.Read("rules.csv", bytes.NewReader(csv.Bytes()), compiler.ReadOptions{Format: compiler.FormatCSV})
	if err != nil || compiler.HasErrors(probs) {
		t.Fatalf("reading the export: %v %v", err, probs)
	}
	if len(rules) != b.Index.Rules {
		t.Fatalf("export has %d rules, build %d", len(rules), b.Index.Rules)
	}
	again := compile(t, rules, opt)
	if again.Index.BuildID != b.Index.BuildID {
		diffBuilds(t, b, again)
		t.Fatalf("rebuilt build id %s, want %s", again.Index.BuildID, b.Index.BuildID)
	}
}

// diffBuilds logs the entries two builds disagree on.
func diffBuilds(t *testing.T, a, b *shardfmt.Build) {
	t.Helper()
	all := func(x *shardfmt.Build) map[string]shardfmt.Record {
		m := map[string]shardfmt.Record{}
		for _, sh := range x.Shards {
			for i := range sh.Len() {
				k, r := sh.At(i)
				m[k] = r
			}
		}
		return m
	}
	ma, mb := all(a), all(b)
	n := 0
	for k, ra := range ma {
		if rb, ok := mb[k]; !ok || rb != ra {
			t.Errorf("key %q: %+v, rebuilt %+v (present %v)", k, ra, rb, ok)
			if n++; n > 10 {
				return
			}
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			t.Errorf("key %q only in the rebuilt build", k)
		}
	}
}

func readExamples(t *testing.T) []compiler.Rule {
	t.Helper()
	var all []compiler.Rule
	for _, f := range []string{"redirects.csv", "_redirects"} {
		rules, probs, err := compiler.ReadFile(filepath.Join("..", "..", "examples", f), compiler.ReadOptions{})
		if err != nil || compiler.HasErrors(probs) {
			t.Fatalf("%s: %v %v", f, err, probs)
		}
		all = append(all, rules...)
	}
	return all
}

func TestWriteCSV_RoundTripExamples(t *testing.T) {
	rules := readExamples(t)
	for _, opt := range []compiler.Options{
		{},
		{Shards: 3, BloomFP: 0.01},
		{StrictTrailingSlash: true, Shards: 1},
	} {
		t.Run(fmt.Sprintf("%+v", opt), func(t *testing.T) {
			roundTrip(t, compile(t, rules, opt), opt)
		})
	}
}

func TestWriteCSV_Header(t *testing.T) {
	b := compile(t, []compiler.Rule{
		{Source: "/a,b", Destination: `/x"y`, Status: 301, Query: true},
		{Source: "/gone", Status: 410, Unforced: true},
		{Source: "Example.com/Z", Destination: "/z", Status: 302, CaseSensitive: true, Expires: time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)},
	}, compiler.Options{})
	var out bytes.Buffer
	if err := WriteCSV(&out, b); err != nil {
		t.Fatal(err)
	}
	want := `source,destination,statusCode,caseSensitive,query,expires,force
"/a,b",/x%22y,301,,true,,
/gone,,410,,,,false
https://example.com/Z,/z,302,true,,2099-01-02T03:04:05Z,
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// randomRules returns a rule set with every feature the compiler knows:
// hosts, prefixes, case-sensitive rules, escapes and non-ASCII bytes,
// trailing slashes, exact paths ending in "/*", queries, expiry, 410s and
// chains. Rules with errors (conflicts, loops) are dropped, so the set
// compiles.
func randomRules(t *testing.T, rng *rand.Rand, n int, opt compiler.Options) []compiler.Rule {
	t.Helper()
	segs := []string{"a", "B", "docs", "caf%C3%A9", "café", "x%2Fy", "%41", "s p", "it's", "q%3Fz", "~u", "%2A", "*", ""}
	hosts := []string{"", "", "", "example.com", "Shop.Example.com", "localhost", "[::1]", "Example.org.:8443"}
	path := func() string {
		var b strings.Builder
		for range 1 + rng.IntN(3) {
			b.WriteString("/" + segs[rng.IntN(len(segs))])
		}
		if rng.IntN(4) == 0 {
			b.WriteString("/")
		}
		return b.String()
	}
	var rules []compiler.Rule
	var sources []string
	for i := range n {
		r := compiler.Rule{Pos: compiler.Pos{File: "rand", Line: i + 1}, Status: []int{301, 302, 303, 307, 308, 410}[rng.IntN(6)]}
		h, p := hosts[rng.IntN(len(hosts))], path()
		prefix := rng.IntN(6) == 0
		if prefix {
			p = strings.TrimSuffix(p, "/") + "/*"
		}
		switch {
		case h == "":
			r.Source = p
		case rng.IntN(2) == 0:
			r.Source = h + p
		default:
			r.Source = "http://" + h + p
		}
		if h == "[::1]" && !strings.HasPrefix(r.Source, "http") {
			r.Source = "https://" + r.Source
		}
		r.CaseSensitive = rng.IntN(5) == 0
		r.Query = rng.IntN(5) == 0
		if rng.IntN(10) == 0 {
			r.Expires = time.Unix(int64(2e9+rng.IntN(1e8)), 0)
		}
		switch {
		case r.Status == 410:
		case h != "":
			// Host-scoped rules never chain: see WriteCSV on the one case
			// that does not round-trip.
			r.Destination = "https://dest.example" + path()
		case len(sources) > 0 && rng.IntN(3) == 0: // a chain, maybe
			r.Destination = sources[rng.IntN(len(sources))]
			if r.Destination[0] != '/' || strings.HasSuffix(r.Destination, "/*") {
				r.Destination = path()
			}
		case prefix && rng.IntN(2) == 0:
			r.Destination = "https://dest.example/" + segs[rng.IntN(len(segs))] + "/:splat"
		case rng.IntN(4) == 0:
			r.Destination = "https://dest.example" + path() + "#frag"
		default:
			r.Destination = path()
		}
		if r.Destination == "" && r.Status != 410 {
			r.Destination = "/"
		}
		sources = append(sources, r.Source)
		rules = append(rules, r)
	}
	// Drop the rules with errors until none is left: dropping one end of a
	// loop breaks it; dropping a conflicting rule leaves the first.
	for {
		var bad []int
		for _, p := range compiler.Check(rules, opt) {
			if p.Severity == compiler.Error {
				bad = append(bad, p.Pos.Line)
			}
		}
		if len(bad) == 0 {
			return rules
		}
		rules = slices.DeleteFunc(rules, func(r compiler.Rule) bool { return slices.Contains(bad, r.Pos.Line) })
	}
}

func TestWriteCSV_RoundTripRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := range 20 {
		opt := compiler.Options{StrictTrailingSlash: i%3 == 0, Shards: []int{0, 1, 5}[i%3]}
		rules := randomRules(t, rng, 50+rng.IntN(300), opt)
		b := compile(t, rules, opt)
		roundTrip(t, b, opt)
		if t.Failed() {
			t.Fatalf("seed %d, round %d, options %+v", seed, i, opt)
		}
	}
}

func TestSourceOf(t *testing.T) {
	for key, want := range map[string]string{
		"e/a":             "/a",
		"E/A":             "/A",
		"p":               "/*",
		"p/docs":          "/docs/*",
		"pexample.com":    "https://example.com/*",
		"eexample.com/":   "https://example.com/",
		"eexample.com//x": "https://example.com//x",
		"e/*":             "/%2A",
		"e/a/*":           "/a/%2A",
		"p/a/*":           "/a/*/*",
		"E[::1]/X":        "https://[::1]/X",
	} {
		got, _, err := SourceOf(key, true)
		if err != nil || got != want {
			t.Errorf("SourceOf(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
	if got, _, _ := SourceOf("e/a/", false); got != "/a//" {
		t.Errorf("SourceOf(e/a/, not strict) = %q, want /a//", got)
	}
	if got, _, _ := SourceOf("e/", false); got != "/" {
		t.Errorf("SourceOf(e/, not strict) = %q, want /", got)
	}
	for _, key := range []string{"", "x/a", "e", "eexample.com", "e//a"} {
		if _, _, err := SourceOf(key, false); err == nil {
			t.Errorf("SourceOf(%q): no error", key)
		}
	}
}

// TestRuleKeyAgreesWithCompiler pins ruleKey (and splitKey, through
// SourceOf) to the compiler's key layout: every compiled key is the key of
// the rule it came from.
func TestRuleKeyAgreesWithCompiler(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, strict := range []bool{false, true} {
		opt := compiler.Options{StrictTrailingSlash: strict}
		rules := randomRules(t, rng, 400, opt)
		b := compile(t, rules, opt)
		keys := map[string]bool{}
		for _, sh := range b.Shards {
			for i := range sh.Len() {
				k, _ := sh.At(i)
				keys[k] = true
			}
		}
		pos := Positions(rules, strict, func(k []byte) bool { return keys[string(k)] })
		if len(pos) != len(keys) {
			for k := range keys {
				if _, ok := pos[k]; !ok {
					t.Errorf("seed %d strict %v: compiled key %q has no rule", seed, strict, k)
				}
			}
		}
		for _, r := range rules {
			if k := string(ruleKey(nil, r.Source, r.CaseSensitive, strict)); !keys[k] {
				t.Errorf("seed %d strict %v: rule %q (line %d) has key %q, not in the build", seed, strict, r.Source, r.Pos.Line, k)
			}
		}
	}
}

func TestSummarize(t *testing.T) {
	b := compile(t, readExamples(t), compiler.Options{Shards: 4})
	s, err := Summarize(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rules != 19 || s.Shards != 4 || s.BuildID != b.Index.BuildID || !s.HostRules || !s.PrefixRules || !s.CaseSensitiveRules {
		t.Errorf("summary %+v", s)
	}
	total := 0
	for _, n := range s.Statuses {
		total += n
	}
	k := s.Kinds
	if total != 19 || k.Exact+k.ExactCase+k.Prefix+k.PrefixCase != 19 || k.Prefix != 4 || k.ExactCase != 1 || k.HostScoped != 2 || k.Expiring != 2 || s.Statuses[410] != 1 {
		t.Errorf("statuses %v, kinds %+v", s.Statuses, k)
	}
	if s.RulesPerShard.Mean != 4.75 || s.RulesPerShard.Min > 4 || s.RulesPerShard.Max < 5 || len(s.PerShard) != 4 {
		t.Errorf("per shard %+v %+v", s.RulesPerShard, s.PerShard)
	}
	if s.BloomBitsPerRule < 8 || s.PerShard[0].BloomK != 10 {
		t.Errorf("bloom: %v bits per rule, k %d", s.BloomBitsPerRule, s.PerShard[0].BloomK)
	}
}
