package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInputLimitFlags checks that every input limit can be set on the
// command line of build and check, and that input over a limit is refused
// with exit code 1, a message naming the file (and line, where there is
// one) and the flag that raises it, and nothing written.
func TestInputLimitFlags(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("a", 200)
	lines := writeFile(t, dir, "lines.tsv", "/a\t/b\n/"+long+"\t/c\n/d\t/e\n")
	big := writeFile(t, dir, "big.tsv", strings.Repeat("/x\t/y\n", 200)) // 1,200 bytes
	src := writeFile(t, dir, "src.csv", "source,destination\n/ok,/fine\n/"+long+",/b\n")
	dst := writeFile(t, dir, "dst.jsonl", `{"source":"/ok","destination":"/fine"}`+"\n"+`{"source":"/a","destination":"/`+long+`"}`+"\n")
	deflt := writeFile(t, dir, "default.tsv", "/"+strings.Repeat("s", 4096)+"\t/b\n/c\t/"+strings.Repeat("d", 8192)+"\n")

	// A decompression bomb: 16 MiB of spaces in a small .gz, against a
	// 1 MiB limit. (Zeros would be refused as binary data at once.)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Repeat([]byte(" "), 16<<20))
	zw.Close()
	bomb := filepath.Join(dir, "bomb.tsv.gz")
	if err := os.WriteFile(bomb, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("bomb: %d compressed bytes expand to 16 MiB", gz.Len())

	for _, c := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"line", []string{"--max-line-bytes", "100", lines},
			[]string{lines + ":2: error: line is longer than 100 bytes; skipped (--max-line-bytes)"}},
		{"input", []string{"--max-input-bytes", "1000", big},
			[]string{big + ": stopped after 1000 bytes: compiler: manifest larger than the input limit (--max-input-bytes); raise the limit"}},
		{"bomb", []string{"--max-input-bytes", "1048576", bomb},
			[]string{bomb + ": stopped after 1048576 bytes", "decompression bomb"}},
		{"source", []string{"--max-source-bytes", "100", src},
			[]string{src + ":3: error: source is 201 bytes long, over the limit of 100 (--max-source-bytes)"}},
		{"destination", []string{"--max-dest-bytes", "100", dst},
			[]string{dst + ":2: error: destination is 201 bytes long, over the limit of 100 (--max-dest-bytes)"}},
		{"defaults", []string{deflt},
			[]string{deflt + ":1: error: source is 4097 bytes long, over the limit of 4096 (--max-source-bytes)",
				deflt + ":2: error: destination is 8193 bytes long, over the limit of 8192 (--max-dest-bytes)"}},
	} {
		for _, cmd := range []string{"build", "check"} {
			t.Run(c.name+"/"+cmd, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out")
				args := append([]string{cmd}, c.args...)
				if cmd == "build" {
					args = append([]string{cmd, "-o", out}, c.args...)
				}
				code, _, stderr := redirc(t, args...)
				if code != 1 {
					t.Fatalf("exit %d, want 1:\n%s", code, stderr)
				}
				for _, w := range c.wants {
					if !strings.Contains(stderr, w) {
						t.Errorf("stderr lacks %q:\n%s", w, stderr)
					}
				}
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Errorf("output directory exists after a refused build: %v", err)
				}
			})
		}
	}

	// Raised limits let the same inputs through.
	out := filepath.Join(dir, "out")
	for _, args := range [][]string{
		{"--max-line-bytes", "300", lines},
		{"--max-input-bytes", "1200", big},
		{"--max-source-bytes", "300", src},
		{"--max-dest-bytes", "300", dst},
	} {
		if code, _, stderr := redirc(t, append([]string{"build", "-o", out}, args...)...); code != 0 {
			t.Errorf("build %v: exit %d\n%s", args, code, stderr)
		}
	}

	// Limits must be positive.
	for _, flag := range []string{"--max-line-bytes", "--max-input-bytes", "--max-source-bytes", "--max-dest-bytes"} {
		for _, cmd := range [][]string{{"build", "-o", out}, {"check"}} {
			args := append(append(cmd, flag, "0"), lines)
			if code, _, stderr := redirc(t, args...); code != 2 || !strings.Contains(stderr, flag) {
				t.Errorf("%v: exit %d, want 2 naming %s:\n%s", args, code, flag, stderr)
			}
		}
	}
}
