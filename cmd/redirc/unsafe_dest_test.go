package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildRefusesUnsafeDestinations: a manifest whose destinations are not
// http(s) URLs or single-slash paths, or hold control bytes, fails
// `redirc check` and `redirc build` with one error per rule naming its
// file:line, and the build writes nothing.
func TestBuildRefusesUnsafeDestinations(t *testing.T) {
	dests := []struct{ dest, msg string }{
		{"javascript:alert(document.cookie)", "neither an http(s) URL nor a path"},
		{"JavaScript:alert(1)", "neither an http(s) URL nor a path"},
		{"data:text/html,<script>alert(1)</script>", "neither an http(s) URL nor a path"},
		{"file:///etc/passwd", "only http and https destinations are allowed"},
		{"ftp://files.example/x", "only http and https destinations are allowed"},
		{"//evil.example/x", "protocol-relative"},
		{`/\evil.example`, "protocol-relative"},
		{"evil.example/x", "neither an http(s) URL nor a path"},
		{"https://:splat.example/", ":splat"},
		{"https://site.example@evil.example/", `'\' or '@'`}, // the host is evil.example
	}
	var b strings.Builder
	b.WriteString("[\n")
	for i, d := range dests {
		sep := ","
		if i == len(dests)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "{\"source\":\"/s/%d/*\",\"destination\":%q}%s\n", i, d.dest, sep)
	}
	b.WriteString("]\n")
	dir := t.TempDir()
	manifest := writeFile(t, dir, "unsafe.json", b.String())
	// Control bytes need a format that can carry them: a CSV quoted field
	// (whose CRLF encoding/csv reads as LF; the field spans lines 2 and 3).
	crlf := writeFile(t, dir, "crlf.csv", "source,destination\n/a,\"/b\r\nSet-Cookie: x=1\"\n/c,\"https://site.example/\x7f\"\n")

	for _, cmd := range []string{"check", "build"} {
		out := filepath.Join(t.TempDir(), "out")
		args := []string{cmd, manifest, crlf}
		if cmd == "build" {
			args = []string{cmd, "-o", out, manifest, crlf}
		}
		code, _, stderr := redirc(t, args...)
		if code != 1 {
			t.Fatalf("%s: exit %d, want 1\n%s", cmd, code, stderr)
		}
		// JSON arrays place each rule on the line its object starts on.
		for i, d := range dests {
			want := fmt.Sprintf("%s:%d: error: ", manifest, i+2)
			if !strings.Contains(stderr, want) || !strings.Contains(stderr, d.msg) {
				t.Errorf("%s: stderr lacks %q ... %q\n%s", cmd, want, d.msg, stderr)
			}
		}
		for _, want := range []string{crlf + ":2: error: destination contains control character '\\n'", crlf + ":4: error: destination contains control character '\\x7f'"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: stderr lacks %q\n%s", cmd, want, stderr)
			}
		}
		if n := strings.Count(stderr, ": error: "); n != len(dests)+2 {
			t.Errorf("%s: %d errors, want %d\n%s", cmd, n, len(dests)+2, stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s: output written: %v", cmd, err)
		}
	}
}
