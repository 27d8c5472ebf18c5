package compiler

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/redirc/redirc/shardfmt"
)

// TestWriteDirDoesNotFollowSymlinks: symbolic links planted in the output
// directory under the names the build writes are replaced, never written
// through, so a build cannot be tricked into writing outside its directory.
func TestWriteDirDoesNotFollowSymlinks(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	outside := filepath.Join(dir, "outside")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	const victim = "do not touch\n"
	if err := os.WriteFile(outside, []byte(victim), 0o644); err != nil {
		t.Fatal(err)
	}
	b, _, err := Compile(synthRules(100), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{shardfmt.IndexFileName, b.Index.Shards[0].File} {
		if err := os.Symlink(outside, filepath.Join(out, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.WriteDir(out); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(outside); string(got) != victim {
		t.Fatalf("the file outside the output directory was changed: %q", got)
	}
	for _, name := range []string{shardfmt.IndexFileName, b.Index.Shards[0].File} {
		fi, err := os.Lstat(filepath.Join(out, name))
		if err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s is not a regular file after the build: %v %v", name, fi, err)
		}
	}
	if _, err := shardfmt.LoadBuild(out); err != nil {
		t.Fatal(err)
	}
}
