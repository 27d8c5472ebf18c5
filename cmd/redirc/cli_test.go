package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func redirc(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(append([]string{"redirc"}, args...), &o, &e)
	return code, o.String(), e.String()
}

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func TestBuildAndLookup(t *testing.T) {
	dir := t.TempDir()
	csv := writeFile(t, dir, "r.csv", `source,destination,statusCode,query
/old,/new,301,
/a,/b,302,
/b,/c,302,
/docs/*,/guide/:splat,308,
/gone,,410,
/café,/coffee,301,
/q,/dest?x=1,307,true
example.com/only,https://example.org/x,301,
`)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := redirc(t, "build", "-o", out, "--json", csv)
	if code != 0 {
		t.Fatalf("build exit %d: %s", code, stderr)
	}
	var sum struct {
		Rules, Shards, Chains int
		BuildID               string
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("summary %q: %v", stdout, err)
	}
	if sum.Rules != 8 || sum.Chains != 1 || len(sum.BuildID) != 32 {
		t.Errorf("summary %+v", sum)
	}
	code, stdout, stderr = redirc(t, "lookup", out,
		"/old", "/A", "/docs/x/y", "/gone", "/caf%C3%A9", "/q?y=2", "https://example.com/only", "http://other.example/only", "/missing")
	if code != 0 {
		t.Fatalf("lookup exit %d: %s", code, stderr)
	}
	want := `301 /new
302 /c
308 /guide/x/y
410 -
301 /coffee
307 /dest?x=1&y=2
301 https://example.org/x
404 -
404 -
`
	if stdout != want {
		t.Errorf("lookup output:\n%s\nwant:\n%s", stdout, want)
	}
}

func TestFailedBuildLeavesOutput(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.tsv", "/a\t/b\n/c\t/d\n")
	out := filepath.Join(dir, "out")
	if code, _, stderr := redirc(t, "build", "-o", out, good); code != 0 {
		t.Fatal(stderr)
	}
	before := snapshot(t, out)
	bad := writeFile(t, dir, "bad.tsv", "/a\t/b\n/x\tjavascript:alert(1)\n/y\t/z\t299\n/l1\t/l2\n/l2\t/l1\n")
	code, _, stderr := redirc(t, "build", "-o", out, bad)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	for _, want := range []string{"bad.tsv:2:", "bad.tsv:3:", "redirect loop: /l1 (" + bad + ":4) -> /l2 (" + bad + ":5) -> /l1", "left unchanged"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	after := snapshot(t, out)
	if len(after) != len(before) {
		t.Fatalf("files changed: %d -> %d", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed", k)
		}
	}
}

func TestCheckOutputs(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "r.tsv", "/a\t/b\n/a\t/c\n/ok\t/fine\n")
	code, stdout, _ := redirc(t, "check", "--output", "github", f)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if want := "::error file=" + ghProp(f) + ",line=2::conflicting rule: /a is already defined at " + f + ":1"; !strings.HasPrefix(stdout, want) {
		t.Errorf("github output %q, want prefix %q", stdout, want)
	}
	for _, flags := range [][]string{{"--output", "json"}, {"--output-format", "json"}, {"--json"}} {
		code, stdout, _ = redirc(t, append(append([]string{"check"}, flags...), f)...)
		var doc struct {
			OK       bool
			Problems []map[string]any
		}
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil || code != 1 || doc.OK || len(doc.Problems) != 1 || doc.Problems[0]["line"] != 2.0 {
			t.Errorf("%v: json output %q (exit %d, err %v)", flags, stdout, code, err)
		}
	}
	ok := writeFile(t, dir, "ok.tsv", "/a\t/b\n")
	if code, _, stderr := redirc(t, "check", ok); code != 0 || !strings.Contains(stderr, "checked 1 rule in 1 file: 0 errors, 0 warnings") {
		t.Errorf("clean check: exit %d, %s", code, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "r.tsv", "/a\t/b\n")
	for _, args := range [][]string{
		{"build", f},                      // no -o
		{"build", "-o", dir},              // no files
		{"build", "--nope", "-o", dir, f}, // unknown flag
		{"build", "-o", dir, "--format", "xml", f},
		{"build", "-o", dir, "--default-status", "200", f},
		{"lookup", dir},
		{"check"},
		{"frobnicate"},
	} {
		if code, _, stderr := redirc(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
	if code, _, _ := redirc(t, "lookup", filepath.Join(dir, "missing"), "/a"); code != 1 {
		t.Errorf("lookup of a missing build: exit %d, want 1", code)
	}
	if code, stdout, _ := redirc(t, "build", "--help"); code != 0 || !strings.Contains(stdout, "--strict-trailing-slash") {
		t.Errorf("build --help: exit %d\n%s", code, stdout)
	}
}

func TestSplitTarget(t *testing.T) {
	for in, want := range map[string][3]string{
		"/a?b=1#f":                   {"", "/a", "b=1"},
		"https://Example.com/x?y":    {"Example.com", "/x", "y"},
		"http://example.com":         {"example.com", "/", ""},
		"http://example.com?q":       {"example.com", "/", "q"},
		"/caf%C3%A9":                 {"", "/caf%C3%A9", ""},
		"/path/with://inside":        {"", "/path/with://inside", ""},
		"https://h.example:8443/p/q": {"h.example:8443", "/p/q", ""},
	} {
		h, p, q := splitTarget(in)
		if [3]string{h, p, q} != want {
			t.Errorf("splitTarget(%q) = %q %q %q, want %v", in, h, p, q, want)
		}
	}
}
