package runtime_test

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/internal/pattern"
	"github.com/redirc/redirc/internal/urlnorm"
	"github.com/redirc/redirc/runtime"
)

// refRule is one rule of the reference evaluator: its pattern, compiled
// on its own.
type refRule struct {
	in   compiler.Rule
	host string
	re   *regexp.Regexp
	p    *pattern.Pattern
}

// reference is the plain ordered evaluator the compiled build must agree
// with: rules sorted by file, Order and position, each tried in turn with
// its own expression on the request's subject; the first that matches
// answers. It shares with the build only the translation of one source
// (internal/pattern), not the index, the lowering to the exact and
// prefix tiers, the "never reached" pruning or the pattern file.
type reference struct{ rules []refRule }

func newReference(t *testing.T, rules []compiler.Rule, strict bool) *reference {
	t.Helper()
	var ref reference
	idx := make([]int, len(rules))
	for i := range idx {
		idx[i] = i
	}
	// Stable sort by Order (one file in these tests).
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && rules[idx[j]].Order < rules[idx[j-1]].Order; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	for _, i := range idx {
		in := rules[i]
		host, path := "", in.Source
		if in.Syntax != compiler.SyntaxRegex {
			if rest, ok := strings.CutPrefix(path, "https://"); ok {
				h, p, _ := strings.Cut(rest, "/")
				host, path = urlnorm.Host(h), "/"+p
			}
		}
		var src *pattern.Source
		var err error
		switch in.Syntax {
		case compiler.SyntaxPath:
			base, prefix := strings.CutSuffix(path, "/*")
			if prefix && base == "" {
				base = "/"
			}
			src, err = pattern.Literal(base, prefix, in.CaseSensitive, strict)
		case compiler.SyntaxNetlify:
			src, err = pattern.Netlify(path, in.CaseSensitive)
		case compiler.SyntaxPathToRegexp:
			src, err = pattern.PathToRegexp(path, in.CaseSensitive)
		case compiler.SyntaxRegex:
			src, err = pattern.Regex(path, in.CaseSensitive)
		}
		if err != nil {
			t.Fatalf("reference: %s: %v", in.Source, err)
		}
		var q []pattern.QueryCond
		for _, c := range in.QueryMatch {
			q = append(q, pattern.QueryCond{Key: c.Key, Value: c.Value})
		}
		tmpl, err := src.Template(in.Destination, q)
		if err != nil {
			t.Fatalf("reference: %s -> %s: %v", in.Source, in.Destination, err)
		}
		p, err := pattern.Compile(pattern.Spec{Host: host, Re: src.Re, Status: in.Status, Dest: tmpl, Query: q})
		if err != nil {
			t.Fatalf("reference: %s: %v", in.Source, err)
		}
		ref.rules = append(ref.rules, refRule{in: in, host: host, re: regexp.MustCompile(src.Re), p: p})
	}
	return &ref
}

func (ref *reference) lookup(host, path, query string) runtime.Result {
	sub := []byte(pattern.Subject(path))
	h := urlnorm.Host(host)
	for _, r := range ref.rules {
		if r.host != "" && r.host != h {
			continue
		}
		if !refQueryOK(r.in.QueryMatch, query) {
			continue
		}
		// regexp itself, not Pattern.Match (which may take a faster path).
		if m := r.re.FindSubmatchIndex(sub); m != nil {
			return runtime.Result{Status: r.in.Status, Location: r.p.Expand(sub, m, query, false)}
		}
	}
	return runtime.Result{}
}

func refQueryOK(conds []compiler.QueryParam, rawQuery string) bool {
	for _, c := range conds {
		found := false
		for _, kv := range strings.Split(rawQuery, "&") {
			k, v, _ := strings.Cut(kv, "=")
			if k == c.Key {
				found = strings.HasPrefix(c.Value, ":") || v == c.Value
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// openMem compiles rules and opens the build from memory.
func openMem(t *testing.T, rules []compiler.Rule, opt compiler.Options) (*runtime.Set, []compiler.Problem) {
	t.Helper()
	b, probs, err := compiler.Compile(rules, opt)
	if err != nil {
		return nil, probs
	}
	fsys := fstest.MapFS{}
	idx, err := b.Index.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	fsys["index.json"] = &fstest.MapFile{Data: idx}
	for i, s := range b.Shards {
		fsys[b.Index.Shards[i].File] = &fstest.MapFile{Data: s}
	}
	if p := b.Index.Patterns; p != nil {
		fsys[p.File] = &fstest.MapFile{Data: b.Patterns}
	}
	s, err := runtime.OpenFS(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	return s, probs
}

// segment alphabet: few values, so that rules and requests meet often.
var diffSegs = []string{"a", "b", "A", "ab", "k", "x.y"}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func randPath(rng *rand.Rand) string {
	n := rng.IntN(4)
	var b strings.Builder
	for range n {
		b.WriteByte('/')
		b.WriteString(pick(rng, diffSegs))
	}
	if n == 0 || rng.IntN(4) == 0 {
		b.WriteByte('/')
	}
	if rng.IntN(12) == 0 {
		b.WriteString("/")
	}
	return b.String()
}

func randNetlify(rng *rand.Rand, i int) compiler.Rule {
	n := 1 + rng.IntN(3)
	var src strings.Builder
	var names []string
	splat := false
	for j := range n {
		src.WriteByte('/')
		switch k := rng.IntN(8); {
		case k == 0:
			name := fmt.Sprintf("p%d", j)
			names = append(names, name)
			src.WriteString(":" + name)
		case k == 1 && j == n-1:
			src.WriteString("*")
			splat = true
		case k == 2 && j == n-1:
			src.WriteString(pick(rng, diffSegs) + "*")
			splat = true
		default:
			src.WriteString(pick(rng, diffSegs))
		}
	}
	if !splat && rng.IntN(4) == 0 {
		src.WriteByte('/')
	}
	dest := fmt.Sprintf("https://d.example/r%d", i)
	for _, nm := range names {
		dest += "/:" + nm
	}
	if splat {
		dest += "/:splat"
	}
	r := compiler.Rule{Source: src.String(), Destination: dest, Status: 301, FirstMatch: true, CaseSensitive: rng.IntN(5) == 0,
		Pos: compiler.Pos{File: "_redirects", Line: i + 1}}
	if len(names) > 0 || strings.Contains(r.Source, "*") && !strings.HasSuffix(r.Source, "/*") {
		r.Syntax = compiler.SyntaxNetlify
	}
	if rng.IntN(10) == 0 {
		r.Source = "https://h.example" + r.Source
	}
	if rng.IntN(12) == 0 {
		r.QueryMatch = []compiler.QueryParam{{Key: "id", Value: ":id"}}
		r.Destination += "?id=:id"
	}
	return r
}

func randVercel(rng *rand.Rand, i int) compiler.Rule {
	n := 1 + rng.IntN(3)
	var src strings.Builder
	var names []string
	for j := range n {
		src.WriteByte('/')
		name := fmt.Sprintf("v%d", j)
		switch k := rng.IntN(10); {
		case k == 0:
			names = append(names, name)
			src.WriteString(":" + name)
		case k == 1 && j == n-1:
			names = append(names, name)
			src.WriteString(":" + name + "*")
		case k == 2:
			names = append(names, name)
			src.WriteString(":" + name + "(a|ab)")
		case k == 3 && j == n-1:
			names = append(names, name)
			src.WriteString(":" + name + "?")
		case k == 4:
			src.WriteString(pick(rng, diffSegs) + "{-:" + name + "}?")
			names = append(names, name)
		default:
			src.WriteString(pick(rng, diffSegs))
		}
	}
	if rng.IntN(4) == 0 {
		src.WriteByte('/')
	}
	dest := fmt.Sprintf("https://d.example/r%d", i)
	for _, nm := range names {
		dest += "/:" + nm
	}
	return compiler.Rule{Source: src.String(), Destination: dest, Status: 308, Syntax: compiler.SyntaxPathToRegexp,
		CaseSensitive: rng.IntN(5) == 0, Pos: compiler.Pos{File: "vercel.json", Line: i + 1}}
}

func randRegex(rng *rand.Rand, i int) compiler.Rule {
	var src strings.Builder
	if rng.IntN(5) != 0 {
		src.WriteString("^")
	}
	groups := 0
	for j := range 1 + rng.IntN(3) {
		src.WriteByte('/')
		switch rng.IntN(5) {
		case 0:
			src.WriteString("([^/]+)")
			groups++
		case 1:
			src.WriteString("(a|b)")
			groups++
		case 2:
			if j > 0 {
				src.WriteString("(.*)")
				groups++
			} else {
				src.WriteString(regexp.QuoteMeta(pick(rng, diffSegs)))
			}
		default:
			src.WriteString(regexp.QuoteMeta(pick(rng, diffSegs)))
		}
	}
	if rng.IntN(2) == 0 {
		src.WriteString("$")
	}
	dest := fmt.Sprintf("https://d.example/r%d", i)
	for g := 1; g <= groups; g++ {
		dest += fmt.Sprintf("/$%d", g)
	}
	r := compiler.Rule{Source: src.String(), Destination: dest, Status: 301, Syntax: compiler.SyntaxRegex,
		CaseSensitive: rng.IntN(3) != 0, Order: rng.IntN(3), FirstMatch: true, Pos: compiler.Pos{File: "nginx.conf", Line: i + 1}}
	if rng.IntN(6) == 0 {
		// An exact or prefix rule of the same ordered list (nginx "=").
		r = compiler.Rule{Source: "/" + strings.TrimLeft(randPath(rng), "/"), Destination: dest[:strings.Index(dest, "/r")+2] + fmt.Sprint(i), Status: 301,
			Order: rng.IntN(3), CaseSensitive: rng.IntN(2) == 0, FirstMatch: true, Pos: r.Pos}
		if rng.IntN(3) == 0 {
			r.Source = strings.TrimSuffix(r.Source, "/") + "/*"
		}
	}
	return r
}

// checkDiff compiles a random rule set and compares the build's answers
// with the reference's for random requests.
func checkDiff(t *testing.T, seed uint64, gen func(*rand.Rand, int) compiler.Rule) {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	n := 1 + rng.IntN(24)
	rules := make([]compiler.Rule, n)
	for i := range rules {
		rules[i] = gen(rng, i)
	}
	strict := rng.IntN(4) == 0
	s, probs := openMem(t, rules, compiler.Options{StrictTrailingSlash: strict})
	if s == nil {
		t.Fatalf("seed %d: rules do not compile: %v\nrules: %+v", seed, probs, rules)
	}
	ref := newReference(t, rules, strict)
	for range 200 {
		host := pick(rng, []string{"", "h.example", "other.example"})
		path := randPath(rng)
		query := pick(rng, []string{"", "id=7", "x=1&id=a%20b"})
		got := s.Lookup(host, path, query)
		want := ref.lookup(host, path, query)
		if got != want {
			var b strings.Builder
			for _, r := range rules {
				fmt.Fprintf(&b, "  %d: %s %s -> %s (case %v, order %d, query %v)\n", r.Pos.Line, r.Syntax, r.Source, r.Destination, r.CaseSensitive, r.Order, r.QueryMatch)
			}
			t.Fatalf("seed %d (strict %v): %s %s?%s: build answers %+v, reference %+v\nrules:\n%sproblems: %v", seed, strict, host, path, query, got, want, b.String(), probs)
		}
	}
}

// The differential fuzzers: one per ordered format. `make test` runs each
// 300 times (fuzz-short); go test runs the seeds below.
func FuzzPatternDiffNetlify(f *testing.F) {
	for i := range 20 {
		f.Add(uint64(i))
	}
	f.Fuzz(func(t *testing.T, seed uint64) { checkDiff(t, seed, randNetlify) })
}

func FuzzPatternDiffVercel(f *testing.F) {
	for i := range 20 {
		f.Add(uint64(i))
	}
	f.Fuzz(func(t *testing.T, seed uint64) { checkDiff(t, seed, randVercel) })
}

func FuzzPatternDiffRegex(f *testing.F) {
	for i := range 20 {
		f.Add(uint64(i))
	}
	f.Fuzz(func(t *testing.T, seed uint64) { checkDiff(t, seed, randRegex) })
}
