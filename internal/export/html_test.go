package export

import (
	"encoding/json"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/redirc/redirc/compiler"
)

var (
	attrRE   = regexp.MustCompile(`(?:href="|url=)([^"]*)"`)
	scriptRE = regexp.MustCompile(`<script>location\.replace\(("(?:[^"\\]|\\.)*")`)
)

// checkStub checks that a stub page for dest sends every context back
// exactly dest and that dest cannot add markup or end the script.
func checkStub(t *testing.T, dest string, q bool) {
	t.Helper()
	page := string(StubPage(dest, q))
	if n, want := strings.Count(page, "<"), strings.Count(string(StubPage("/", q)), "<"); n != want {
		t.Fatalf("dest %q: page has %d '<', want the template's %d:\n%s", dest, n, want, page)
	}
	if n := strings.Count(strings.ToLower(page), "</script"); n != 1 {
		t.Fatalf("dest %q: %d </script:\n%s", dest, n, page)
	}
	attrs := attrRE.FindAllStringSubmatch(page, -1)
	if len(attrs) != 3 {
		t.Fatalf("dest %q: %d URL attributes:\n%s", dest, len(attrs), page)
	}
	for _, a := range attrs {
		if got := html.UnescapeString(a[1]); got != dest {
			t.Fatalf("attribute gives %q, want %q:\n%s", got, dest, page)
		}
	}
	m := scriptRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("dest %q: no script string:\n%s", dest, page)
	}
	var got string
	if err := json.Unmarshal([]byte(m[1]), &got); err != nil || got != dest {
		t.Fatalf("script string gives %q (%v), want %q", got, err, dest)
	}
	if text := html.UnescapeString(page[strings.Index(page, "<a href="):]); !strings.Contains(text, ">"+dest+"</a>") {
		t.Fatalf("link text is not dest %q:\n%s", dest, page)
	}
}

func TestStubPageHostile(t *testing.T) {
	for _, d := range []string{
		"/new",
		`/x"><script>alert(1)</script>`,
		"/x'onmouseover='alert(1)",
		"https://e.example/</script><script>alert(1)</script>",
		"/a?b=1&c=<d>#frag",
		"/\u2028\u2029",
		"javascript:alert(1)",
		`/";location="//evil`,
		"/<!--",
		"/&amp;&lt;",
	} {
		checkStub(t, d, false)
		checkStub(t, d, true)
	}
	if p := string(StubPage("/a?x=1", true)); !strings.Contains(p, `"&"+location.search.slice(1)`) {
		t.Errorf("query after a destination query must join with &:\n%s", p)
	}
}

func FuzzStubPage(f *testing.F) {
	for _, s := range []string{"/new", `"><script>`, "</script>", "&amp;", "\u2028"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, dest string, q bool) {
		if !utf8Valid(dest) || strings.ContainsAny(dest, "\x00\r") {
			return // the compiler never produces these; HTML parsers rewrite them
		}
		checkStub(t, dest, q)
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestHTMLFileNames(t *testing.T) {
	for p, want := range map[string]string{
		"/":           "index.html",
		"/a":          "a/index.html",
		"/a/b/":       "a/b/index.html",
		"/caf%C3%A9":  "café/index.html",
		"/a%20b":      "a b/index.html",
		"/a%2Fb":      "",
		"/..":         "",
		"/a/%2E%2E/b": "",
		"/a//b":       "",
		"/a%5Cb":      "",
		"/a%00":       "",
	} {
		got, ok := htmlFileName(p)
		if ok != (want != "") || got != want {
			t.Errorf("htmlFileName(%q) = %q, %v; want %q", p, got, ok, want)
		}
	}
}

func TestHTMLConflicts(t *testing.T) {
	src := compileManifest(t, "m.csv", compiler.FormatCSV, "source,destination,statusCode\n/a,/x,301\n/a/index.html,/y,301\n/b/index.html,/z,301\n/b,/w,301\n", false)
	out, res := exportTo(t, HTML, src.b, Options{SkipUnsupported: true})
	if res.Rules != 2 || len(res.Skipped) != 2 {
		t.Fatalf("exported %d, skipped %v; files %v", res.Rules, res.Skipped, res.Files)
	}
	for name := range out {
		for other := range out {
			if strings.HasPrefix(other, name+"/") {
				t.Errorf("%s is a file and a directory", name)
			}
		}
	}
}
