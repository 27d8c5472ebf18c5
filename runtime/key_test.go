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

// TestNilSet: runtime.Live.Set() is nil before the first build; a nil *Set
// answers every lookup with a miss and its accessors do not panic.
func TestNilSet(t *testing.T) {
	var s *Set
	for _, c := range []struct{ host, path string }{{"", "/"}, {"example.com", "/a"}, {"", ""}, {"", "x"}} {
		if res := s.Lookup(c.host, c.path, "q=1"); res != (Result{}) {
			t.Errorf("nil Set: Lookup(%q, %q) = %+v, want a miss", c.host, c.path, res)
		}
	}
	if id := s.BuildID(); id != "" {
		t.Errorf("nil Set: BuildID() = %q, want \"\"", id)
	}
	if n := s.Rules(); n != 0 {
		t.Errorf("nil Set: Rules() = %d, want 0", n)
	}
	if ix := s.Index(); ix != nil {
		t.Errorf("nil Set: Index() = %+v, want nil", ix)
	}
	if allocs := testing.AllocsPerRun(100, func() { s.Lookup("example.com", "/a", "") }); allocs != 0 {
		t.Errorf("nil Set: %v allocations per lookup, want 0", allocs)
	}
}

// TestLookupHostPathBoundary: a key is kind | host | path with no
// separator, so a path that does not begin with '/' (or a host holding
// '/') must never be allowed to run into the other part of the key.
func TestLookupHostPathBoundary(t *testing.T) {
	s := build(t, compiler.Options{},
		"example.com/x /host-x",
		"example.com/x/y /host-xy",
		"example.com/* /host-root",
		"example.com/docs/* /host-docs/:splat",
		"/x /any-x",
	)
	checkLookups(t, s, time.Time{}, []lookupCase{
		// the rules themselves
		{"example.com", "/x", "", 301, "/host-x"},
		{"example.com", "/x/y", "", 301, "/host-xy"},
		{"example.com", "/m", "", 301, "/host-root"},
		{"example.com", "", "", 301, "/host-root"},
		{"example.co", "/x", "", 301, "/any-x"},
		// a path without its leading '/' is a miss, never another host's rule
		{"example.co", "m/x", "", 0, ""},
		{"example.co", "m", "", 0, ""},
		{"example.co", "m/docs/a", "", 0, ""},
		{"example.", "com/x", "", 0, ""},
		{"", "x", "", 0, ""},
		{"example.com", "x", "", 0, ""},
		{"example.com", "%2Fx", "", 0, ""},
		// a host holding '/' matches no host-scoped rule; any-host rules
		// still apply, as for any host the build does not know
		{"example.com/x", "/y", "", 0, ""},
		{"example.com/x", "", "", 0, ""},
		{"example.com/", "/x", "", 301, "/any-x"},
		{"example.com/docs", "/a", "", 0, ""},
	})
}

// TestLookupPinnedKeys opens a build written with literal keys, as builds
// already on disk hold them, and checks that lookups still probe exactly
// those bytes (see internal/rulekey for the layout).
func TestLookupPinnedKeys(t *testing.T) {
	entries := []shardfmt.Entry{
		{Key: "e/", Dest: "/root", Status: 301},
		{Key: "e/a/b", Dest: "/ab", Status: 301},
		{Key: "E/Case", Dest: "/case", Status: 302},
		{Key: "e/caf%C3%A9", Dest: "/coffee", Status: 301},
		{Key: "eexample.com/x", Dest: "/host-x", Status: 301},
		{Key: "Eexample.com/X", Dest: "/host-X", Status: 301},
		{Key: "p/docs", Dest: "/d/:splat", Status: 308, Flags: shardfmt.FlagSplat},
		{Key: "P/Docs/API", Dest: "/api/:splat", Status: 308, Flags: shardfmt.FlagSplat},
		{Key: "pexample.com", Dest: "/host-any/:splat", Status: 307, Flags: shardfmt.FlagSplat},
	}
	const count = 2
	ix := &shardfmt.Index{Format: 1, ShardCount: count, HostRules: true, CaseSensitiveRules: true, PrefixRules: true, MaxPrefixSegments: 2}
	var shards []*shardfmt.Shard
	for i := range count {
		var es []shardfmt.Entry
		for _, e := range entries {
			if shardfmt.ShardOf(shardfmt.HashString(0, e.Key), count) == i {
				es = append(es, e)
			}
		}
		img, err := shardfmt.EncodeShard(es, shardfmt.ShardOptions{Index: i, Count: count})
		if err != nil {
			t.Fatal(err)
		}
		sh, err := shardfmt.OpenShard(img)
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, sh)
		ix.Rules += len(es)
	}
	s := newSet(&shardfmt.Build{Index: ix, Shards: shards})
	checkLookups(t, s, time.Time{}, []lookupCase{
		{"", "/", "", 301, "/root"},
		{"", "", "", 301, "/root"},
		{"", "/A/B/", "", 301, "/ab"},
		{"", "/Case", "", 302, "/case"},
		{"", "/case", "", 0, ""},
		{"", "/CAF%c3%a9", "", 301, "/coffee"},
		{"Example.com:80", "/x/", "", 301, "/host-x"},
		{"example.com", "/X", "", 301, "/host-X"},
		{"", "/Docs/a/B", "", 308, "/d/a/B"},
		{"", "/Docs/API/v1", "", 308, "/api/v1"},
		{"", "/docs/api/v1", "", 308, "/d/api/v1"},
		{"example.com", "/y/Z", "", 307, "/host-any/y/Z"},
		{"other.example", "/y", "", 0, ""},
	})
}

// boundaryHosts and boundarySegs are chosen so that many host+path
// strings can be cut in more than one place.
var (
	boundaryHosts = []string{"example.com", "example.co", "m.example", "a.b", "a.bc", "b.c"}
	boundarySegs  = []string{"m", "x", "mx", "com", "co", "c", "b", "bc", "docs", ""}
)

// boundaryCase builds random host-scoped and any-host rules from
// boundaryHosts and boundarySegs, and the reference model of their answers.
func boundaryCase(r *rand.Rand) ([]compiler.Rule, *refModel) {
	m := &refModel{}
	seen := map[string]bool{}
	var rules []compiler.Rule
	for i := range 1 + r.IntN(40) {
		host := ""
		if r.IntN(4) != 0 {
			host = boundaryHosts[r.IntN(len(boundaryHosts))]
		}
		var pb strings.Builder
		for range 1 + r.IntN(3) {
			pb.WriteByte('/')
			pb.WriteString(boundarySegs[r.IntN(len(boundarySegs))])
		}
		path := pb.String()
		if strings.HasPrefix(path, "//") {
			continue // the compiler refuses such sources
		}
		prefix := r.IntN(3) == 0
		rr := refRule{host: host, prefix: prefix, status: 301, dest: fmt.Sprintf("/d/%d", i)}
		src := host + path
		if prefix {
			path = strings.TrimRight(path, "/")
			src = host + path + "/*"
			rr.dest += "/:splat"
		}
		rr.path = urlnorm.Path(path, true)
		if prefix {
			rr.path = strings.TrimRight(rr.path, "/")
		} else if len(rr.path) > 1 {
			rr.path = strings.TrimSuffix(rr.path, "/")
		}
		key := fmt.Sprint(rr.host, rr.prefix, rr.path)
		if seen[key] {
			continue
		}
		seen[key] = true
		m.rules = append(m.rules, rr)
		rules = append(rules, compiler.Rule{Source: src, Destination: rr.dest, Status: 301, Pos: compiler.Pos{File: "gen", Line: i + 1}})
	}
	return rules, m
}

// checkBoundary compiles a random boundaryCase and looks up every way of
// cutting each rule's host+path string (and of random strings) into a
// host and a path: only the cut the model allows may answer.
func checkBoundary(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 11))
	rules, m := boundaryCase(r)
	b, ps, err := compiler.Compile(rules, compiler.Options{Now: time.Unix(0, 0), AllowEmpty: true})
	if err != nil {
		t.Fatalf("seed %d: compile: %v %v", seed, err, ps)
	}
	s := fromBuild(t, b)
	var whole []string
	for _, x := range rules {
		whole = append(whole, strings.TrimSuffix(x.Source, "*"))
		whole = append(whole, strings.TrimSuffix(x.Source, "/*")+"/"+boundarySegs[r.IntN(len(boundarySegs))])
	}
	for range 20 {
		var b strings.Builder
		for range r.IntN(6) {
			b.WriteString([]string{"/", ".", "m", "x", "example", "com", "co", "a", "b", "c"}[r.IntN(10)])
		}
		whole = append(whole, b.String())
	}
	for _, w := range whole {
		for i := 0; i <= len(w); i++ {
			host, path := w[:i], w[i:]
			got, want := s.Lookup(host, path, ""), m.lookup(host, path, "")
			if got != want {
				var rs []string
				for _, x := range rules {
					rs = append(rs, x.Source+" -> "+x.Destination)
				}
				t.Fatalf("seed %d: Lookup(%q, %q) = %+v, model says %+v\nrules:\n%s", seed, host, path, got, want, strings.Join(rs, "\n"))
			}
		}
	}
}

// TestLookupBoundaryRandomized: no (host, path) pair can be confused with
// another across the host/path boundary of a key.
func TestLookupBoundaryRandomized(t *testing.T) {
	base := uint64(time.Now().UnixNano())
	t.Logf("base seed %d", base)
	n := 200
	if testing.Short() {
		n = 40
	}
	for i := range n {
		checkBoundary(t, base+uint64(i))
	}
}

func FuzzLookupBoundary(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 42, 1 << 40} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		checkBoundary(t, seed)
	})
}
