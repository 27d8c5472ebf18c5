package main

import (
	"encoding/csv"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/shardfmt"
)

var exampleManifests = []string{filepath.Join("..", "..", "examples", "redirects.csv"), filepath.Join("..", "..", "examples", "_redirects")}

// buildDir runs redirc build into a new directory and returns it with the
// build id.
func buildDir(t *testing.T, flags []string, files ...string) (dir, id string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "out")
	args := append(append([]string{"build", "-o", dir, "--json"}, flags...), files...)
	code, stdout, stderr := redirc(t, args...)
	if code != 0 {
		t.Fatalf("build %v: exit %d: %s", args, code, stderr)
	}
	var sum struct{ BuildID string }
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	return dir, sum.BuildID
}

// rulesRoundTrip exports dir's rules as CSV, builds the CSV with flags and
// checks that the build id is id.
func rulesRoundTrip(t *testing.T, dir, id string, flags []string) {
	t.Helper()
	code, csvText, stderr := redirc(t, "inspect", "--rules", dir)
	if code != 0 {
		t.Fatalf("inspect --rules: exit %d: %s", code, stderr)
	}
	exported := writeFile(t, t.TempDir(), "rules.csv", csvText)
	_, again := buildDir(t, flags, exported)
	if again != id {
		t.Errorf("build of the exported rules (flags %v) has id %s, want %s; export:\n%.2000s", flags, again, id, csvText)
	}
}

func TestInspectRulesRoundTripExamples(t *testing.T) {
	for _, flags := range [][]string{
		nil,
		{"--shards", "3", "--bloom-fp", "0.01"},
		{"--strict-trailing-slash"},
		{"--shard-rules", "4"}, // the shard count follows from the rule count
	} {
		t.Run(strings.Join(flags, " "), func(t *testing.T) {
			dir, id := buildDir(t, flags, exampleManifests...)
			rulesRoundTrip(t, dir, id, flags)
		})
	}
}

// randomManifest writes a CSV manifest of about n rules that compiles: host
// and prefix rules, case-sensitive rules, escapes, trailing slashes, queries,
// expiry, 410s and chains.
func randomManifest(t *testing.T, rng *rand.Rand, n int, strict bool) string {
	t.Helper()
	segs := []string{"a", "B", "docs", "caf%C3%A9", "café", "x%2Fy", "%41", "s p", "a,b", `q"t`, "~u", "%2A", "*", ""}
	hosts := []string{"", "", "example.com", "Shop.Example.com:8080", "localhost"}
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
	var paths []string
	for i := range n {
		r := compiler.Rule{Pos: compiler.Pos{File: "rand", Line: i + 1}, Status: []int{301, 302, 303, 307, 308, 410}[rng.IntN(6)]}
		h, p := hosts[rng.IntN(len(hosts))], path()
		if rng.IntN(6) == 0 {
			p = strings.TrimSuffix(p, "/") + "/*"
		}
		r.Source = p
		if h != "" {
			r.Source = "https://" + h + p
		}
		r.CaseSensitive = rng.IntN(5) == 0
		r.Query = rng.IntN(5) == 0
		if rng.IntN(10) == 0 {
			r.Expires = time.Unix(int64(2e9+rng.IntN(1e8)), 0)
		}
		switch {
		case r.Status == 410:
		case h != "": // host-scoped rules do not chain (see inspect.WriteCSV)
			r.Destination = "https://dest.example" + path()
		case len(paths) > 0 && rng.IntN(3) == 0:
			r.Destination = paths[rng.IntN(len(paths))] // a chain, maybe
		case strings.HasSuffix(p, "/*") && rng.IntN(2) == 0:
			r.Destination = "/to/:splat"
		default:
			r.Destination = path()
		}
		if h == "" && !strings.HasSuffix(p, "/*") {
			paths = append(paths, p)
		}
		rules = append(rules, r)
	}
	for { // drop conflicting rules and loop ends until the set compiles
		var bad []int
		for _, p := range compiler.Check(rules, compiler.Options{StrictTrailingSlash: strict}) {
			if p.Severity == compiler.Error {
				bad = append(bad, p.Pos.Line)
			}
		}
		if len(bad) == 0 {
			break
		}
		rules = slices.DeleteFunc(rules, func(r compiler.Rule) bool { return slices.Contains(bad, r.Pos.Line) })
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"source", "destination", "statusCode", "caseSensitive", "query", "expires"})
	for _, r := range rules {
		exp := ""
		if !r.Expires.IsZero() {
			exp = r.Expires.UTC().Format(time.RFC3339)
		}
		w.Write([]string{r.Source, r.Destination, strconv.Itoa(r.Status), strconv.FormatBool(r.CaseSensitive), strconv.FormatBool(r.Query), exp})
	}
	w.Flush()
	return writeFile(t, t.TempDir(), "random.csv", b.String())
}

func TestInspectRulesRoundTripRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := range 6 {
		flags := [][]string{nil, {"--strict-trailing-slash"}, {"--shards", "7", "--bloom-fp", "0.2"}}[i%3]
		f := randomManifest(t, rng, 100+rng.IntN(400), i%3 == 1)
		dir, id := buildDir(t, flags, f)
		rulesRoundTrip(t, dir, id, flags)
		if t.Failed() {
			t.Fatalf("seed %d, round %d", seed, i)
		}
	}
}

func TestInspectSummary(t *testing.T) {
	dir, id := buildDir(t, []string{"--shards", "4"}, exampleManifests...)
	code, out, stderr := redirc(t, "inspect", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"build       " + id,
		"rules       19 rules in 4 shards,",
		"flags       hostRules caseSensitiveRules prefixRules maxPrefixSegments=2\n",
		"kinds       14 exact, 1 exact case-sensitive, 4 prefix, 0 prefix case-sensitive\n",
		"statuses    301: 11, 302: 3, 307: 2, 308: 2, 410: 1\n",
		"per shard   rules min ",
		"bloom       ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s00000-") {
		t.Errorf("shard lines without --per-shard:\n%s", out)
	}
	if _, out, _ := redirc(t, "inspect", "--per-shard", dir); strings.Count(out, ".rdx") != 4 {
		t.Errorf("--per-shard:\n%s", out)
	}

	code, out, _ = redirc(t, "inspect", "--json", dir)
	var s struct {
		BuildID       string
		Rules, Shards int
		Bytes         int64
		RulesPerShard struct{ Min, Max int64 }
		PerShard      []struct{ Rules int }
		Statuses      map[string]int
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil || code != 0 {
		t.Fatalf("--json: exit %d, %v: %s", code, err, out)
	}
	ix, err := shardfmt.LoadBuild(dir)
	if err != nil {
		t.Fatal(err)
	}
	var bytes int64
	for _, sh := range ix.Index.Shards {
		bytes += sh.Size
	}
	if s.BuildID != id || s.Rules != 19 || s.Shards != 4 || len(s.PerShard) != 4 || s.Bytes != bytes || s.Statuses["301"] != 11 {
		t.Errorf("--json: %+v", s)
	}
}

func TestInspectEmptyBuild(t *testing.T) {
	f := writeFile(t, t.TempDir(), "empty.csv", "source,destination,statusCode\n")
	dir, id := buildDir(t, []string{"--allow-empty"}, f)
	code, out, _ := redirc(t, "inspect", dir)
	if code != 0 || !strings.Contains(out, "rules       0 rules in 1 shard,") || !strings.Contains(out, "statuses    none\n") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	rulesRoundTrip(t, dir, id, []string{"--allow-empty"})
}

func TestInspectErrors(t *testing.T) {
	dir, _ := buildDir(t, nil, exampleManifests...)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"inspect"}, 2},
		{[]string{"inspect", dir, dir}, 2},
		{[]string{"inspect", "--rules", "--json", dir}, 2},
		{[]string{"inspect", "--nope", dir}, 2},
		{[]string{"inspect", filepath.Join(dir, "missing")}, 1},
		{[]string{"inspect", exampleManifests[0]}, 1}, // not a build
	} {
		if code, _, stderr := redirc(t, tc.args...); code != tc.code {
			t.Errorf("%v: exit %d, want %d (%s)", tc.args, code, tc.code, stderr)
		}
	}
	// A damaged shard is reported, not summarized.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".rdx") {
			p := filepath.Join(dir, e.Name())
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			os.WriteFile(p, b, 0o644)
		}
	}
	if code, _, stderr := redirc(t, "inspect", dir); code != 1 || !strings.Contains(stderr, "corrupt") {
		t.Errorf("damaged build: exit %d, %s", code, stderr)
	}
}
