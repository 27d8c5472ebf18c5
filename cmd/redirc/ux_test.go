package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// redircIn is redirc with stdin.
func redircIn(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = runIO(append([]string{"redirc"}, args...), strings.NewReader(stdin), &o, &e)
	return code, o.String(), e.String()
}

// oneJSON decodes stdout, which must hold exactly one JSON document.
func oneJSON(t *testing.T, args []string, stdout string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%v: stdout is not a JSON object: %v\n%s", args, err, stdout)
	}
	var more json.RawMessage
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		t.Fatalf("%v: more than one JSON document on stdout (%v):\n%s", args, err, stdout)
	}
	return doc
}

func TestJSONOneDocument(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.csv", "source,destination\n/a,/b\n/b,/c\n")
	bad := writeFile(t, dir, "bad.csv", "source,destination\n/a,/b\n/a,/c\n/x,javascript:alert(1)\n")
	out := filepath.Join(dir, "out")
	if code, _, stderr := redirc(t, "build", "-o", out, good); code != 0 {
		t.Fatal(stderr)
	}
	for _, c := range []struct {
		args     []string
		code     int
		ok       bool
		problems int // -1: do not look
		errHas   string
	}{
		{[]string{"build", "-o", filepath.Join(dir, "o1"), "--json", good}, 0, true, 0, ""},
		{[]string{"build", "-o", filepath.Join(dir, "o2"), "--json", bad}, 1, false, 2, "build failed: 2 errors, 0 warnings"},
		{[]string{"build", "-o", filepath.Join(dir, "o3"), "--problems", "json", "--json", bad}, 1, false, 2, "build failed"},
		{[]string{"build", "-o", filepath.Join(dir, "o4"), "--output-format", "json", filepath.Join(dir, "missing.csv")}, 1, false, 0, "missing.csv"},
		{[]string{"build", "--json", good}, 2, false, 0, "Required flag \"output\""},
		{[]string{"build", "-o", filepath.Join(dir, "o5"), "--json", "--no-such-flag", good}, 2, false, 0, "no-such-flag"},
		{[]string{"check", "--json", good}, 0, true, 0, ""},
		{[]string{"check", "--json", bad}, 1, false, 2, "check failed: 2 errors, 0 warnings"},
		{[]string{"check", "--json"}, 2, false, 0, "no manifest given"},
		{[]string{"check", "--json", "--format", "yaml", good}, 2, false, 0, "unknown --format"},
		{[]string{"check", "--json", dir}, 2, false, 0, "is a directory"},
		{[]string{"diff", "--json", out, bad}, 2, false, 2, "has errors"},
		{[]string{"diff", "--json", out, filepath.Join(dir, "nope")}, 2, false, 0, "nope"},
		{[]string{"inspect", "--json", filepath.Join(dir, "nope")}, 1, false, 0, "nope"},
		{[]string{"inspect", "--json", out}, 0, true, -2, ""},
		{[]string{"diff", "--json", out, good}, 0, true, -2, ""},
	} {
		code, stdout, stderr := redirc(t, c.args...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d\n%s", c.args, code, c.code, stderr)
		}
		doc := oneJSON(t, c.args, stdout)
		if ok, _ := doc["ok"].(bool); ok != c.ok {
			t.Errorf("%v: ok = %v, want %v: %s", c.args, doc["ok"], c.ok, stdout)
		}
		probs, isList := doc["problems"].([]any)
		if c.problems == -2 { // a document without problems
			isList = true
		}
		if !isList || (c.problems >= 0 && len(probs) != c.problems) {
			t.Errorf("%v: problems %v, want %d", c.args, doc["problems"], c.problems)
		}
		if e, _ := doc["error"].(string); !strings.Contains(e, c.errHas) || (c.errHas == "") != (e == "") {
			t.Errorf("%v: error %q, want it to contain %q", c.args, e, c.errHas)
		}
	}
	// build --json keeps its summary fields at the top level.
	_, stdout, _ := redirc(t, "build", "-o", filepath.Join(dir, "o6"), "--json", good)
	doc := oneJSON(t, nil, stdout)
	if doc["rules"] != 2.0 || doc["chains"] != 1.0 || doc["buildId"] == "" || doc["command"] != "build" {
		t.Errorf("build summary %s", stdout)
	}
}

func TestOutputFormatFlags(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "r.tsv", "/a\t/b\n/a\t/c\n")
	ann := "::error file=" + ghProp(f) + ",line=2::conflicting rule"
	for _, args := range [][]string{
		{"check", "--output-format", "github", f},
		{"check", "--output", "github", f}, // older name, hidden
		{"build", "-o", filepath.Join(dir, "out"), "--output-format", "github", f},
		{"build", "-o", filepath.Join(dir, "out"), "--problems", "github", f}, // older name, hidden
	} {
		code, stdout, stderr := redirc(t, args...)
		if code != 1 || !strings.HasPrefix(stdout, ann) {
			t.Errorf("%v: exit %d, stdout %q, want %q\n%s", args, code, stdout, ann, stderr)
		}
	}
	for _, args := range [][]string{
		{"check", "--json", "--output-format", "github", f},
		{"check", "--output", "json", "--output-format", "github", f},
		{"build", "-o", filepath.Join(dir, "out"), "--problems", "text", "--json", f},
		{"check", "--output-format", "xml", f},
		{"diff", "--json", "--output-format", "text", f, f},
	} {
		if code, _, stderr := redirc(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, stderr)
		}
	}
	// The older names are hidden from --help; the new ones are shown.
	for _, cmd := range []string{"build", "check", "diff"} {
		_, stdout, _ := redirc(t, cmd, "--help")
		if !strings.Contains(stdout, "--output-format") || !strings.Contains(stdout, "--json") || strings.Contains(stdout, "--problems") {
			t.Errorf("%s --help:\n%s", cmd, stdout)
		}
		if cmd != "build" && strings.Contains(stdout, "--output value") {
			t.Errorf("%s --help shows --output:\n%s", cmd, stdout)
		}
	}
	// -v means --verbose (list flattened chains) in check as in build.
	chain := writeFile(t, dir, "chain.csv", "source,destination\n/a,/b\n/b,/c\n")
	for _, args := range [][]string{{"check", "-v", chain}, {"build", "-o", filepath.Join(dir, "o2"), "-v", chain}} {
		if code, _, stderr := redirc(t, args...); code != 0 || !strings.Contains(stderr, "chain flattened: ") {
			t.Errorf("%v: exit %d, stderr lacks the chain:\n%s", args, code, stderr)
		}
	}
}

func TestStdin(t *testing.T) {
	dir := t.TempDir()
	csv := "source,destination\n/a,/b\n/c,/d\n"
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{csv, []string{"check", "-"}, 0, "checked 2 rules in 1 file"},
		{csv, []string{"check", "--format", "csv", "-"}, 0, "checked 2 rules"},
		{"/a /b 301\n/c /d\n", []string{"check", "-"}, 0, "checked 2 rules"},
		{`[{"source":"/a","destination":"/b"}]`, []string{"check", "-"}, 0, "checked 1 rule "},
		{"source,destination\n/a,/b\n/a,/c\n", []string{"check", "-"}, 1, "<stdin>:3: error: conflicting rule"},
		{"a b c\n", []string{"check", "-"}, 2, "cannot tell the format of standard input from its first bytes; name the format with --format"},
		{csv, []string{"check", "-", "-"}, 2, "given 2 times"},
		{csv, []string{"build", "-o", out, "-"}, 0, "built 2 rules"},
	} {
		code, _, stderr := redircIn(t, c.stdin, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v with %q: exit %d, want %d and %q:\n%s", c.args, c.stdin, code, c.code, c.want, stderr)
		}
	}
	code, stdout, stderr := redircIn(t, "source,destination\n/a,/b\n/c,/e\n", "diff", out, "-")
	if code != 1 || !strings.Contains(stdout, "~ /c: 307 /d -> 307 /e") {
		t.Errorf("diff from stdin: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestArgumentIsDirectory(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "r.csv", "source,destination\n/a,/b\n")
	out := filepath.Join(dir, "out")
	redirc(t, "build", "-o", out, f)
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check", empty}, "redirc: " + empty + ": is a directory, not a manifest\n"},
		{[]string{"check", "--format", "csv", empty}, empty + ": is a directory"},
		{[]string{"build", "-o", filepath.Join(dir, "o2"), out}, out + ": is a directory, not a manifest (it holds a build: see redirc inspect"},
	} {
		code, _, stderr := redirc(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, want 2 and %q:\n%s", c.args, code, c.want, stderr)
		}
	}
}

func TestUnknownFormatIsUsageError(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "r.csv", "source,destination\n/a,/b\n")
	y := writeFile(t, dir, "r.yaml", "/a: /b\n")
	for _, args := range [][]string{
		{"check", "--format", "yaml", f},
		{"build", "-o", filepath.Join(dir, "out"), "--format", "xml", f},
		{"check", y},
		{"diff", "--format", "yaml", f, f},
	} {
		if code, _, stderr := redirc(t, args...); code != 2 || !strings.Contains(stderr, "--format") {
			t.Errorf("%v: exit %d, want 2 and a word about --format:\n%s", args, code, stderr)
		}
	}
}

func TestProblemOrder(t *testing.T) {
	dir := t.TempDir()
	// Given z.csv first: its problems come first, then a.csv's, each by
	// line, readers' and compiler's problems interleaved.
	z := writeFile(t, dir, "z.csv", "source,destination\n/z1,/y\n/z1,/w\n/z3,\n/x,javascript:1\n")
	a := writeFile(t, dir, "a.csv", "source,destination\n/a,\n/a2,/b\n/a2,/c\n")
	_, _, stderr := redirc(t, "check", z, a)
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if i := strings.Index(l, ": error:"); i > 0 {
			got = append(got, filepath.Base(l[:i]))
		}
	}
	want := "z.csv:3 z.csv:4 z.csv:5 a.csv:2 a.csv:4"
	if strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s\n%s", got, want, stderr)
	}
	_, stdout, _ := redirc(t, "check", "--json", z, a)
	var doc checkDoc
	json.Unmarshal([]byte(stdout), &doc)
	got = got[:0]
	for _, p := range doc.Problems {
		got = append(got, filepath.Base(p.File)+":"+itoa(p.Line))
	}
	if strings.Join(got, " ") != want {
		t.Errorf("json order %v, want %s", got, want)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestDidYouMeanField(t *testing.T) {
	dir := t.TempDir()
	csv := writeFile(t, dir, "r.csv", "source,destinaton\n/a,/b\n")
	js := writeFile(t, dir, "r.json", `[{"source":"/a","destinaton":"/b"}]`)
	for _, f := range []string{csv, js} {
		code, _, stderr := redirc(t, "check", f)
		if code != 1 || !strings.Contains(stderr, `unknown field "destinaton"`) || !strings.Contains(stderr, `did you mean "destination"?`) {
			t.Errorf("%s: exit %d:\n%s", f, code, stderr)
		}
	}
}

func TestBinaryInput(t *testing.T) {
	dir := t.TempDir()
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + strings.Repeat("\x00\xff\x13", 1000)
	f := writeFile(t, dir, "logo.csv", png)
	shard := writeFile(t, dir, "_redirects", "RDX1\x00\x01\x02")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check", f}, "redirc: " + f + ": binary data (NUL byte at offset 8), not a manifest\n"},
		{[]string{"build", "-o", filepath.Join(dir, "out"), shard}, "redirc: " + shard + ": binary data (NUL byte at offset 4), not a manifest\n"},
	} {
		code, stdout, stderr := redirc(t, c.args...)
		if code != 1 || stderr != c.want || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
	}
	code, _, stderr := redircIn(t, "\x1f\x8b\x08\x00\x00\x00", "check", "--format", "csv", "-")
	if code != 1 || !strings.Contains(stderr, "<stdin>: binary data (NUL byte at offset 3), not a manifest; it looks like gzip") {
		t.Errorf("gzip on stdin: exit %d: %s", code, stderr)
	}
}

func TestPlurals(t *testing.T) {
	dir := t.TempDir()
	one := writeFile(t, dir, "one.csv", "source,destination\n/a,/b\n/a,/b\n")
	two := writeFile(t, dir, "two.csv", "source,destination\n/a,/b\n/a,/b\n/a,/b\n/c,/d\n/e,/f\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check", one}, "checked 2 rules in 1 file: 0 errors, 1 warning\n"},
		{[]string{"check", two, one}, "checked 7 rules in 2 files: 0 errors, 4 warnings\n"},
		{[]string{"build", "-o", filepath.Join(dir, "o1"), one}, "built 1 rule (2 read) into 1 shard, "},
		{[]string{"build", "-o", filepath.Join(dir, "o1"), one}, "; 0 chains flattened, 1 warning; wrote 0 shard files to "},
		{[]string{"build", "-o", filepath.Join(dir, "o2"), two}, "built 3 rules (5 read) into 1 shard, "},
		{[]string{"build", "-o", filepath.Join(dir, "o2b"), two}, "; 0 chains flattened, 2 warnings; wrote 1 shard file to "},
	} {
		if _, _, stderr := redirc(t, c.args...); !strings.Contains(stderr, c.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", c.args, c.want, stderr)
		}
	}
	bad := writeFile(t, dir, "bad.csv", "source,destination\n/a,/b\n/a,/c\n")
	if _, _, stderr := redirc(t, "build", "-o", filepath.Join(dir, "o3"), bad); !strings.Contains(stderr, "build failed: 1 error, 0 warnings;") {
		t.Errorf("failed build: %s", stderr)
	}
}

func TestWantsJSON(t *testing.T) {
	for _, c := range []struct {
		args string
		want bool
	}{
		{"redirc build --json -o out x.csv", true},
		{"redirc build --problems json -o out x.csv", true},
		{"redirc build --problems=json -o out x.csv", true},
		{"redirc check --output json x.csv", true},
		{"redirc diff --output-format=json a b", true},
		{"redirc check --json=false x.csv", false},
		{"redirc shorten --output json --state s.csv in.csv", false}, // -o names a file there
		{"redirc build -o json x.csv", false},
		{"redirc check -- --json", false},
		{"redirc inspect --json out", true},
	} {
		if got := wantsJSON(strings.Fields(c.args)); got != c.want {
			t.Errorf("wantsJSON(%s) = %v, want %v", c.args, got, c.want)
		}
	}
}

func TestPluralsShorten(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "links.csv", "url\nhttps://example.com/a\njavascript:alert(1)\n")
	code, _, stderr := redirc(t, "shorten", "--state", filepath.Join(dir, "s.csv"), "-o", filepath.Join(dir, "m.csv"), in)
	if code != 1 || !strings.Contains(stderr, "shorten: 1 row refused;") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
}
