//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package compiler

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redirc/redirc/shardfmt"
)

// TestWriteDirLockTimeout: while another writer holds the directory's lock,
// WriteDirContext waits, then fails with ErrDirLocked (and the context's
// error), leaving the directory as it was; once the lock is released the
// write goes through.
func TestWriteDirLockTimeout(t *testing.T) {
	dir := t.TempDir()
	b, _, err := Compile(synthRules(10), Options{})
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := lockDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = b.WriteDirContext(ctx, dir)
	if !errors.Is(err, ErrDirLocked) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), shardfmt.LockFileName) {
		t.Fatalf("WriteDirContext under a held lock = %v, want ErrDirLocked naming the lock file", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("gave up after %v, before the context's deadline", d)
	}
	if _, err := os.Stat(filepath.Join(dir, shardfmt.IndexFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a build was written without the lock: %v", err)
	}
	unlock()
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := shardfmt.LoadBuild(dir); err != nil {
		t.Fatal(err)
	}
}

// TestWriteDirLockFileSymlink: a symbolic link planted under the lock
// file's name is not followed (nothing is created or opened outside the
// directory); the write fails instead.
func TestWriteDirLockFileSymlink(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	outside := filepath.Join(dir, "outside")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(out, shardfmt.LockFileName)); err != nil {
		t.Fatal(err)
	}
	b, _, err := Compile(synthRules(10), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WriteDir(out); err == nil || !strings.Contains(err.Error(), "locking output directory") {
		t.Fatalf("WriteDir with a symlinked lock file = %v, want a locking error", err)
	}
	if _, err := os.Lstat(outside); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the symlink's target was created: %v", err)
	}
}
