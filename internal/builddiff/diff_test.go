package builddiff

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/shardfmt"
)

// build compiles rules into a build directory in t.TempDir and loads it.
func build(t testing.TB, rules []compiler.Rule, opt compiler.Options) *shardfmt.Build {
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

func rule(src, dst string, status int) compiler.Rule {
	return compiler.Rule{Source: src, Destination: dst, Status: status, Pos: compiler.Pos{File: "t", Line: 1}}
}

// reference diffs two builds through maps, the obvious way.
func reference(a, b *shardfmt.Build) *Result {
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
	r := &Result{}
	for k, ra := range ma {
		rb, ok := mb[k]
		switch {
		case !ok:
			r.Removed = append(r.Removed, Entry{k, ra})
		case ra != rb:
			r.Changed = append(r.Changed, Change{k, ra, rb})
		default:
			r.Unchanged++
		}
	}
	for k, rb := range mb {
		if _, ok := ma[k]; !ok {
			r.Added = append(r.Added, Entry{k, rb})
		}
	}
	byKey := func(a, b Entry) int { return strings.Compare(a.Key, b.Key) }
	slices.SortFunc(r.Added, byKey)
	slices.SortFunc(r.Removed, byKey)
	slices.SortFunc(r.Changed, func(a, b Change) int { return strings.Compare(a.Key, b.Key) })
	return r
}

func same(t *testing.T, got, want *Result) {
	t.Helper()
	if !reflect.DeepEqual(got.Added, want.Added) || !reflect.DeepEqual(got.Removed, want.Removed) ||
		!reflect.DeepEqual(got.Changed, want.Changed) || got.Unchanged != want.Unchanged {
		t.Errorf("diff: +%d -%d ~%d =%d, want +%d -%d ~%d =%d",
			len(got.Added), len(got.Removed), len(got.Changed), got.Unchanged,
			len(want.Added), len(want.Removed), len(want.Changed), want.Unchanged)
	}
}

func TestDiff_Small(t *testing.T) {
	old := build(t, []compiler.Rule{
		rule("/a", "/x", 301), rule("/b", "/y", 301), rule("/c", "/z", 302), rule("/gone", "", 410),
	}, compiler.Options{})
	new := build(t, []compiler.Rule{
		rule("/a", "/x", 301), rule("/b", "/y2", 301), rule("/d", "/w", 308), rule("/gone", "", 410),
	}, compiler.Options{})
	for _, newOpt := range []compiler.Options{{}, {Shards: 3}} {
		t.Run(fmt.Sprintf("%+v", newOpt), func(t *testing.T) {
			n := new
			if newOpt.Shards != 0 {
				n = build(t, []compiler.Rule{
					rule("/a", "/x", 301), rule("/b", "/y2", 301), rule("/d", "/w", 308), rule("/gone", "", 410),
				}, newOpt)
			}
			r := Diff(old, n)
			want := &Result{
				Added:     []Entry{{"e/d", shardfmt.Record{Dest: "/w", Status: 308}}},
				Removed:   []Entry{{"e/c", shardfmt.Record{Dest: "/z", Status: 302}}},
				Changed:   []Change{{"e/b", shardfmt.Record{Dest: "/y", Status: 301}, shardfmt.Record{Dest: "/y2", Status: 301}}},
				Unchanged: 2,
			}
			same(t, r, want)
			if r.Same() || r.Sorted != (newOpt.Shards != 0) {
				t.Errorf("Same %v, Sorted %v", r.Same(), r.Sorted)
			}
		})
	}
	if r := Diff(old, old); !r.Same() || r.Unchanged != 4 || r.SkippedShards != 1 {
		t.Errorf("a build against itself: %+v", r)
	}
	strict := build(t, []compiler.Rule{
		rule("/a", "/x", 301), rule("/b", "/y", 301), rule("/c", "/z", 302), rule("/gone", "", 410),
	}, compiler.Options{StrictTrailingSlash: true})
	if r := Diff(old, strict); r.Same() || len(r.Settings) != 1 || r.Settings[0] != (Setting{"strictTrailingSlash", false, true}) {
		t.Errorf("strict trailing slash: %+v", r)
	}
}

// randomRules returns n rules with distinct sources drawn from a space of
// 4n paths.
func randomRules(rng *rand.Rand, n int) []compiler.Rule {
	seen := map[string]bool{}
	var rules []compiler.Rule
	for len(rules) < n {
		src := fmt.Sprintf("/p%d", rng.IntN(4*n))
		if rng.IntN(10) == 0 {
			src += "/*"
		}
		if seen[src] {
			continue
		}
		seen[src] = true
		r := rule(src, fmt.Sprintf("https://d.example/%d", rng.IntN(3)), []int{301, 302, 410}[rng.IntN(3)])
		r.Query = rng.IntN(4) == 0
		rules = append(rules, r)
	}
	return rules
}

// mutate removes, changes and adds rules.
func mutate(rng *rand.Rand, rules []compiler.Rule) []compiler.Rule {
	out := slices.Clone(rules)
	out = slices.DeleteFunc(out, func(compiler.Rule) bool { return rng.IntN(20) == 0 })
	for i := range out {
		if rng.IntN(20) == 0 {
			out[i].Status = 307
			out[i].Expires = time.Unix(3e9, 0)
		}
	}
	have := map[string]bool{}
	for _, r := range out {
		have[r.Source] = true
	}
	for range len(rules) / 20 {
		src := fmt.Sprintf("/n%d", rng.IntN(1e9))
		if !have[src] {
			have[src] = true
			out = append(out, rule(src, "/new", 308))
		}
	}
	return out
}

func TestDiff_Random(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for round := range 10 {
		rules := randomRules(rng, 200+rng.IntN(2000))
		next := mutate(rng, rules)
		shards := 1 + rng.IntN(8)
		old := build(t, rules, compiler.Options{Shards: shards})
		want := reference(old, build(t, next, compiler.Options{Shards: shards}))
		for _, opt := range []compiler.Options{{Shards: shards}, {Shards: shards + 1}, {Shards: shards, HashSeed: 7}} {
			r := Diff(old, build(t, next, opt))
			same(t, r, want)
			if t.Failed() {
				t.Fatalf("seed %d round %d options %+v", seed, round, opt)
			}
		}
	}
}

var benchRules = flag.Int("diffbench.rules", 100_000, "rules in each build of BenchmarkDiff")

// BenchmarkDiff diffs two builds of -diffbench.rules rules (default 1e5) that
// differ in about 1% of them: "walk" with the same shard count and seed,
// "sorted" with different seeds. At 1e6 rules:
//
//	go test -run '^$' -bench Diff -benchtime 5x ./internal/builddiff -diffbench.rules 1000000
func BenchmarkDiff(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 0))
	rules := randomRules(rng, *benchRules)
	next := slices.Clone(rules)
	for i := range next {
		if rng.IntN(100) == 0 {
			next[i].Status = 307
		}
	}
	for _, name := range []string{"walk", "sorted"} {
		old, new := build(b, rules, compiler.Options{}), build(b, next, compiler.Options{})
		if name == "sorted" {
			new = build(b, next, compiler.Options{HashSeed: 1})
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				Diff(old, new)
			}
		})
	}
}
