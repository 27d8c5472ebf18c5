package bench

import (
	"fmt"
	"testing"
	"testing/fstest"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/internal/synth"
	"github.com/redirc/redirc/runtime"
)

// Pattern-rule benchmarks, side by side with exact rules in one run:
//
//	cd bench && go test -run '^$' -bench 'Pattern' -benchtime 2s
//
// "exact-hit-1e6" is a hit among 1e6 exact rules (the reference row);
// "kong-*" look up among 100,000 Kong-like Netlify placeholder rules
// (internal/synth.Kong) and "nginx-*" among 100,000 nginx-like regex
// rules (internal/synth.Nginx). BenchmarkPatternBuild compiles the
// 100,000 placeholder rules.

func kongRules(n int) []compiler.Rule {
	var rules []compiler.Rule
	for i, r := range synth.Kong(n, 1) {
		rules = append(rules, compiler.Rule{Source: r.Source, Destination: r.Destination, Status: 301,
			Syntax: compiler.SyntaxNetlify, FirstMatch: true, Pos: compiler.Pos{File: "_redirects", Line: i + 1}})
	}
	return rules
}

func nginxRules(n int) []compiler.Rule {
	var rules []compiler.Rule
	for i, r := range synth.Nginx(n, 1) {
		rules = append(rules, compiler.Rule{Source: r.Source, Destination: r.Destination, Status: 301,
			Syntax: compiler.SyntaxRegex, FirstMatch: true, CaseSensitive: true, Pos: compiler.Pos{File: "nginx.conf", Line: i + 1}})
	}
	return rules
}

func exactRules(n int) []compiler.Rule {
	rules := make([]compiler.Rule, n)
	for i := range rules {
		rules[i] = compiler.Rule{Source: fmt.Sprintf("/docs/section-%d/page-%d", i%1000, i), Destination: fmt.Sprintf("/new/%d", i), Status: 301,
			Pos: compiler.Pos{File: "rules.csv", Line: i + 2}}
	}
	return rules
}

func openRules(b *testing.B, rules []compiler.Rule) *runtime.Set {
	b.Helper()
	bd, probs, err := compiler.Compile(rules, compiler.Options{})
	if err != nil {
		b.Fatal(err, probs[:min(len(probs), 5)])
	}
	fsys := fstest.MapFS{}
	idx, err := bd.Index.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	fsys["index.json"] = &fstest.MapFile{Data: idx}
	for i, s := range bd.Shards {
		fsys[bd.Index.Shards[i].File] = &fstest.MapFile{Data: s}
	}
	if p := bd.Index.Patterns; p != nil {
		fsys[p.File] = &fstest.MapFile{Data: bd.Patterns}
	}
	s, err := runtime.OpenFS(fsys, ".")
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkPatternLookup(b *testing.B) {
	const n = 100_000
	exact := openRules(b, exactRules(1_000_000))
	exactPaths := make([]string, 1024)
	for i := range exactPaths {
		j := (i * 7919) % 1_000_000
		exactPaths[i] = fmt.Sprintf("/docs/section-%d/page-%d", j%1000, j)
	}
	kong := synth.Kong(n, 1)
	kset := openRules(b, kongRules(n))
	nginx := synth.Nginx(n, 1)
	nset := openRules(b, nginxRules(n))
	kPaths, nPaths, kMiss, nMiss := make([]string, 1024), make([]string, 1024), make([]string, 1024), make([]string, 1024)
	for i := range kPaths {
		j := (i * 7919) % n
		kPaths[i] = synth.KongPath(kong[j])
		nPaths[i] = synth.NginxPath(nginx[j])
		kMiss[i] = "/zz" + kPaths[i]
		nMiss[i] = "/zz" + nPaths[i]
	}
	run := func(name string, s *runtime.Set, paths []string, hit bool) {
		b.Run(name, func(b *testing.B) {
			if r := s.Lookup("", paths[0], ""); r.Found() != hit {
				b.Fatalf("%s: %+v", paths[0], r)
			}
			i := 0
			for b.Loop() {
				s.Lookup("", paths[i&1023], "")
				i++
			}
		})
	}
	run("exact-hit-1e6", exact, exactPaths, true)
	run("kong-hit-1e5", kset, kPaths, true)
	run("kong-miss-1e5", kset, kMiss, false)
	run("nginx-hit-1e5", nset, nPaths, true)
	run("nginx-miss-1e5", nset, nMiss, false)
}

func BenchmarkPatternBuild(b *testing.B) {
	for _, c := range []struct {
		name  string
		rules []compiler.Rule
	}{{"kong-1e5", kongRules(100_000)}, {"nginx-1e5", nginxRules(100_000)}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := compiler.Compile(c.rules, compiler.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
