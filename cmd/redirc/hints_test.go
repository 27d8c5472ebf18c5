package main

import (
	"strings"
	"testing"

	"github.com/redirc/redirc/compiler"
)

// TestHintsNameFlags checks that the compiler's hints and limit errors,
// which name library options, are printed with the flags that set them,
// in every problem format.
func TestHintsNameFlags(t *testing.T) {
	dir := t.TempDir()
	slash := writeFile(t, dir, "slash.tsv", "/a\t/b\n/a/\t/c\n")
	notab := writeFile(t, dir, "notab.tsv", "/a /b 301\n")
	long := writeFile(t, dir, "long.json", `[{"source":"/a","destination":"/`+strings.Repeat("b", 200)+`"}]`)
	trailing := writeFile(t, dir, "two.json", "[]\n{}\n")
	unknown := writeFile(t, dir, "rules.yaml", "/a: /b\n")
	for _, c := range []struct {
		args []string
		want string // on stderr, or stdout for --output json and github
		code int    // 0 means 1
	}{
		{[]string{"check", slash}, slash + ":2: error: conflicting rule: /a/ is already defined at " + slash +
			":1 (301 /b) but here it is 301 /c (paths that differ only by a trailing slash are one path unless built with --strict-trailing-slash)", 0},
		{[]string{"check", notab}, notab + ":1: error: no tab: TSV lines are SOURCE<TAB>DESTINATION[<TAB>STATUS] (for a Netlify _redirects file use --format netlify)", 0},
		{[]string{"check", trailing}, "(for one rule object per line use --format jsonl)", 0},
		{[]string{"check", "--output", "json", slash}, "unless built with --strict-trailing-slash)", 0},
		{[]string{"check", "--output", "github", notab}, "use --format netlify)", 0},
		{[]string{"check", "--max-line-bytes", "100", long}, "redirc: " + long + ":1: rule object of 233 bytes is longer than 100 bytes (--max-line-bytes)", 0},
		// An unknown format is a usage error.
		{[]string{"build", "-o", dir + "/out", unknown}, `cannot tell the format of "` + unknown + `" from its name`, 2},
		{[]string{"check", unknown}, "; name the format with --format csv|json|jsonl|netlify|tsv", 2},
	} {
		code, stdout, stderr := redirc(t, c.args...)
		if want := max(c.code, 1); code != want {
			t.Errorf("%v: exit %d, want %d\n%s", c.args, code, want, stderr)
		}
		if !strings.Contains(stdout+stderr, c.want) {
			t.Errorf("%v: output lacks %q:\n%s%s", c.args, c.want, stdout, stderr)
		}
		for _, lib := range []string{"StrictTrailingSlash", "MaxLineBytes", "Format netlify", "Format jsonl"} {
			if strings.Contains(stdout+stderr, lib) {
				t.Errorf("%v: output names the library option %s:\n%s%s", c.args, lib, stdout, stderr)
			}
		}
	}
}

// TestFlagNames checks that every option the compiler's messages can name
// has a flag.
func TestFlagNames(t *testing.T) {
	for o := compiler.OptionFormat; o <= compiler.OptionStrictTrailingSlash; o++ {
		if f := flagName(o); !strings.HasPrefix(f, "--") {
			t.Errorf("option %v has no flag (got %q)", o, f)
		}
	}
}

// TestReservedPathWarning checks that build and check pass serve's admin
// paths to the compiler: a rule there is a warning, and the build goes on.
func TestReservedPathWarning(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "r.tsv", "/.redirc/healthz\t/x\n/.redirection\t/y\n/.redirc/other\t/z\n")
	want := f + ":1: warning: /.redirc/healthz matches /.redirc/healthz, where redirc serve answers it itself (unless it runs with --admin-addr or another --admin-prefix)\n"
	for _, args := range [][]string{{"check", f}, {"build", "-o", dir + "/out", f}} {
		code, _, stderr := redirc(t, args...)
		if code != 0 || !strings.Contains(stderr, want) || strings.Count(stderr, "warning:") != 1 {
			t.Errorf("%v: exit %d, want 0 and one warning %q:\n%s", args, code, want, stderr)
		}
	}
}
