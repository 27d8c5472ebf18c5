//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/redirc/redirc/shardfmt"
)

// TestConcurrentBuilds runs two `redirc build -o DIR` processes at once
// into one directory (two CI jobs), 8 times. Regression: one build could
// delete the other's new shards, and that build succeeded with an index
// naming missing files. Both must succeed and leave one of the two
// builds, complete. (Processes, not goroutines: the CLI's flag definitions
// are package state, and the lock must work across processes.)
func TestConcurrentBuilds(t *testing.T) {
	dir := t.TempDir()
	var inputs [2]string
	for i := range inputs {
		var b strings.Builder
		for j := range 3000 {
			fmt.Fprintf(&b, "/%d/%d\t/to/%d\n", i, j, i)
		}
		inputs[i] = writeFile(t, dir, fmt.Sprintf("in%d.tsv", i), b.String())
	}
	for trial := range 8 {
		out := filepath.Join(dir, fmt.Sprintf("out%d", trial))
		var wg sync.WaitGroup
		var codes [2]int
		var stderrs [2]string
		for i := range inputs {
			wg.Go(func() {
				codes[i], stderrs[i] = redircProcess(t, "build", "-o", out, "--shards", "16", inputs[i])
			})
		}
		wg.Wait()
		for i := range codes {
			if codes[i] != 0 {
				t.Fatalf("trial %d: build %d exit %d: %s", trial, i, codes[i], stderrs[i])
			}
		}
		b, err := shardfmt.LoadBuild(out)
		if err != nil {
			t.Fatalf("trial %d: the output does not load after two successful builds: %v", trial, err)
		}
		if b.Index.Rules != 3000 {
			t.Fatalf("trial %d: %d rules, want 3000", trial, b.Index.Rules)
		}
		if _, err := os.Stat(filepath.Join(out, shardfmt.IndexFileName)); err != nil {
			t.Fatal(err)
		}
	}
}

// redircProcess runs the CLI in a child process (this test binary, through
// TestRedircProcessHelper) and returns its exit code and standard error.
func redircProcess(t *testing.T, args ...string) (code int, stderr string) {
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestRedircProcessHelper$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "REDIRC_PROCESS_HELPER=1")
	var e bytes.Buffer
	cmd.Stderr = &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, e.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), e.String()
	default:
		t.Error(err)
		return -1, e.String()
	}
}

// TestRedircProcessHelper is the child process of redircProcess; it does
// nothing in a normal test run.
func TestRedircProcessHelper(t *testing.T) {
	if os.Getenv("REDIRC_PROCESS_HELPER") != "1" {
		t.Skip("only run as a child process")
	}
	os.Exit(run(append([]string{"redirc"}, flag.Args()...), io.Discard, os.Stderr))
}
