package runtime_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/runtime"
)

// The real-world corpora live beside the checkout (see ../shared/corpora/README.md).
const corpora = "../../shared/corpora"

func corpus(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(corpora, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("corpus %s not available (%v): skipping", p, err)
	}
	return p
}

// browserPath percent-encodes a path the way a browser does before sending
// it (the WHATWG path percent-encode set), leaving existing escapes alone.
func browserPath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte("\"#<>?`{}", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func compileCorpus(t *testing.T, ro compiler.ReadOptions, files ...string) (*compiler.Build, []compiler.Rule, []compiler.Problem) {
	t.Helper()
	var rules []compiler.Rule
	var probs []compiler.Problem
	for _, f := range files {
		rs, ps, err := compiler.ReadFile(f, ro)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, rs...)
		probs = append(probs, ps...)
	}
	b, cps, err := compiler.Compile(rules, compiler.Options{})
	probs = append(probs, cps...)
	if err != nil && err != compiler.ErrInvalid {
		t.Fatal(err)
	}
	return b, rules, probs
}

func openBuild(t *testing.T, b *compiler.Build) *runtime.Set {
	t.Helper()
	dir := t.TempDir()
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	s, err := runtime.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCorpusMDN: every exact MDN rule, requested as a browser would send
// it, answers with its destination (or, for a chain, the chain's end).
func TestCorpusMDN(t *testing.T) {
	b, rules, probs := compileCorpus(t, compiler.ReadOptions{}, corpus(t, "mdn-en-us/_redirects.txt"))
	if compiler.HasErrors(probs) {
		t.Fatalf("MDN has errors: %v", probs[:min(len(probs), 10)])
	}
	if len(rules) != 13432 {
		t.Fatalf("read %d MDN rules, want 13432", len(rules))
	}
	s := openBuild(t, b)
	t.Logf("MDN: %d rules, %d compiled, %d chains flattened, %d warnings, %d bytes", len(rules), b.Stats.Rules, b.Stats.Chains, b.Stats.Warnings, b.Stats.Bytes)
	finals := map[string]bool{}
	for _, ch := range b.Chains {
		finals[ch.Path[0]+"\x00"+ch.Path[len(ch.Path)-1]] = true
	}
	for _, r := range rules {
		res := s.Lookup("", browserPath(r.Source), "")
		if res.Status != r.Status {
			t.Errorf("%s (%s): status %d, want %d", r.Source, r.Pos, res.Status, r.Status)
			continue
		}
		want := compilerDest(r.Destination)
		if res.Location != want && !finals[r.Source+"\x00"+res.Location] {
			t.Errorf("%s (%s): Location %q, want %q", r.Source, r.Pos, res.Location, want)
		}
	}
}

// compilerDest is the destination as the compiler stores it: raw spaces
// and non-ASCII bytes percent-encoded.
func compilerDest(d string) string {
	var b strings.Builder
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"<>\\^`{|}", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// TestCorpusKubernetes: the real two-rule loop is reported with both lines.
func TestCorpusKubernetes(t *testing.T) {
	f := corpus(t, "kubernetes-website/_redirects")
	// Kubernetes also has mid-segment splats (kubectl_*), which redirc
	// does not support, and trailing-slash twins with different targets,
	// which conflict unless slashes are strict: with both allowed for, the
	// loop must be the only error.
	var probs []compiler.Problem
	{
		rules, ps, err := compiler.ReadFile(f, compiler.ReadOptions{SkipUnsupported: true})
		if err != nil {
			t.Fatal(err)
		}
		_, cps, _ := compiler.Compile(rules, compiler.Options{StrictTrailingSlash: true})
		probs = append(ps, cps...)
	}
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	// Find the two lines of the loop in the file itself.
	lineOf := func(src string) int {
		for i, l := range strings.Split(string(data), "\n") {
			if fs := strings.Fields(l); len(fs) > 1 && fs[0] == src {
				return i + 1
			}
		}
		t.Fatalf("%s not in corpus", src)
		return 0
	}
	a := lineOf("/docs/concepts/overview/")
	var loop []compiler.Problem
	for _, p := range probs {
		if p.Severity == compiler.Error && strings.Contains(p.Msg, "redirect loop") {
			loop = append(loop, p)
		}
	}
	if len(loop) != 1 {
		t.Fatalf("want exactly one loop, got %v", loop)
	}
	msg := loop[0].String()
	if !strings.Contains(msg, fmt.Sprintf("_redirects:%d", a)) {
		t.Errorf("loop report %q lacks line %d", msg, a)
	}
	lines := regexp.MustCompile(`_redirects:(\d+)\)`).FindAllStringSubmatch(msg, -1)
	if len(lines) != 2 || lines[0][1] == lines[1][1] {
		t.Errorf("loop report %q should name two distinct lines", msg)
	}
	for _, p := range probs {
		if p.Severity == compiler.Error && p != loop[0] {
			t.Errorf("unexpected error: %v", p)
		}
	}
}

// TestCorpusStreamlit builds with its duplicate line reported as a warning.
func TestCorpusStreamlit(t *testing.T) {
	b, rules, probs := compileCorpus(t, compiler.ReadOptions{}, corpus(t, "streamlit-docs/_redirects"))
	if compiler.HasErrors(probs) {
		t.Fatalf("errors: %v", probs)
	}
	dups := 0
	for _, p := range probs {
		if strings.Contains(p.Msg, "duplicate rule") || strings.Contains(p.Msg, "never reached") {
			dups++
		}
	}
	if dups < 1 {
		t.Fatalf("duplicate not reported: %v", probs)
	}
	s := openBuild(t, b)
	if s.Rules() != len(rules)-dups {
		t.Errorf("%d rules compiled, want %d", s.Rules(), len(rules)-dups)
	}
	t.Logf("streamlit: %d rules, %d duplicates, %d chains", len(rules), dups, b.Stats.Chains)
}

// TestCorpusOthers builds the remaining corpora: nothing may panic, and
// where a file compiles, every rule must be found again.
func TestCorpusOthers(t *testing.T) {
	dir := corpus(t, "")
	var files []string
	for _, pat := range []string{"netlify-redirect-parser-fixtures/redirects_file/*", "vercel-json-small/*.json", "mdn-en-us/history/*.txt"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, f := range m {
			if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
				files = append(files, f)
			}
		}
	}
	if len(files) == 0 {
		t.Skip("no corpus files found")
	}
	for _, f := range files {
		ro := compiler.ReadOptions{SkipUnsupported: true}
		if !strings.HasSuffix(f, ".json") && !strings.HasSuffix(f, ".txt") {
			ro.Format = compiler.FormatNetlify
		}
		b, rules, probs := compileCorpus(t, ro, f)
		if b == nil {
			if !compiler.HasErrors(probs) {
				t.Errorf("%s: no build and no error", f)
			}
			continue
		}
		s := openBuild(t, b)
		t.Logf("%s: %d rules read, %d compiled, %d chains, %d problems", filepath.Base(f), len(rules), s.Rules(), b.Stats.Chains, len(probs))
	}
}
