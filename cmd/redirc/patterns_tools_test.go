package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestToolsOnPatternBuilds: inspect, export and diff never drop a build's
// pattern rules silently. inspect counts them and --rules refuses the
// build; export refuses it unless --skip-unsupported (then it warns with
// the count); diff reports a change of pattern rules and exits 1.
func TestToolsOnPatternBuilds(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	os.MkdirAll(filepath.Join(dir, "a"), 0o755)
	a := write("a/_redirects", "/old /new 301\n/blog/:year/:slug /posts/:year/:slug 301\n")
	os.MkdirAll(filepath.Join(dir, "b"), 0o755)
	b := write("b/_redirects", "/old /new 301\n/blog/:year/:slug /articles/:year/:slug 301\n")
	ba, bb := filepath.Join(dir, "ba"), filepath.Join(dir, "bb")
	for _, x := range [][2]string{{a, ba}, {b, bb}} {
		if code, _, stderr := redirc(t, "build", "-o", x[1], x[0]); code != 0 {
			t.Fatalf("build %s: %d\n%s", x[0], code, stderr)
		}
	}

	code, out, stderr := redirc(t, "inspect", ba)
	if code != 0 || !strings.Contains(out, "patterns    1 rule") {
		t.Errorf("inspect: exit %d, want the pattern rule counted:\n%s%s", code, out, stderr)
	}
	if code, _, stderr := redirc(t, "inspect", "--rules", ba); code != 1 || !strings.Contains(stderr, "1 pattern rules") {
		t.Errorf("inspect --rules: exit %d, want 1 and the pattern rules named:\n%s", code, stderr)
	}

	out1 := filepath.Join(dir, "out1")
	if code, _, stderr := redirc(t, "export", "--to", "netlify", "-o", out1, ba); code != 1 || !strings.Contains(stderr, "1 pattern rule") {
		t.Errorf("export: exit %d, want 1 naming the pattern rule:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out1, "_redirects")); err == nil {
		t.Errorf("export refused, but wrote _redirects")
	}
	code, _, stderr = redirc(t, "export", "--skip-unsupported", "--to", "netlify", "-o", out1, ba)
	if code != 0 || !strings.Contains(stderr, "skipped 1 pattern rule") {
		t.Errorf("export --skip-unsupported: exit %d, want 0 and a warning:\n%s", code, stderr)
	}

	code, out, stderr = redirc(t, "diff", ba, bb)
	if code != 1 || !strings.Contains(out, "pattern rules") {
		t.Errorf("diff of builds whose pattern rules differ: exit %d, want 1 and the patterns named:\n%s%s", code, out, stderr)
	}
	if code, out, stderr := redirc(t, "diff", ba, ba); code != 0 {
		t.Errorf("diff of a build with itself: exit %d, want 0:\n%s%s", code, out, stderr)
	}
}
