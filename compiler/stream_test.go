package compiler

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// compileReference is the in-memory path (ReadFile, Compile, WriteDir), the
// reference the streaming build must match byte for byte.
func compileReference(t *testing.T, dir string, files []string, ro ReadOptions, opt Options) (*Build, []Problem, error) {
	t.Helper()
	var rules []Rule
	var probs []Problem
	for _, f := range files {
		r, p, err := ReadFile(f, ro)
		if err != nil {
			return nil, nil, err
		}
		rules = append(rules, r...)
		probs = append(probs, p...)
	}
	b, cp, err := Compile(rules, opt)
	readErrs := HasErrors(probs)
	for _, p := range cp {
		if p.Hint != HintAllowEmpty || !readErrs {
			probs = append(probs, p)
		}
	}
	SortProblems(probs, files)
	if err != nil {
		return nil, probs, err
	}
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return b, probs, nil
}

// streamOnly makes CompileFiles spill whatever the input size, with few
// buckets so that shards span buckets and buckets hold several shards.
func streamOnly(t *testing.T, buckets int) {
	t.Helper()
	oldMin, oldBuckets, oldBytes := streamMinBytes, spillBuckets, spillBucketBytes
	streamMinBytes, spillBuckets, spillBucketBytes = 0, buckets, 0
	t.Cleanup(func() { streamMinBytes, spillBuckets, spillBucketBytes = oldMin, oldBuckets, oldBytes })
}

// sameBuild compares two build directories file by file.
func sameBuild(t *testing.T, want, got string) {
	t.Helper()
	list := func(dir string) []string {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".rdx") || e.Name() == "index.json" {
				names = append(names, e.Name())
			}
		}
		return names
	}
	wn, gn := list(want), list(got)
	if !slices.Equal(wn, gn) {
		t.Fatalf("files differ:\nwant %v\ngot  %v", wn, gn)
	}
	for _, n := range wn {
		a, _ := os.ReadFile(filepath.Join(want, n))
		b, _ := os.ReadFile(filepath.Join(got, n))
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs", n)
		}
	}
}

func problemStrings(ps []Problem) []string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return s
}

// randomCSV writes a manifest with duplicates, conflicts, chains, loops,
// hosts, prefix and case-sensitive rules, 410s, expiring rules, queries,
// fragments and a few invalid rules (when bad).
func randomCSV(t *testing.T, rng *rand.Rand, path string, n int, bad bool, seen map[string][]string) {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"source", "destination", "statusCode", "caseSensitive", "query", "expires", "force"})
	paths := max(4, n/2) // small: duplicates and hops
	p := func() string { return fmt.Sprintf("/p%d", rng.IntN(paths)) }
	hosts := []string{"", "a.example", "B.example"}
	for range n {
		src := p()
		if h := hosts[rng.IntN(len(hosts))]; h != "" && rng.IntN(4) == 0 {
			src = h + src
			if rng.IntN(2) == 0 {
				src = "https://" + src
			}
		}
		if rng.IntN(8) == 0 {
			src += "/"
		} else if rng.IntN(10) == 0 {
			src += "/*"
		}
		norm := strings.ToLower(strings.TrimSuffix(src, "/"))
		if row, ok := seen[norm]; ok && (!bad || rng.IntN(10) != 0) {
			row = slices.Clone(row)
			row[0] = src
			w.Write(row) // a duplicate with the same outcome
			continue
		}
		dst := p()
		if rng.IntN(4) != 0 {
			dst = fmt.Sprintf("/d%d", rng.IntN(paths)) // no hop
		}
		switch rng.IntN(10) {
		case 0:
			dst = "https://a.example" + dst
		case 1:
			dst = "https://elsewhere.example" + dst
		case 2:
			dst += "#frag"
		case 3:
			dst += "?q=1"
		}
		status := []string{"301", "302", "308", "410", ""}[rng.IntN(5)]
		cs := []string{"", "true", "false"}[rng.IntN(3)]
		q := []string{"", "true"}[rng.IntN(2)]
		exp := ""
		if rng.IntN(30) == 0 {
			exp = "2099-01-01T00:00:00Z"
		}
		if bad && rng.IntN(50) == 0 {
			dst = "ftp://x"
		}
		force := []string{"", "", "false"}[rng.IntN(3)]
		row := []string{src, dst, status, cs, q, exp, force}
		seen[norm] = row
		w.Write(row)
	}
	w.Flush()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCompileFilesMatchesCompile(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for iter := range 40 {
		streamOnly(t, []int{1, 2, 4, 16}[iter%4])
		tmp := t.TempDir()
		var files []string
		seen := map[string][]string{}
		for f := range 1 + rng.IntN(3) {
			name := filepath.Join(tmp, fmt.Sprintf("m%d.csv", f))
			randomCSV(t, rng, name, 1+rng.IntN(400), iter%3 == 0, seen)
			files = append(files, name)
		}
		opt := Options{ShardRules: 1 + rng.IntN(64), HashSeed: rng.Uint64() % 3, StrictTrailingSlash: rng.IntN(2) == 0,
			Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		if rng.IntN(3) == 0 {
			opt.Shards = 1 + rng.IntN(40)
		}
		opt.NoFlatten = rng.IntN(5) == 0
		ref, refProbs, refErr := compileReference(t, filepath.Join(tmp, "want"), files, ReadOptions{}, opt)
		got, gotProbs, gotErr := CompileFiles(context.Background(), filepath.Join(tmp, "got"), files, ReadOptions{}, opt)
		if !errors.Is(gotErr, refErr) && !(gotErr == nil && refErr == nil) {
			t.Fatalf("iteration %d: error %v, want %v", iter, gotErr, refErr)
		}
		if w, g := problemStrings(refProbs), problemStrings(gotProbs); !slices.Equal(w, g) {
			t.Fatalf("iteration %d: problems differ:\nwant %q\ngot  %q", iter, w, g)
		}
		if refErr != nil {
			if testing.Verbose() {
				t.Logf("iteration %d: %v, %d problems (%d loops)", iter, refErr, len(gotProbs), strings.Count(strings.Join(problemStrings(gotProbs), "\n"), "redirect loop"))
			}
			if _, err := os.Stat(filepath.Join(tmp, "got")); !os.IsNotExist(err) {
				t.Fatalf("iteration %d: failed build created its output directory", iter)
			}
			continue
		}
		sameBuild(t, filepath.Join(tmp, "want"), filepath.Join(tmp, "got"))
		if testing.Verbose() {
			t.Logf("iteration %d: %d rules, %d shards, %d chains, %d problems", iter, got.Stats.Rules, got.Stats.Shards, got.Stats.Chains, len(gotProbs))
		}
		if len(ref.Chains) != len(got.Chains) {
			t.Fatalf("iteration %d: %d chains, want %d", iter, len(got.Chains), len(ref.Chains))
		}
		for i := range ref.Chains {
			if ref.Chains[i].String() != got.Chains[i].String() {
				t.Fatalf("iteration %d: chain %d is %s, want %s", iter, i, got.Chains[i], ref.Chains[i])
			}
		}
		rs, gs := ref.Stats, got.Stats
		rs.Duration, gs.Duration, rs.Written, gs.Written = 0, 0, 0, 0
		rs.Inputs = gs.Inputs // Compile counts the rules it was given
		if rs != gs {
			t.Fatalf("iteration %d: stats %+v, want %+v", iter, gs, rs)
		}
		ents, _ := os.ReadDir(tmp)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".redirc-spill-") {
				t.Fatalf("iteration %d: spill directory %s left behind", iter, e.Name())
			}
		}
	}
}

// writeRulesCSV writes rules as a CSV manifest (what the streaming build
// takes), dropping what CSV cannot say: patterns and first-match order.
func writeRulesCSV(t *testing.T, path string, rules []Rule) {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"source", "destination", "statusCode", "caseSensitive", "query", "expires", "force"})
	for _, r := range rules {
		if r.Syntax != SyntaxPath || r.Order != 0 || len(r.QueryMatch) > 0 || r.Host != "" {
			continue // CSV says nothing of FirstMatch: the rest is written
		}
		exp := ""
		if !r.Expires.IsZero() {
			exp = r.Expires.Format(time.RFC3339)
		}
		w.Write([]string{r.Source, r.Destination, fmt.Sprint(r.Status), fmt.Sprint(r.CaseSensitive), fmt.Sprint(r.Query), exp, fmt.Sprint(!r.Unforced)})
	}
	w.Flush()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCompileFilesCorpora compares the streaming build with the in-memory
// one on the shared corpora: MDN's TSV as it is, and every corpus's rules
// written as CSV (Netlify files themselves take the in-memory path).
func TestCompileFilesCorpora(t *testing.T) {
	for _, rel := range []string{"mdn-en-us/_redirects.txt", "kubernetes-website/_redirects", "streamlit-docs/_redirects"} {
		t.Run(rel, func(t *testing.T) {
			src := rdCorpus(t, rel)
			tmp := t.TempDir()
			rules, _, err := ReadFile(src, ReadOptions{SkipUnsupported: true})
			if err != nil {
				t.Fatal(err)
			}
			csvFile := filepath.Join(tmp, "rules.csv")
			writeRulesCSV(t, csvFile, rules)
			inputs := [][]string{{csvFile}}
			if strings.HasSuffix(rel, ".txt") {
				inputs = append(inputs, []string{src})
			}
			for i, files := range inputs {
				for _, buckets := range []int{1, 8, 256} {
					streamOnly(t, buckets)
					want, got := filepath.Join(tmp, fmt.Sprintf("want%d-%d", i, buckets)), filepath.Join(tmp, fmt.Sprintf("got%d-%d", i, buckets))
					opt := Options{ShardRules: 64, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
					ro := ReadOptions{SkipUnsupported: true}
					ref, refProbs, refErr := compileReference(t, want, files, ro, opt)
					b, probs, err := CompileFiles(context.Background(), got, files, ro, opt)
					if !slices.Equal(problemStrings(refProbs), problemStrings(probs)) {
						t.Fatalf("%v: problems differ:\nwant %q\ngot  %q", files, problemStrings(refProbs), problemStrings(probs))
					}
					if (err == nil) != (refErr == nil) {
						t.Fatalf("%v: error %v, want %v", files, err, refErr)
					}
					if err != nil {
						continue
					}
					sameBuild(t, want, got)
					if len(b.Chains) != len(ref.Chains) {
						t.Fatalf("%v: %d chains, want %d", files, len(b.Chains), len(ref.Chains))
					}
					t.Logf("%v, %d buckets: %d rules, %d shards, %d chains: the same bytes", filepath.Base(files[0]), buckets, b.Stats.Rules, b.Stats.Shards, b.Stats.Chains)
				}
			}
		})
	}
}

func TestExactBucket(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, n := range []int{0, 1, 2, 3, 10, 1000, 50000} {
		hs := make([]uint64, n)
		in := make(map[uint64]bool, n)
		for i := range hs {
			hs[i] = rng.Uint64()
			if n < 1000 && rng.IntN(3) == 0 {
				hs[i] >>= rng.IntN(64) // crowded near zero
			}
			in[hs[i]] = true
		}
		slices.Sort(hs)
		eb := newExactBucket(slices.Clone(hs))
		for _, h := range hs {
			if !eb.has(h) {
				t.Fatalf("n=%d: %#x not found", n, h)
			}
		}
		for range 10000 {
			h := rng.Uint64()
			if n > 0 && rng.IntN(2) == 0 {
				h = hs[rng.IntN(n)] + uint64(rng.IntN(3)) - 1
			}
			if eb.has(h) != in[h] {
				t.Fatalf("n=%d: has(%#x) = %v", n, h, !in[h])
			}
		}
	}
}

// A parent directory the build cannot write to (a mounted volume as the
// output directory) moves the spill directory into the output directory,
// and it is gone afterwards.
func TestSpillDirFallback(t *testing.T) {
	streamOnly(t, 4)
	tmp := t.TempDir()
	m := filepath.Join(tmp, "m.csv")
	if err := os.WriteFile(m, []byte("source,destination\n/a,/b\n/c,/d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "vol", "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	var used []string
	mkdirTemp = func(dir, pattern string) (string, error) {
		if dir == filepath.Dir(out) {
			return "", os.ErrPermission // the volume's parent
		}
		d, err := os.MkdirTemp(dir, pattern)
		used = append(used, d)
		return d, err
	}
	defer func() { mkdirTemp = os.MkdirTemp }()
	if _, _, err := CompileFiles(context.Background(), out, []string{m}, ReadOptions{}, Options{}); err != nil {
		t.Fatal(err)
	}
	if len(used) != 1 || filepath.Dir(used[0]) != out {
		t.Fatalf("spilled to %v, want a directory in %s", used, out)
	}
	if _, err := os.Stat(used[0]); !os.IsNotExist(err) {
		t.Errorf("%s left behind (%v)", used[0], err)
	}
	if _, err := os.Stat(filepath.Join(out, "index.json")); err != nil {
		t.Fatal(err)
	}
}

// A manifest that cannot be read gives a *ReadError with ReadFile's error,
// on both paths, and nothing is written.
func TestCompileFilesReadError(t *testing.T) {
	for _, stream := range []bool{false, true} {
		if stream {
			streamOnly(t, 2)
		}
		tmp := t.TempDir()
		good := filepath.Join(tmp, "m.csv")
		if err := os.WriteFile(good, []byte("source,destination\n/a,/b\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(tmp, "out")
		_, _, err := CompileFiles(context.Background(), out, []string{good, filepath.Join(tmp, "missing.csv")}, ReadOptions{}, Options{})
		var re *ReadError
		if !errors.As(err, &re) || !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("stream %v: error %v, want a *ReadError wrapping ErrNotExist", stream, err)
		}
		_, _, err = CompileFiles(context.Background(), out, []string{good}, ReadOptions{MaxInputBytes: 5}, Options{})
		var le *LimitError
		if !errors.As(err, &re) || !errors.As(err, &le) {
			t.Fatalf("stream %v: error %v, want a *ReadError holding a *LimitError", stream, err)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("stream %v: output directory created", stream)
		}
	}
}

// Importers that add two rules for one line (Cloudflare's subpath
// matching) stream the same rules as they read into memory, also where
// the line is refused after the first (a target with a query string and
// preserve path suffix).
func TestCompileFilesCloudflare(t *testing.T) {
	streamOnly(t, 4)
	tmp := t.TempDir()
	m := filepath.Join(tmp, "cloudflare.csv")
	in := "example.com/about,https://example.net/about-us,,FALSE,FALSE,,\n" +
		"https://example.com/docs,https://docs.example.com/,302,TRUE,FALSE,TRUE,\n" +
		"example.com/blog,https://example.com/news,308,,,TRUE,FALSE\n" +
		"example.com/q,https://example.com/n?x=1,308,,,TRUE,TRUE\n" +
		"example.com/Case,/c\n"
	if err := os.WriteFile(m, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	ro := ReadOptions{SkipUnsupported: true}
	_, wantProbs, err := compileReference(t, filepath.Join(tmp, "want"), []string{m}, ro, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, probs, err := CompileFiles(context.Background(), filepath.Join(tmp, "got"), []string{m}, ro, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(problemStrings(wantProbs), problemStrings(probs)) || len(probs) == 0 {
		t.Fatalf("problems:\nwant %q\ngot  %q", problemStrings(wantProbs), problemStrings(probs))
	}
	sameBuild(t, filepath.Join(tmp, "want"), filepath.Join(tmp, "got"))
}

// FuzzSpillRecord: the spill decoder never panics or reads past its input
// on any bytes, and gives back every record appendRec wrote.
func FuzzSpillRecord(f *testing.F) {
	f.Add([]byte{}, "/a", "/b", "src", uint64(1), int64(7))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80}, "\x01host/a", "", "", uint64(0), int64(1<<40))
	f.Fuzz(func(t *testing.T, junk []byte, key, dest, source string, hash uint64, order int64) {
		d := recReader{data: string(junk)}
		var r srec
		for d.next(&r) {
			if d.off > len(d.data) {
				t.Fatalf("offset %d past %d bytes", d.off, len(d.data))
			}
		}
		if order < 0 {
			order = -order
		}
		want := srec{hash: hash, order: order, file: 3, line: 12, status: 301, kind: 2, flags: 5, exp: 99, hostLen: 4, key: key, dest: dest, source: source}
		b := appendRec(nil, &want)
		b = appendRec(b, &want)
		d = recReader{data: string(b)}
		for range 2 {
			var got srec
			if !d.next(&got) || got != want {
				t.Fatalf("decoded %+v (err %v), want %+v", got, d.err, want)
			}
		}
		if d.next(&r) || d.err != nil {
			t.Fatalf("a third record, or an error: %v", d.err)
		}
	})
}

// CompileFiles reads manifests and writes the build directory in one call,
// in bounded memory for large inputs; Progress reports how far it is.
func ExampleCompileFiles() {
	tmp, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)
	manifest := filepath.Join(tmp, "redirects.csv")
	os.WriteFile(manifest, []byte("source,destination,statusCode\n/old,/new,301\n/new,/newest,301\n"), 0o644)

	stages := map[string]bool{}
	opt := Options{Progress: func(p Progress) { stages[p.Stage] = true }}
	b, problems, err := CompileFiles(context.Background(), filepath.Join(tmp, "build"), []string{manifest}, ReadOptions{}, opt)
	if err != nil {
		panic(err)
	}
	fmt.Println(b.Stats.Rules, "rules,", b.Stats.Chains, "chain,", len(problems), "problems")
	fmt.Println(b.Chains[0].Path)
	fmt.Println(stages["writing"])
	// Output:
	// 2 rules, 1 chain, 0 problems
	// [/old /new /newest]
	// true
}
