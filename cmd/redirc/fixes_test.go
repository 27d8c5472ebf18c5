package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestAllowEmpty: a manifest with no rules fails build and check unless
// --allow-empty, and the error names the file and the flag.
func TestAllowEmpty(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "_redirects", "# nothing yet\n")
	out := filepath.Join(dir, "out")
	code, _, stderr := redirc(t, "build", "-o", out, f)
	if code != 1 || !strings.Contains(stderr, f+": error: no rules") || !strings.Contains(stderr, "--allow-empty") {
		t.Fatalf("build exit %d: %s", code, stderr)
	}
	if code, _, stderr = redirc(t, "check", f); code != 1 || !strings.Contains(stderr, "--allow-empty") {
		t.Fatalf("check exit %d: %s", code, stderr)
	}
	if code, _, stderr = redirc(t, "build", "--allow-empty", "-o", out, f); code != 0 {
		t.Fatalf("build --allow-empty exit %d: %s", code, stderr)
	}
	// A reader error is the reason there are no rules: not also reported.
	bad := writeFile(t, dir, "bad_redirects", "nope\n")
	if _, _, stderr = redirc(t, "check", "--format", "netlify", bad); strings.Contains(stderr, "no rules") {
		t.Errorf("no rules reported beside the reader's error: %s", stderr)
	}
}

// TestNoFlatten: --no-flatten answers one hop; by default the chain is
// followed, carrying the host of an absolute hop.
func TestNoFlatten(t *testing.T) {
	dir := t.TempDir()
	csv := writeFile(t, dir, "r.csv", "source,destination\na.example/old,https://b.example/mid\nb.example/mid,/old\n")
	for _, tt := range []struct {
		flag, want string
	}{
		{"--verbose", "https://b.example/old"},
		{"--no-flatten", "https://b.example/mid"},
	} {
		out := filepath.Join(dir, tt.flag)
		if code, _, stderr := redirc(t, "build", tt.flag, "-o", out, csv); code != 0 {
			t.Fatalf("build %s exit %d: %s", tt.flag, code, stderr)
		}
		code, stdout, stderr := redirc(t, "lookup", out, "https://a.example/old")
		if code != 0 || !strings.Contains(stdout, tt.want) {
			t.Errorf("%s: lookup exit %d: %q %s, want %s", tt.flag, code, stdout, stderr, tt.want)
		}
	}
}
