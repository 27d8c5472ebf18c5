package compiler

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redirc/redirc/shardfmt"
)

// rules builds Rules from "source dest status" lines, one per line, at
// test.csv line 2, 3, ...
func rules(t testing.TB, lines ...string) []Rule {
	t.Helper()
	var out []Rule
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 {
			t.Fatalf("bad test rule %q", l)
		}
		r := Rule{Source: f[0], Destination: f[1], Status: 301, Pos: Pos{File: "test.csv", Line: i + 2}}
		if r.Destination == "-" {
			r.Destination = ""
		}
		for _, opt := range f[2:] {
			switch {
			case opt == "case":
				r.CaseSensitive = true
			case opt == "query":
				r.Query = true
			case strings.HasPrefix(opt, "exp="):
				tm, err := time.Parse(time.RFC3339, opt[4:])
				if err != nil {
					t.Fatal(err)
				}
				r.Expires = tm
			default:
				fmt.Sscan(opt, &r.Status)
			}
		}
		out = append(out, r)
	}
	return out
}

func TestCheckProblems(t *testing.T) {
	tests := []struct {
		rule string
		want string // substring of the single error
	}{
		{"/a javascript:alert(1)", "neither an http(s) URL nor a path"},
		{"/a ftp://x.example/", "only http and https"},
		{"/a //evil.example/x", "protocol-relative"},
		{"/a /\\evil.example", "protocol-relative"},
		{"/a relative/path", "neither an http(s) URL nor a path"},
		{"/a /b 200", "status 200 is not a redirect status"},
		{"/a /b 404", "status 404"},
		{"/a - 301", "missing destination"},
		{"a /b", "must begin with /"},
		{"//x /b", "begins with //"},
		{"/a https://:splat.example/x", "uses :splat but the source is not a prefix rule"},
		{"/a/* https://:splat.example/x", "puts :splat in the host"},
		{"/a https://user@/x", "not a valid URL"},
		{"ftp://h.example/a /b", "only http and https hosts"},
		{"exämple.com/a /b", "punycode"},
		{"/a /b exp=1960-01-01T00:00:00Z", "outside 1970..2106"},
	}
	for _, tt := range tests {
		ps := Check(rules(t, tt.rule), Options{})
		var errs []Problem
		for _, p := range ps {
			if p.Severity == Error {
				errs = append(errs, p)
			}
		}
		if len(errs) != 1 || !strings.Contains(errs[0].Msg, tt.want) || errs[0].Pos.String() != "test.csv:2" {
			t.Errorf("%q: got %v, want one error at test.csv:2 containing %q", tt.rule, ps, tt.want)
		}
	}
}

func TestControlCharacters(t *testing.T) {
	rs := []Rule{
		{Source: "/a\r\nSet-Cookie: x=1", Destination: "/b", Status: 301, Pos: Pos{"m", 1}},
		{Source: "/c", Destination: "/d\nLocation: //evil", Status: 301, Pos: Pos{"m", 2}},
		{Source: "/e", Destination: "/f\x7f", Status: 301, Pos: Pos{"m", 3}},
		{Source: "/g\bh", Destination: "/i", Status: 301, Pos: Pos{"m", 4}},
		{Source: "ex\bample.com/j", Destination: "/k", Status: 301, Pos: Pos{"m", 5}},
	}
	ps := Check(rs, Options{})
	// In a source's path a control character is matched percent-encoded,
	// as a browser sends it, with a warning; in a destination or a host it
	// is an error.
	want := []struct {
		sev Severity
		msg string
	}{
		{Warning, "matched as /a%0D%0ASet-Cookie:%20x=1"},
		{Error, "destination contains control character"},
		{Error, "destination contains control character"},
		{Warning, "matched as /g%08h"},
		{Error, "contains '\\b'"},
	}
	if len(ps) != len(want) {
		t.Fatalf("want %d problems, got %v", len(want), ps)
	}
	for i, p := range ps {
		if p.Severity != want[i].sev || p.Pos.Line != i+1 || !strings.Contains(p.Msg, want[i].msg) {
			t.Errorf("problem %d = %v, want %v containing %q", i, p, want[i].sev, want[i].msg)
		}
	}
}

func TestAllProblemsListed(t *testing.T) {
	ps := Check(rules(t, "/ok /fine", "/bad1 nope", "/ok2 /fine", "/bad2 /x 299", "bad3 /x"), Options{})
	var lines []int
	for _, p := range ps {
		lines = append(lines, p.Pos.Line)
	}
	if fmt.Sprint(lines) != "[3 5 6]" {
		t.Fatalf("want problems on lines 3 5 6, got %v", ps)
	}
}

func TestLimits(t *testing.T) {
	long := "/" + strings.Repeat("a", 5000)
	ps := Check(rules(t, long+" /b", "/b "+long), Options{MaxSourceBytes: 4096, MaxDestBytes: 4096})
	if len(ps) != 2 || !strings.Contains(ps[0].Msg, "over the limit") || !strings.Contains(ps[1].Msg, "over the limit") {
		t.Fatalf("got %v", ps)
	}
}

func TestDuplicatesAndConflicts(t *testing.T) {
	ps := Check(rules(t,
		"/a /x",
		"/A/ /x",     // same key (folded, trailing slash): duplicate
		"/a /y",      // conflict
		"/b /x 301",  //
		"/b /x 302",  // conflict on status
		"/c /x case", // case-sensitive: a different key from the folded /C
		"/C /x",
	), Options{})
	want := []string{
		"test.csv:3: warning: duplicate rule: /A/ is already defined at test.csv:2",
		"test.csv:4: error: conflicting rule: /a is already defined at test.csv:2 (301 /x) but here it is 301 /y",
		"test.csv:6: error: conflicting rule: /b is already defined at test.csv:5 (301 /x) but here it is 302 /x",
	}
	if len(ps) != len(want) {
		t.Fatalf("got %v", ps)
	}
	for i := range want {
		if !strings.HasPrefix(ps[i].String(), want[i]) {
			t.Errorf("problem %d:\n got %s\nwant %s", i, ps[i], want[i])
		}
	}
	// With strict trailing slashes, /a and /A/ are different rules.
	ps = Check(rules(t, "/a /x", "/a/ /y"), Options{StrictTrailingSlash: true})
	if len(ps) != 0 {
		t.Fatalf("strict: got %v", ps)
	}
}

func TestChainsFlattened(t *testing.T) {
	c := check(rules(t,
		"/a /b#top",
		"/b /c/",
		"/c https://other.example/final",
		"/d /gone",
		"/gone - 410",
		"/e /f?x=1", // a query: not chained
		"/f /g",
	), Options{})
	if len(c.probs) != 0 {
		t.Fatal(c.probs)
	}
	got := map[string]string{}
	for _, r := range c.rules {
		got[c.src(r).Source] = r.final
	}
	want := map[string]string{
		"/a": "https://other.example/final#top",
		"/b": "https://other.example/final",
		"/c": "https://other.example/final",
		"/d": "/gone",
		"/e": "/f?x=1",
		"/f": "/g",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s -> %q, want %q", k, got[k], v)
		}
	}
	if len(c.chains) != 2 {
		t.Fatalf("want 2 chains, got %v", c.chains)
	}
	if s := c.chains[0].String(); s != "/a (test.csv:2) -> /b (test.csv:3) -> /c (test.csv:4) -> https://other.example/final#top" {
		t.Errorf("chain 0 = %s", s)
	}
}

func TestLoops(t *testing.T) {
	ps := Check(rules(t, "/x /y", "/a /b", "/b /c", "/c /a/", "/self /self", "/y /a"), Options{})
	var loops []string
	for _, p := range ps {
		if p.Severity == Error && strings.Contains(p.Msg, "redirect loop") {
			loops = append(loops, p.String())
		}
	}
	want := []string{
		"test.csv:3: error: redirect loop: /a (test.csv:3) -> /b (test.csv:4) -> /c (test.csv:5) -> /a",
		"test.csv:6: error: redirect loop: /self (test.csv:6) -> /self",
	}
	if strings.Join(loops, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(loops, "\n"), strings.Join(want, "\n"))
	}
}

func TestShadowWarning(t *testing.T) {
	rs := rules(t, "/docs/* /new/:splat", "/docs/keep /kept", "/other /x")
	if ps := Check(rs, Options{}); len(ps) != 0 {
		t.Fatalf("CSV-like rules are not first-match: got %v", ps)
	}
	for i := range rs {
		rs[i].FirstMatch = true
	}
	ps := Check(rs, Options{})
	if len(ps) != 1 || ps[0].Severity != Warning || ps[0].Pos.Line != 3 || !strings.Contains(ps[0].Msg, "never reached: shadowed by test.csv:2 (/docs/*)") {
		t.Fatalf("got %v", ps)
	}
}

func TestDestinationEncoding(t *testing.T) {
	rs := []Rule{{Source: "/a", Destination: "/café menu?q=x y", Status: 301, Pos: Pos{"m", 1}}}
	c := check(rs, Options{})
	if len(c.probs) != 0 || c.rules[0].dest != "/caf%C3%A9%20menu?q=x%20y" {
		t.Fatalf("dest = %q, problems %v", c.rules[0].dest, c.probs)
	}
}

func synthRules(n int) []Rule {
	rs := make([]Rule, n)
	for i := range rs {
		rs[i] = Rule{Source: fmt.Sprintf("/s/%d/page", i), Destination: fmt.Sprintf("/d/%d", i), Status: 301, Pos: Pos{"synth", i + 1}}
	}
	return rs
}

func dirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func TestDeterministicOutput(t *testing.T) {
	rs := synthRules(20000)
	dirs := []string{t.TempDir(), t.TempDir()}
	for i, d := range dirs {
		in := rs
		if i == 1 { // reversed input order gives the same build
			in = make([]Rule, len(rs))
			for j := range rs {
				in[j] = rs[len(rs)-1-j]
			}
		}
		b, ps, err := Compile(in, Options{})
		if err != nil || len(ps) != 0 {
			t.Fatal(err, ps)
		}
		if err := b.WriteDir(d); err != nil {
			t.Fatal(err)
		}
	}
	a, b := dirFiles(t, dirs[0]), dirFiles(t, dirs[1])
	if len(a) != len(b) || len(a) < 3 {
		t.Fatalf("file counts %d vs %d", len(a), len(b))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Errorf("%s differs between identical builds", name)
		}
	}
}

func TestIncrementalRebuild(t *testing.T) {
	dir := t.TempDir()
	rs := synthRules(20000)
	b1, _, err := Compile(rs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b1.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	before := dirFiles(t, dir)
	rs[1234].Destination = "/changed"
	b2, _, err := Compile(rs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b2.Index.ShardCount != b1.Index.ShardCount {
		t.Fatalf("shard count changed %d -> %d", b1.Index.ShardCount, b2.Index.ShardCount)
	}
	if err := b2.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	if b2.Stats.Written != 1 {
		t.Errorf("rewrote %d shard files, want 1", b2.Stats.Written)
	}
	diff := 0
	for i := range b1.Index.Shards {
		if b1.Index.Shards[i] != b2.Index.Shards[i] {
			diff++
		}
	}
	if diff != 1 {
		t.Errorf("%d shards changed in the index, want 1", diff)
	}
	after := dirFiles(t, dir)
	// Old shard kept (previous generation), new one added, index replaced.
	if len(after) != len(before)+1 {
		t.Errorf("files: %d before, %d after", len(before), len(after))
	}
	// A third build removes the shard that neither the current nor the
	// previous index references.
	rs[1234].Destination = "/changed-again"
	b3, _, _ := Compile(rs, Options{})
	if err := b3.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	if n := len(dirFiles(t, dir)); n != len(before)+1 {
		t.Errorf("after third build: %d files, want %d", n, len(before)+1)
	}
	ix, err := shardfmt.LoadBuild(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := ix.Find([]byte("e/s/1234/page"))
	if !ok || rec.Dest != "/changed-again" {
		t.Fatalf("lookup after rebuild: %v %v", rec, ok)
	}
}

func TestFailedWriteLeavesPreviousOutput(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Log("running as root: read-only directories are writable; checking with an unwritable path instead")
	}
	dir := t.TempDir()
	b1, _, _ := Compile(synthRules(5000), Options{})
	if err := b1.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	before := dirFiles(t, dir)
	// Make writing fail half-way: a directory squats on one of the new
	// shard file names, so its rename fails after other shards were written.
	rs := synthRules(5000)
	for i := range rs {
		rs[i].Destination += "-v2"
	}
	b2, _, _ := Compile(rs, Options{})
	squat := filepath.Join(dir, b2.Index.Shards[len(b2.Index.Shards)-1].File)
	if err := os.MkdirAll(filepath.Join(squat, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := b2.WriteDir(dir)
	if err == nil {
		t.Fatal("WriteDir succeeded over a squatting directory")
	}
	if !strings.Contains(err.Error(), squat) {
		t.Errorf("error %q does not name %s", err, squat)
	}
	os.RemoveAll(squat)
	after := dirFiles(t, dir)
	if len(after) != len(before) {
		t.Fatalf("failed build left %d files, had %d", len(after), len(before))
	}
	for name, data := range before {
		if !bytes.Equal(after[name], data) {
			t.Errorf("%s changed by a failed build", name)
		}
	}
	if _, err := shardfmt.LoadBuild(dir); err != nil {
		t.Fatalf("previous build no longer loads: %v", err)
	}
}

// TestReservedPaths checks that a rule on a path in Options.Reserved is a
// warning (and stays in the build), and that without reserved paths the
// same rules are not.
func TestReservedPaths(t *testing.T) {
	rs := rules(t,
		"/.redirc/healthz /x",   // 2: under the reserved prefix
		"/.Redirc/* /y",         // 3: the prefix itself, any case
		"/.redirection /z",      // 4: not under it
		"/%2Eredirc/metrics /w", // 5: the same path, percent-encoded
		"/status/ /v",           // 6: the exact reserved path, trailing slash
		"/status/more /u",       // 7: not reserved: /status is exact
		"/* /t",                 // 8: a catch-all covers reserved paths but is not on one
	)
	if ps := Check(rs, Options{}); len(ps) != 0 {
		t.Errorf("without reserved paths: %v", ps)
	}
	reserved := []Reserved{
		{Path: "/.redirc/", Prefix: true, Why: "the server answers its own endpoints"},
		{Path: "/STATUS", Why: "the load balancer asks"},
	}
	ps := Check(rs, Options{Reserved: reserved})
	want := []string{
		"test.csv:2: warning: /.redirc/healthz is under /.redirc/, where the server answers its own endpoints",
		"test.csv:3: warning: /.Redirc/* is under /.redirc/, where the server answers its own endpoints",
		"test.csv:5: warning: /%2Eredirc/metrics is under /.redirc/, where the server answers its own endpoints",
		"test.csv:6: warning: /status/ matches /status, where the load balancer asks",
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if b, _, err := Compile(rs, Options{Reserved: reserved}); err != nil || b.Stats.Rules != len(rs) {
		t.Errorf("rules on reserved paths must stay in the build: %v", err)
	}
	if reserved[0].Path != "/.redirc/" {
		t.Errorf("Check changed the caller's Reserved: %+v", reserved)
	}
}

func TestNetlifyRulesAreFirstMatch(t *testing.T) {
	rs, ps, err := Read("_redirects", strings.NewReader("/docs/* /new/:splat 301\n/docs/keep /kept 301\n"), ReadOptions{})
	if err != nil || len(ps) != 0 {
		t.Fatal(err, ps)
	}
	ps = Check(rs, Options{})
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, "never reached: shadowed by") {
		t.Fatalf("got %v", ps)
	}
}

// TestShardCountHonoured checks that an explicit Options.Shards is used as
// given up to shardfmt.MaxShardCount (it was clamped to 65536 silently)
// and refused beyond.
func TestShardCountHonoured(t *testing.T) {
	rs := rules(t, "/a /b", "/c /d")
	b, _, err := Compile(rs, Options{Shards: 1<<16 + 1})
	if err != nil || b.Index.ShardCount != 1<<16+1 || len(b.Shards) != 1<<16+1 {
		t.Fatalf("Shards 65537: %v", err)
	}
	for _, n := range []int{-1, shardfmt.MaxShardCount + 1} {
		if _, _, err := Compile(rs, Options{Shards: n}); err == nil || !strings.Contains(err.Error(), "Options.Shards") {
			t.Errorf("Shards %d: err = %v, want a range error", n, err)
		}
	}
}
