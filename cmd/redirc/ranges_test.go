package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/redirc/redirc/shardfmt"
)

// TestBuildFlagRanges checks that --bloom-fp and --shards outside what
// shardfmt accepts are usage errors (exit 2) naming the valid range,
// before anything is read or written, and that the bounds themselves
// build.
func TestBuildFlagRanges(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "r.tsv", "/a\t/b\n/c\t/d\n")
	fpRange := fmt.Sprintf("want a rate from %g to %g", shardfmt.MinBloomFP, shardfmt.MaxBloomFP)
	shardRange := fmt.Sprintf("to %d", shardfmt.MaxShardCount)
	for _, c := range []struct {
		flag, value, want string
	}{
		{"--bloom-fp", "0.9", fpRange}, // was a build error, exit 1
		{"--bloom-fp", "0.51", fpRange},
		{"--bloom-fp", "1e-8", fpRange},
		{"--bloom-fp", "0", fpRange},
		{"--bloom-fp", "-0.1", fpRange},
		{"--bloom-fp", "NaN", fpRange},
		{"--shards", strconv.Itoa(shardfmt.MaxShardCount + 1), shardRange}, // was clamped silently
		{"--shards", "-1", shardRange},
	} {
		out := filepath.Join(dir, "out-"+c.value)
		code, _, stderr := redirc(t, "build", "-o", out, c.flag, c.value, f)
		if code != 2 || !strings.Contains(stderr, c.flag+" ") || !strings.Contains(stderr, c.want) {
			t.Errorf("%s %s: exit %d, want 2 naming %q:\n%s", c.flag, c.value, code, c.want, stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s %s: output written: %v", c.flag, c.value, err)
		}
	}
	for _, fp := range []float64{shardfmt.MinBloomFP, shardfmt.MaxBloomFP} {
		out := filepath.Join(dir, "ok")
		if code, _, stderr := redirc(t, "build", "-o", out, "--bloom-fp", strconv.FormatFloat(fp, 'g', -1, 64), f); code != 0 {
			t.Errorf("--bloom-fp %g: exit %d\n%s", fp, code, stderr)
		}
	}
}
