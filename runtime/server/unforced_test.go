package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redirc/redirc/compiler"
)

// TestFallbackDirShadowsUnforced: with a static fallback directory, a rule
// without "!" (unforced) yields to a file at the request path, as on
// Netlify; a forced rule does not, and neither does an unforced one where
// there is no file.
func TestFallbackDirShadowsUnforced(t *testing.T) {
	site := t.TempDir()
	os.WriteFile(filepath.Join(site, "page.html"), []byte("the page"), 0o644)
	os.WriteFile(filepath.Join(site, "forced.html"), []byte("forced page"), 0o644)
	os.Mkdir(filepath.Join(site, "docs"), 0o755)
	os.WriteFile(filepath.Join(site, "docs", "index.html"), []byte("docs home"), 0o644)
	os.Mkdir(filepath.Join(site, "bare"), 0o755) // no index.html: not a file
	fb, err := FallbackDir(site)
	if err != nil {
		t.Fatal(err)
	}
	rs, ps, err := compiler.Read("_redirects", strings.NewReader(
		"/page.html /new 301\n/forced.html /new 301!\n/gone.html /new 301\n/docs/ /elsewhere\n/bare /x\n"), compiler.ReadOptions{})
	if err != nil || len(ps) != 0 {
		t.Fatalf("read: %v %v", ps, err)
	}
	b, ps, err := compiler.Compile(rs, compiler.Options{})
	if err != nil {
		t.Fatalf("compile: %v %v", err, ps)
	}
	dir := t.TempDir()
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	s, _ := newServer(t, dir, Options{Fallback: fb})
	for _, c := range []struct {
		path   string
		status int
		body   string
	}{
		{"/page.html", 200, "the page"},
		{"/page.html?x=1", 200, "the page"},
		{"/forced.html", 301, ""},
		{"/gone.html", 301, ""},
		{"/docs/", 200, "docs home"},
		{"/bare", 301, ""},
	} {
		if r := do(s.Handler(), "GET", c.path); r.status != c.status || (c.body != "" && r.body != c.body) {
			t.Errorf("GET %s: %d %q, want %d %q", c.path, r.status, r.body, c.status, c.body)
		}
	}
	// Without a fallback directory every rule answers.
	s2, _ := newServer(t, dir, Options{})
	if r := do(s2.Handler(), "GET", "/page.html"); r.status != 301 {
		t.Errorf("no fallback: GET /page.html: %d", r.status)
	}
}
