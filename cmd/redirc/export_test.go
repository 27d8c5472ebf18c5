package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportRoundTrip builds a manifest, exports the build as Netlify and
// Vercel files, builds those, and compares the answers of `redirc lookup`.
func TestExportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	csv := writeFile(t, dir, "r.csv", `source,destination,statusCode
/old,/new,301
/a,/b,302
/b,/c,302
/café,/coffee,301
/see,/other,303
`)
	build := filepath.Join(dir, "build")
	if code, _, stderr := redirc(t, "build", "-o", build, csv); code != 0 {
		t.Fatalf("build: %s", stderr)
	}
	paths := []string{"/old", "/OLD/", "/a", "/b", "/caf%C3%A9", "/see", "/missing"}
	_, want, _ := redirc(t, append([]string{"lookup", build}, paths...)...)
	for _, c := range []struct{ to, file string }{{"netlify", "_redirects"}, {"vercel", "redirects-001.json"}} {
		out := filepath.Join(dir, c.to)
		code, stdout, stderr := redirc(t, "export", "--to", c.to, "-o", out, build)
		if code != 0 || !strings.Contains(stdout, "exported 5 rules") {
			t.Fatalf("export %s: exit %d\n%s%s", c.to, code, stdout, stderr)
		}
		back := filepath.Join(dir, c.to+"-build")
		if code, _, stderr := redirc(t, "build", "-o", back, filepath.Join(out, c.file)); code != 0 {
			t.Fatalf("build of the %s export: %s", c.to, stderr)
		}
		_, got, _ := redirc(t, append([]string{"lookup", back}, paths...)...)
		if got != want {
			t.Errorf("%s: answers differ\nbuild:\n%s\nexport:\n%s", c.to, want, got)
		}
	}
}

func TestExportUnsupported(t *testing.T) {
	dir := t.TempDir()
	csv := writeFile(t, dir, "r.csv", "source,destination,statusCode\n/old,/new,301\n/docs/*,/d/:splat,301\nhttps://h.example/x,/y,301\n")
	out := filepath.Join(dir, "out")
	code, _, stderr := redirc(t, "export", "--to", "vercel", "-o", out, csv)
	if code != 1 || !strings.Contains(stderr, "error: /docs/*: prefix rule") || !strings.Contains(stderr, "error: https://h.example/x: host-scoped rule") || !strings.Contains(stderr, "--skip-unsupported") {
		t.Fatalf("want exit 1 naming both rules, got %d:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "redirects-001.json")); err == nil {
		t.Error("a failed export wrote files")
	}
	code, stdout, stderr := redirc(t, "export", "--to", "vercel", "--skip-unsupported", "-o", out, csv)
	if code != 0 || strings.Count(stderr, "warning: skipped") != 2 || !strings.Contains(stdout, "exported 1 rule ") {
		t.Fatalf("--skip-unsupported: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestExportLimitAndUsage(t *testing.T) {
	dir := t.TempDir()
	csv := writeFile(t, dir, "r.csv", "source,destination\n/a,/b\n/c,/d\n")
	code, _, stderr := redirc(t, "export", "--to", "netlify", "--max-rules", "1", "-o", filepath.Join(dir, "o"), csv)
	if code != 1 || !strings.Contains(stderr, "limit") {
		t.Fatalf("--max-rules 1: exit %d: %s", code, stderr)
	}
	if code, _, stderr := redirc(t, "export", "--to", "caddy", "-o", filepath.Join(dir, "o"), csv); code != 2 || !strings.Contains(stderr, "unknown --to") {
		t.Fatalf("unknown format: exit %d: %s", code, stderr)
	}
	if code, _, _ := redirc(t, "export", "--to", "html", "-o", filepath.Join(dir, "o")); code != 2 {
		t.Fatalf("no input: exit %d", code)
	}
	code, stdout, stderr := redirc(t, "export", "--to", "html", "-o", filepath.Join(dir, "h"), csv)
	if code != 0 || !strings.Contains(stdout, "a/index.html") {
		t.Fatalf("html: exit %d %s %s", code, stdout, stderr)
	}
}

// TestExportHTMLHostile exports destinations written to break out of HTML:
// each page has exactly the template's one script and nothing of the
// destination unescaped.
func TestExportHTMLHostile(t *testing.T) {
	dir := t.TempDir()
	csv := writeFile(t, dir, "r.csv", "source,destination,statusCode\n"+
		`/a,"/x""><script>alert(1)</script>",301`+"\n"+
		`/b,https://e.example/?q=</script><b>&x=1,302`+"\n"+
		`/c,/it's,301`+"\n")
	out := filepath.Join(dir, "site")
	if code, _, stderr := redirc(t, "export", "--to", "html", "-o", out, csv); code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	for _, name := range []string{"a", "b", "c"} {
		page, err := os.ReadFile(filepath.Join(out, name, "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		p := string(page)
		if strings.Count(p, "<script") != 1 || strings.Count(p, "</script>") != 1 || strings.Contains(p, "<b>") || strings.Contains(p, "'s") && !strings.Contains(p, `"/it's"`) {
			t.Errorf("%s/index.html lets the destination out:\n%s", name, p)
		}
		for _, want := range []string{`<link rel="canonical" href="`, `<meta http-equiv="refresh" content="0; url=`, "location.replace(", `<a href="`} {
			if !strings.Contains(p, want) {
				t.Errorf("%s/index.html lacks %s:\n%s", name, want, p)
			}
		}
	}
}
