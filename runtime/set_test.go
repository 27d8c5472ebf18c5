package runtime

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redirc/redirc/compiler"
)

// parseRules parses rules written as
// "source dest [status] [case] [query] [exp=RFC3339]", "-" for no dest.
func parseRules(t testing.TB, lines ...string) []compiler.Rule {
	t.Helper()
	var rs []compiler.Rule
	for i, l := range lines {
		f := strings.Fields(l)
		r := compiler.Rule{Source: f[0], Destination: f[1], Status: 301, Pos: compiler.Pos{File: "t", Line: i + 1}}
		if r.Destination == "-" {
			r.Destination = ""
		}
		for _, o := range f[2:] {
			switch {
			case o == "case":
				r.CaseSensitive = true
			case o == "query":
				r.Query = true
			case strings.HasPrefix(o, "exp="):
				tm, err := time.Parse(time.RFC3339, o[4:])
				if err != nil {
					t.Fatal(err)
				}
				r.Expires = tm
			default:
				if _, err := fmt.Sscan(o, &r.Status); err != nil {
					t.Fatalf("bad option %q", o)
				}
			}
		}
		rs = append(rs, r)
	}
	return rs
}

// build compiles rules (see parseRules) into a temporary directory and
// opens it.
func build(t testing.TB, opt compiler.Options, lines ...string) *Set {
	t.Helper()
	rs := parseRules(t, lines...)
	b, ps, err := compiler.Compile(rs, opt)
	if err != nil {
		t.Fatalf("compile: %v %v", err, ps)
	}
	dir := t.TempDir()
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type lookupCase struct {
	host, path, query string
	status            int
	loc               string
}

func checkLookups(t *testing.T, s *Set, now time.Time, cases []lookupCase) {
	t.Helper()
	for _, c := range cases {
		got := s.lookup(c.host, c.path, c.query, now)
		if got.Status != c.status || got.Location != c.loc {
			t.Errorf("Lookup(%q, %q, %q) = %d %q, want %d %q", c.host, c.path, c.query, got.Status, got.Location, c.status, c.loc)
		}
	}
}

func TestLookupSemantics(t *testing.T) {
	s := build(t, compiler.Options{},
		"/exact /to-exact",
		"/Case /to-case-sensitive 302 case",
		"/case /to-folded",
		"example.com/exact /to-host-exact",
		"/docs/* /new/:splat 308",
		"/docs/api/* https://api.example.org/v2/:splat?from=docs 301",
		"example.com/docs/* /host-docs/:splat",
		"/* /everything-else 302",
		"/gone - 410",
		"/q /dest?a=1#frag 301 query",
		"/q2 /plain 302 query",
		"/café /coffee",
		"/nosplat/* /landing",
		"/old /older",
	)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	checkLookups(t, s, now, []lookupCase{
		// exact, case and trailing slash
		{"", "/exact", "", 301, "/to-exact"},
		{"", "/EXACT/", "", 301, "/to-exact"},
		{"other.example", "/exact", "", 301, "/to-exact"},
		{"Example.COM:443", "/exact", "", 301, "/to-host-exact"},
		{"example.com.", "/Exact", "", 301, "/to-host-exact"},
		{"", "/Case", "", 302, "/to-case-sensitive"},
		{"", "/CASE", "", 301, "/to-folded"},
		{"", "/case", "", 301, "/to-folded"},
		// percent-encoding: one key for every spelling
		{"", "/caf%C3%A9", "", 301, "/coffee"},
		{"", "/caf%c3%a9/", "", 301, "/coffee"},
		{"", "/CAF%C3%A9", "", 301, "/coffee"},
		{"", "/%63af%C3%A9", "", 301, "/coffee"},
		// prefix rules: longest first, host before any-host, splat keeps case
		{"", "/docs", "", 308, "/new/"},
		{"", "/docs/", "", 308, "/new/"},
		{"", "/docs/Guide/Intro", "", 308, "/new/Guide/Intro"},
		{"", "/DOCS/Guide", "", 308, "/new/Guide"},
		{"", "/docs/api/users", "x=1", 301, "https://api.example.org/v2/users?from=docs"},
		{"example.com", "/docs/api/users", "", 301, "/host-docs/api/users"},
		{"example.com", "/exact", "", 301, "/to-host-exact"},
		{"", "/anything/else", "", 302, "/everything-else"},
		{"", "/", "", 302, "/everything-else"},
		{"", "/nosplat/a/b", "", 301, "/landing"},
		// exact beats prefix
		{"", "/old", "", 301, "/older"},
		// 410 and query preservation
		{"", "/gone", "", 410, ""},
		{"", "/q", "b=2&c=3", 301, "/dest?a=1&b=2&c=3#frag"},
		{"", "/q", "", 301, "/dest?a=1#frag"},
		{"", "/q2", "x=%20y", 302, "/plain?x=%20y"},
		{"", "/q2", "", 302, "/plain"},
	})
}

func TestLookupMiss(t *testing.T) {
	s := build(t, compiler.Options{}, "/a /b", "/docs/* /new/:splat", "example.com/x /y")
	checkLookups(t, s, time.Time{}, []lookupCase{
		{"", "/b", "", 0, ""},
		{"", "/documents", "", 0, ""},
		{"", "/", "", 0, ""},
		{"", "", "", 0, ""},
		{"other.example", "/x", "", 0, ""},
		{"", "/a%2Fb", "", 0, ""},
	})
}

func TestLookupStrictTrailingSlash(t *testing.T) {
	s := build(t, compiler.Options{StrictTrailingSlash: true}, "/a /x", "/b/ /y")
	checkLookups(t, s, time.Time{}, []lookupCase{
		{"", "/a", "", 301, "/x"},
		{"", "/a/", "", 0, ""},
		{"", "/b/", "", 301, "/y"},
		{"", "/b", "", 0, ""},
	})
}

func TestLookupExpires(t *testing.T) {
	s := build(t, compiler.Options{Now: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"/sale /shop 307 exp=2030-01-01T00:00:00Z")
	checkLookups(t, s, time.Date(2029, 12, 31, 23, 59, 59, 0, time.UTC), []lookupCase{{"", "/sale", "", 307, "/shop"}})
	checkLookups(t, s, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), []lookupCase{{"", "/sale", "", 410, ""}})
}

// TestNoOpenRedirect: whatever a prefix rule's remainder holds, the
// Location keeps the destination's scheme and host, and a relative
// destination never becomes protocol-relative.
func TestNoOpenRedirect(t *testing.T) {
	s := build(t, compiler.Options{}, "/r/* /:splat", "/a/* https://site.example/:splat", "/q/* /x/:splat 301 query")
	for _, rem := range []string{
		"//evil.example", "/evil.example", "%2F%2Fevil.example", "%2f/evil.example", "/\\evil.example",
		"%5C%5Cevil.example", "%5Cevil.example", "..%2F..%2Fevil", "%2E%2E/%2E%2E//evil.example",
		"\\\\evil.example", "%0D%0ALocation:%20//evil", "\r\nX: y", "http://evil.example", "@evil.example",
	} {
		for _, p := range []string{"/r/", "/a/", "/q/"} {
			res := s.Lookup("", p+rem, "a=%0D%0A\r\nb")
			loc := res.Location
			if res.Status != 301 {
				t.Errorf("%s%s: status %d", p, rem, res.Status)
			}
			if strings.ContainsAny(loc, "\r\n\x00\\") {
				t.Errorf("%s%s: control or backslash in Location %q", p, rem, loc)
			}
			switch p {
			case "/a/":
				if !strings.HasPrefix(loc, "https://site.example/") {
					t.Errorf("%s%s: Location %q left the site", p, rem, loc)
				}
			default:
				if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
					t.Errorf("%s%s: relative Location %q is not a plain path", p, rem, loc)
				}
			}
		}
	}
}

func TestLookupAllocs(t *testing.T) {
	s := build(t, compiler.Options{}, "/a/b/c /x", "/docs/* /new/:splat", "example.com/h /y", "/Case /z 301 case")
	for _, c := range []struct{ name, host, path string }{
		{"hit", "", "/a/b/c"},
		{"hit-folded", "", "/A/B/C/"},
		{"hit-host", "example.com", "/h"},
		{"hit-case", "", "/Case"},
		{"miss", "", "/nope/nothing/here"},
		{"miss-host", "example.com", "/nope"},
		{"miss-long", "", "/" + strings.Repeat("x", 300)},
	} {
		var res Result
		allocs := testing.AllocsPerRun(200, func() { res = s.Lookup(c.host, c.path, "q=1") })
		if allocs != 0 {
			t.Errorf("%s: %v allocations per lookup, want 0", c.name, allocs)
		}
		if strings.HasPrefix(c.name, "hit") != res.Found() {
			t.Errorf("%s: found=%v", c.name, res.Found())
		}
	}
}

// TestLookupRandomized checks many random exact rules against a map, and
// random misses, with concurrent readers (run with -race).
func TestLookupRandomized(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	n := 3000
	if testing.Short() {
		n = 500
	}
	want := map[string]string{}
	var lines []string
	for len(want) < n {
		src := fmt.Sprintf("/%x/%x", r.Uint32(), r.Uint32())
		if _, dup := want[src]; dup {
			continue
		}
		dst := fmt.Sprintf("/d/%x", r.Uint64())
		want[src] = dst
		lines = append(lines, src+" "+dst)
	}
	s := build(t, compiler.Options{ShardRules: 100}, lines...)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for src, dst := range want {
				if res := s.Lookup("", src, ""); res.Status != 301 || res.Location != dst {
					t.Errorf("%s -> %v, want 301 %s", src, res, dst)
					return
				}
				if res := s.Lookup("", src+"x", ""); res.Found() {
					t.Errorf("%sx found: %v", src, res)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkLookupWithPrefixRules: a build with prefix rules, as most
// Netlify builds are; exact hits and misses should not pay for them.
func BenchmarkLookupWithPrefixRules(b *testing.B) {
	lines := []string{"/docs/* /new/:splat"}
	for i := range 5000 {
		lines = append(lines, fmt.Sprintf("/page/%d /dest/%d", i, i))
	}
	s := build(b, compiler.Options{}, lines...)
	for _, c := range []struct{ name, path string }{
		{"exact-hit", "/page/4242"},
		{"prefix-hit", "/docs/guide/intro"},
		{"miss", "/nope/a/b"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Lookup("", c.path, "")
			}
		})
	}
}
