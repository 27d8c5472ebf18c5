package runtime

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/internal/urlnorm"
	"github.com/redirc/redirc/shardfmt"
)

// This file checks Set.Lookup against a plain reference model of the
// documented matching semantics: a list of rules scanned linearly in
// precedence order. Normalization is shared (internal/urlnorm has its own
// tests); everything else — precedence, case, trailing slash, prefixes,
// splat and query handling — is written again here, as simply as possible.

type refRule struct {
	host   string // canonical, "" = any
	path   string // canonical (folded unless cs), trailing slash handled
	prefix bool
	cs     bool
	dest   string
	status int
	query  bool
}

type refModel struct {
	rules  []refRule
	strict bool
}

func (m *refModel) lookup(host, path, query string) Result {
	if path == "" {
		path = "/"
	}
	h := urlnorm.Host(host)
	cp := urlnorm.Path(path, false)
	fp := urlnorm.Path(path, true)
	trim := func(p string) string {
		if !m.strict && len(p) > 1 && strings.HasSuffix(p, "/") {
			return p[:len(p)-1]
		}
		return p
	}
	hosts := []string{""}
	if h != "" {
		hosts = []string{h, ""}
	}
	// Exact rules: host-scoped then any-host; case-sensitive then folded.
	for _, wantHost := range hosts {
		for _, cs := range []bool{true, false} {
			for _, r := range m.rules {
				if r.prefix || r.host != wantHost || r.cs != cs {
					continue
				}
				p := fp
				if cs {
					p = cp
				}
				if r.path == trim(p) {
					return m.answer(r, "", query)
				}
			}
		}
	}
	// Prefix rules: longest prefix first, host-scoped before any-host.
	for _, wantHost := range hosts {
		best, bestLen := -1, -1
		for i, r := range m.rules {
			if !r.prefix || r.host != wantHost {
				continue
			}
			p := fp
			if r.cs {
				p = cp
			}
			// "/a/*" matches "/a" itself; "/a//*" (path "/a/") does not
			// match "/a/", which is "/a" with a trailing slash.
			match := p == r.path && !strings.HasSuffix(p, "/") || strings.HasPrefix(p, r.path+"/")
			if match && len(r.path) > bestLen ||
				(len(r.path) == bestLen && r.cs && best >= 0 && !m.rules[best].cs && match) {
				best, bestLen = i, len(r.path)
			}
		}
		if best >= 0 {
			splat := ""
			if len(cp) > bestLen+1 {
				splat = cp[bestLen+1:]
			}
			return m.answer(m.rules[best], splat, query)
		}
	}
	return Result{}
}

func (m *refModel) answer(r refRule, splat, query string) Result {
	if r.status == 410 {
		return Result{Status: 410}
	}
	splat = strings.TrimLeft(splat, "/")
	loc := strings.ReplaceAll(r.dest, ":splat", splat)
	if r.query && query != "" {
		frag := ""
		if i := strings.IndexByte(loc, '#'); i >= 0 {
			loc, frag = loc[:i], loc[i:]
		}
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		loc += sep + query + frag
	}
	if strings.HasPrefix(loc, "//") {
		loc = "/" + strings.TrimLeft(loc, "/")
	}
	return Result{Status: r.status, Location: loc}
}

// fromBuild opens a compiled build straight from memory.
func fromBuild(t testing.TB, b *compiler.Build) *Set {
	t.Helper()
	sb := &shardfmt.Build{Index: b.Index}
	for _, img := range b.Shards {
		s, err := shardfmt.OpenShard(img)
		if err != nil {
			t.Fatal(err)
		}
		sb.Shards = append(sb.Shards, s)
	}
	return newSet(sb)
}

var (
	diffSegs  = []string{"a", "A", "b", "docs", "Docs", "caf%C3%A9", "café", "x%2Fy", "%41", "", "c d"}
	diffHosts = []string{"", "", "", "h.example", "H.example:8080"}
)

func randPath(r *rand.Rand) string {
	n := r.IntN(4)
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte('/')
		b.WriteString(diffSegs[r.IntN(len(diffSegs))])
	}
	if n == 0 || r.IntN(5) == 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// genCase makes a random, conflict-free rule set and its model.
func genCase(r *rand.Rand, strict bool) ([]compiler.Rule, *refModel) {
	m := &refModel{strict: strict}
	seen := map[string]bool{}
	var rules []compiler.Rule
	n := 1 + r.IntN(30)
	for i := 0; i < n; i++ {
		host := diffHosts[r.IntN(len(diffHosts))]
		path := randPath(r)
		if strings.HasPrefix(path, "//") {
			continue // the compiler refuses such sources (tested elsewhere)
		}
		prefix := r.IntN(3) == 0
		cs := r.IntN(4) == 0
		src := path
		if prefix {
			path = strings.TrimSuffix(path, "/")
			src = path + "/*"
		}
		if host != "" {
			src = host + src
		}
		rr := refRule{host: urlnorm.Host(host), prefix: prefix, cs: cs, status: []int{301, 302, 307, 308, 410}[r.IntN(5)], query: r.IntN(3) == 0}
		rr.path = urlnorm.Path(path, !cs)
		if prefix {
			// "/a//*" keeps its double slash: path "/a/" (issue 9).
			rr.path = strings.TrimSuffix(urlnorm.Path(path+"/", !cs), "/")
		} else if !strict && len(rr.path) > 1 {
			rr.path = strings.TrimSuffix(rr.path, "/")
		}
		key := fmt.Sprint(rr.host, rr.prefix, rr.cs, rr.path)
		if seen[key] {
			continue
		}
		seen[key] = true
		dest := fmt.Sprintf("/dst/%d", i)
		switch r.IntN(4) {
		case 0:
			dest = fmt.Sprintf("https://t.example/%d?k=v", i)
		case 1:
			dest += "#frag"
		}
		if prefix && r.IntN(2) == 0 {
			dest = []string{"/:splat", "/dst/:splat", "https://t.example/:splat#f"}[r.IntN(3)]
		}
		if rr.status == 410 {
			dest = ""
		}
		rr.dest = dest
		m.rules = append(m.rules, rr)
		rules = append(rules, compiler.Rule{Source: src, Destination: dest, Status: rr.status, CaseSensitive: cs, Query: rr.query, Pos: compiler.Pos{File: "gen", Line: i + 1}})
	}
	return rules, m
}

func checkDifferential(t *testing.T, seed uint64, requests int) {
	r := rand.New(rand.NewPCG(seed, 7))
	strict := r.IntN(4) == 0
	rules, m := genCase(r, strict)
	b, ps, err := compiler.Compile(rules, compiler.Options{StrictTrailingSlash: strict, Now: time.Unix(0, 0), AllowEmpty: true})
	if err != nil {
		t.Fatalf("seed %d: compile: %v %v", seed, err, ps)
	}
	s := fromBuild(t, b)
	for i := 0; i < requests; i++ {
		host := diffHosts[r.IntN(len(diffHosts))]
		path := randPath(r)
		query := []string{"", "q=1", "a=b&c=d"}[r.IntN(3)]
		got, want := s.Lookup(host, path, query), m.lookup(host, path, query)
		if got != want {
			var rs []string
			for _, x := range rules {
				rs = append(rs, fmt.Sprintf("%s -> %q %d cs=%v q=%v", x.Source, x.Destination, x.Status, x.CaseSensitive, x.Query))
			}
			t.Fatalf("seed %d strict=%v: Lookup(%q, %q, %q) = %+v, model says %+v\nrules:\n%s", seed, strict, host, path, query, got, want, strings.Join(rs, "\n"))
		}
	}
}

func TestDifferential(t *testing.T) {
	base := uint64(time.Now().UnixNano())
	t.Logf("base seed %d", base)
	n := 300
	if testing.Short() {
		n = 50
	}
	for i := 0; i < n; i++ {
		checkDifferential(t, base+uint64(i), 200)
	}
}

func FuzzDifferential(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 42, 1 << 40} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		checkDifferential(t, seed, 100)
	})
}
