package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShortenBuildLookup(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "links.csv", "url,alias,expires,status,tags\n"+
		"https://example.com/a,,,,campaign\n"+
		"https://example.com/b,docs,,301,\n"+
		"https://example.com/c,,2020-01-01T00:00:00Z,,\n")
	state, man, out := filepath.Join(dir, "state.csv"), filepath.Join(dir, "redirects.csv"), filepath.Join(dir, "out")
	code, _, stderr := redirc(t, "shorten", "--state", state, "-o", man, in)
	if code != 0 {
		t.Fatalf("shorten exit %d: %s", code, stderr)
	}
	before := snapshot(t, dir)
	code, _, stderr = redirc(t, "shorten", "--state", state, "-o", man, in)
	if code != 0 || !strings.Contains(stderr, "unchanged") {
		t.Fatalf("second run exit %d: %s", code, stderr)
	}
	if after := snapshot(t, dir); after[state[len(dir)+1:]] != before[state[len(dir)+1:]] || after["redirects.csv"] != before["redirects.csv"] {
		t.Fatal("a second run on the same input changed the files")
	}
	if code, _, stderr = redirc(t, "build", "-o", out, man); code != 0 {
		t.Fatalf("build of the manifest: exit %d: %s", code, stderr)
	}
	if code, stdout, _ := redirc(t, "lookup", out, "/docs"); code != 0 || !strings.Contains(stdout, "301 https://example.com/b") {
		t.Fatalf("lookup /docs: %d %q", code, stdout)
	}
	// The expired link answers 410.
	st, _ := os.ReadFile(state)
	var cCode string
	for _, l := range strings.Split(string(st), "\n") {
		if strings.Contains(l, "https://example.com/c") {
			cCode = strings.Split(l, ",")[0]
		}
	}
	if code, stdout, _ := redirc(t, "lookup", out, "/"+cCode); !strings.HasPrefix(stdout, "410") {
		t.Fatalf("expired /%s: %d %q", cCode, code, stdout)
	}
}

func TestShortenRefusalsNameFileLine(t *testing.T) {
	dir := t.TempDir()
	block := writeFile(t, dir, "block.txt", "# words\nbadword\n")
	in := writeFile(t, dir, "links.csv", "url,alias\nhttps://example.com/a,.redirc/metrics\nhttps://example.com/b,my-badword\nnot-a-url,\n")
	state, man := filepath.Join(dir, "state.csv"), filepath.Join(dir, "m.csv")
	code, _, stderr := redirc(t, "shorten", "--state", state, "-o", man, "--blocklist", block, in)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	for _, want := range []string{in + ":2: alias \".redirc/metrics\"", in + ":4: url \"not-a-url\""} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if _, err := os.Stat(state); err == nil {
		t.Fatal("a refused run wrote the state")
	}
	// Alias checks that need the state run once the input reads cleanly.
	in2 := writeFile(t, dir, "l2.csv", "url,alias\nhttps://example.com/b,my-badword\n")
	code, _, stderr = redirc(t, "shorten", "--state", state, "-o", man, "--blocklist", block, in2)
	if code != 1 || !strings.Contains(stderr, in2+":2: alias \"my-badword\" contains the blocked word \"badword\"") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestShortenUsage(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "links.csv", "url\nhttps://example.com/a\n")
	for _, args := range [][]string{
		{"shorten", "-o", "m.csv", in},
		{"shorten", "--state", "s.csv", "-o", "m.csv"},
		{"shorten", "--state", "s.csv", "-o", "m.csv", "--codes", "uuid", in},
		{"shorten", "--state", "s.csv", "-o", "m.csv", "--status", "307x", in},
		{"shorten", "--state", "s.csv", "-o", "m.csv", "--status", "410", in},
		{"shorten", "--state", "s.csv", "-o", "m.csv", "--alphabet", "a", in},
		{"shorten", "--state", "s.csv", "-o", "m.csv", "--reserve", "10", in},
	} {
		if code, _, stderr := redirc(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
}

func TestShortenCounter(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "links.csv", "url\nhttps://example.com/a\nhttps://example.com/b\n")
	state, man := filepath.Join(dir, "state.csv"), filepath.Join(dir, "m.csv")
	code, _, stderr := redirc(t, "shorten", "--state", state, "-o", man, "--codes", "counter", "--writer", "ci", "--reserve", "100", "--length", "3", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	st, _ := os.ReadFile(state)
	for _, want := range []string{"#counter next=100\n", "#block writer=ci first=0 last=99\n", "222,https://example.com/a,302,,,counter:0,active\n", "223,https://example.com/b,302,,,counter:1,active\n"} {
		if !strings.Contains(string(st), want) {
			t.Errorf("state lacks %q:\n%s", want, st)
		}
	}
}

func TestShortenDryRunAndHost(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "links.csv", "url,alias\nhttps://example.com/a,a\n")
	state, man := filepath.Join(dir, "state.csv"), filepath.Join(dir, "m.csv")
	code, _, stderr := redirc(t, "shorten", "--state", state, "-o", man, "-n", in)
	if code != 0 || !strings.Contains(stderr, "would write") || !strings.Contains(stderr, "added   /a -> https://example.com/a") {
		t.Fatalf("dry run: %d %s", code, stderr)
	}
	if _, err := os.Stat(state); err == nil {
		t.Fatal("a dry run wrote the state")
	}
	if code, _, stderr = redirc(t, "shorten", "--state", state, "-o", man, "--host", "sho.rt", in); code != 0 {
		t.Fatal(stderr)
	}
	if m, _ := os.ReadFile(man); !strings.Contains(string(m), "\nsho.rt/a,https://example.com/a,302,true,\n") {
		t.Fatalf("manifest with --host:\n%s", m)
	}
	out := filepath.Join(dir, "out")
	if code, _, stderr = redirc(t, "build", "-o", out, man); code != 0 {
		t.Fatal(stderr)
	}
	if _, stdout, _ := redirc(t, "lookup", out, "https://sho.rt/a"); !strings.HasPrefix(stdout, "302 https://example.com/a") {
		t.Fatalf("lookup: %q", stdout)
	}
}

// TestShortenExample keeps examples/shorten working.
func TestShortenExample(t *testing.T) {
	dir := t.TempDir()
	state, man, out := filepath.Join(dir, "s.csv"), filepath.Join(dir, "m.csv"), filepath.Join(dir, "out")
	ex := filepath.Join("..", "..", "examples", "shorten")
	if code, _, stderr := redirc(t, "shorten", "--state", state, "-o", man, "--blocklist", filepath.Join(ex, "blocklist.txt"), filepath.Join(ex, "links.csv")); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := redirc(t, "build", "-o", out, man); code != 0 {
		t.Fatal(stderr)
	}
	if _, stdout, _ := redirc(t, "lookup", out, "/launch"); !strings.HasPrefix(stdout, "302 https://example.com/blog/2026/launch") {
		t.Fatalf("lookup /launch: %q", stdout)
	}
}
