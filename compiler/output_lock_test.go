//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package compiler

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/redirc/redirc/shardfmt"
)

// TestConcurrentWriteDir runs two WriteDir calls into one directory at
// once, 8 times (two CI jobs building into one directory). Regression:
// one build's stale-file removal deleted the other's new shards, and that
// build reported success with an index naming missing files (4 of 8 pairs
// left a build that did not load). Now both succeed and the directory
// always holds one of the two builds, complete.
func TestConcurrentWriteDir(t *testing.T) {
	compile := func(tag string) *Build {
		rs := make([]Rule, 2000)
		for i := range rs {
			rs[i] = Rule{Source: fmt.Sprintf("/%s/%d", tag, i), Destination: "/to/" + tag, Status: 301, Pos: Pos{tag, i + 1}}
		}
		b, _, err := Compile(rs, Options{Shards: 32})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	prev := compile("prev")
	pair := [2]*Build{compile("a"), compile("b")}
	var want [2][]byte
	for i, b := range pair {
		var err error
		if want[i], err = b.Index.Marshal(); err != nil {
			t.Fatal(err)
		}
	}
	for trial := range 8 {
		dir := t.TempDir()
		if err := prev.WriteDir(dir); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var errs [2]error
		start := make(chan struct{})
		for i, b := range pair {
			wg.Go(func() {
				<-start
				errs[i] = b.WriteDir(dir)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("trial %d: build %d: %v", trial, i, err)
			}
		}
		if _, err := shardfmt.LoadBuild(dir); err != nil {
			t.Fatalf("trial %d: the directory does not load after two successful builds: %v", trial, err)
		}
		got, err := os.ReadFile(filepath.Join(dir, shardfmt.IndexFileName))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[0]) && !bytes.Equal(got, want[1]) {
			t.Fatalf("trial %d: the index is neither build's:\n%s", trial, got)
		}
	}
}
