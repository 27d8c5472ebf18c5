package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Progress goes to stderr only with --progress when stderr is not a
// terminal, and names the stages.
func TestBuildProgress(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "r.tsv", "/a\t/b\n/c\t/d\n")
	code, _, stderr := redirc(t, "build", "-o", filepath.Join(dir, "out1"), f)
	if code != 0 {
		t.Fatal(stderr)
	}
	if strings.Contains(stderr, "rules read") {
		t.Errorf("progress without --progress on a pipe:\n%s", stderr)
	}
	code, _, stderr = redirc(t, "build", "--progress", "-o", filepath.Join(dir, "out2"), f)
	if code != 0 {
		t.Fatal(stderr)
	}
	for _, want := range []string{"reading: 0 rules read", "checking: 2 rules read", "writing: "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("--progress: stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.HasSuffix(stderr, "\n") || strings.Contains(stderr, "\r") {
		t.Errorf("--progress on a pipe writes whole lines:\n%q", stderr)
	}
	// Neither build left its spill directory beside the output.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".redirc-spill-") {
			t.Errorf("%s left behind", e.Name())
		}
	}
}

// A build from a file (CompileFiles) and from standard input (Compile)
// give the same build and the same problems.
func TestBuildFileMatchesStdin(t *testing.T) {
	dir := t.TempDir()
	data := "source,destination,statusCode\n/a,/b,301\n/b,/c,301\n/a,/b,301\n/x/*,/y/:splat,308\n/gone,,410\n"
	f := writeFile(t, dir, "r.csv", data)
	code, stdout1, stderr1 := redirc(t, "build", "-o", filepath.Join(dir, "file"), f)
	if code != 0 {
		t.Fatal(stderr1)
	}
	old := os.Stdin
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { w.WriteString(data); w.Close() }()
	os.Stdin = r
	defer func() { os.Stdin = old }()
	code, stdout2, stderr2 := redirc(t, "build", "--format", "csv", "-o", filepath.Join(dir, "stdin"), "-")
	if code != 0 {
		t.Fatal(stderr2)
	}
	a, b := snapshot(t, filepath.Join(dir, "file")), snapshot(t, filepath.Join(dir, "stdin"))
	if len(a) != len(b) {
		t.Fatalf("%d files vs %d", len(a), len(b))
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s differs", k)
		}
	}
	norm := func(s, name string) string {
		s = strings.ReplaceAll(s, name, "M")
		if i := strings.Index(s, " in "); i >= 0 {
			s = s[:i] // the duration
		}
		return strings.ReplaceAll(s, filepath.Join(dir, "stdin"), filepath.Join(dir, "file"))
	}
	if norm(stdout1+stderr1, f) != norm(stdout2+stderr2, "<stdin>") {
		t.Errorf("outputs differ:\n%s\n---\n%s", stdout1+stderr1, stdout2+stderr2)
	}
}
