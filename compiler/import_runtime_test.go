package compiler

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/redirc/redirc/runtime"
)

// runtimeSet compiles rules, writes the build and opens it, for checking
// the real lookup against the reference evaluator and the corpora's
// expected answers.
func runtimeSet(t *testing.T, rules []Rule) *runtime.Set {
	t.Helper()
	b, probs, err := Compile(rules, Options{})
	if err != nil {
		for _, p := range probs {
			if p.Severity == Error {
				t.Errorf("Compile: %s", p)
			}
		}
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	set, err := runtime.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// followRef answers like the reference evaluator, but follows relative
// hops through exact rules on the same host, as the compiler's chain
// flattening does.
func followRef(set *refSet, host, path, query string) (int, string) {
	if query != "" {
		s, l, _ := set.eval(host, path, query)
		if _, plain, _ := set.eval(host, path, ""); s != 0 && l != plain && strings.HasSuffix(l, "?"+query) && !strings.Contains(plain, "?") {
			// The request's query passes on: follow the chain without it.
			fs, fl := followRef(set, host, path, "")
			frag := ""
			if i := strings.IndexByte(fl, '#'); i >= 0 {
				fl, frag = fl[:i], fl[i:]
			}
			return fs, fl + "?" + query + frag
		}
	}
	status, loc, _ := set.eval(host, path, query)
	first := status
	for range 8 {
		if status == 0 || status == 410 || !strings.HasPrefix(loc, "/") || strings.ContainsAny(loc, "?") {
			break
		}
		p, frag, _ := strings.Cut(loc, "#")
		s2, l2, by := set.eval(host, p, "")
		if s2 == 0 || s2 == 410 || by.Syntax != SyntaxPath || strings.HasSuffix(by.Source, "/*") || !by.Expires.IsZero() {
			break // the compiler flattens chains through exact rules only
		}
		if frag != "" && !strings.Contains(l2, "#") {
			l2 += "#" + frag
		}
		status, loc = s2, l2
	}
	if first != 0 {
		status = first // a flattened chain keeps the first rule's status
	}
	return status, loc
}

// runtimeAgrees checks that the built set answers every request as the
// reference evaluator does.
func runtimeAgrees(t *testing.T, rules []Rule, host string, reqs []string) {
	t.Helper()
	ref := newRefSet(t, rules)
	set := runtimeSet(t, rules)
	bad := 0
	for _, r := range reqs {
		p, q, _ := strings.Cut(r, "?")
		ws, wl := followRef(ref, host, p, q)
		got := set.Lookup(host, p, q)
		if got.Status != ws || got.Location != wl {
			if bad++; bad <= 10 {
				t.Errorf("%s%s: runtime %d %q, reference %d %q", host, r, got.Status, got.Location, ws, wl)
			}
		}
	}
	t.Logf("%d requests, %d answered differently by the built set", len(reqs), bad)
}

func TestImportRuntimeCypress(t *testing.T) {
	rules, probs := readCorpusRules(t, rdCorpus(t, "cypress-docs/netlify.toml"), ReadOptions{})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	var reqs []string
	for _, r := range rules {
		src := strings.TrimSuffix(r.Source, "*")
		reqs = append(reqs, src, src+"x/y", strings.TrimSuffix(src, "/")+"?q=1")
	}
	runtimeAgrees(t, rules, "docs.cypress.io", reqs)
}

func TestImportRuntimeNginxMap(t *testing.T) {
	conf := "/old /new;\n\"/a b\" https://example.com/x;\n/Mixed /m;\n"
	rules, probs := impRead(t, "redirects.conf", conf, ReadOptions{}, nil)
	impWantProblems(t, probs)
	runtimeAgrees(t, rules, "h", []string{"/old", "/a%20b", "/mixed", "/MIXED?x=1", "/none"})
}

func TestImportRuntimeCorpora(t *testing.T) {
	t.Run("python-docs", func(t *testing.T) {
		dir := rdCorpus(t, "python-docs-nginx")
		rules, _ := readCorpusRules(t, dir+"/nginx.docs-redirects.conf", ReadOptions{SkipUnsupported: true})
		var reqs []string
		for _, spec := range hurlSpecs(dir) {
			for _, e := range readHurl(t, spec) {
				reqs = append(reqs, e.path)
			}
		}
		runtimeAgrees(t, rules, "localhost", reqs)
	})
	t.Run("werf", func(t *testing.T) {
		name := rdCorpus(t, "werf-website-nginx") + "/_rewrites.tpl"
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "{{") {
				l = ""
			}
			lines = append(lines, l)
		}
		rules, _, _ := Read(name, strings.NewReader(strings.Join(lines, "\n")), ReadOptions{Format: FormatNginx, SkipUnsupported: true})
		runtimeAgrees(t, rules, "werf.io", []string{"/js/app.js", "/js/app.js?v=2", "/docs", "/docs/v2.3/usage", "/docs/latest/",
			"/publications_ru.html", "/how_it_works.html", "/assets/js/app.js", "/docs/v2/usage/build", "/docs/latest/usage/cleanup/"})
	})
	t.Run("cordova", func(t *testing.T) {
		rules, _ := readCorpusRules(t, rdCorpus(t, "cordova-docs-htaccess")+"/cordova-docs.htaccess", ReadOptions{SkipUnsupported: true})
		runtimeAgrees(t, rules, "cordova.apache.org", []string{"/archive/docs/en/6.x/index.html", "/docs", "/docs/ja/",
			"/docs/en/dev/guide/x.html", "/docs/zh/3.1.0/index.html", "/docs/en/6.0.0/x.html", "/docs/en/latest/plugins/authors.html"})
	})
	t.Run("openstack", func(t *testing.T) {
		dir := rdCorpus(t, "openstack-charm-guide")
		rules, _ := readCorpusRules(t, dir+"/charm-guide.htaccess", ReadOptions{})
		var reqs []string
		for _, r := range rules {
			reqs = append(reqs, "/charm-guide/latest/"+strings.TrimSuffix(strings.TrimPrefix(r.Source, "^/charm-guide/([^/]+)/"), "$"))
		}
		runtimeAgrees(t, rules, "docs.openstack.org", reqs)
	})
}

func TestImportRuntimeCloudflare(t *testing.T) {
	in := "example.com/about,https://example.net/about-us,,FALSE,FALSE,,\n" +
		"https://example.com/docs,https://docs.example.com/,302,TRUE,FALSE,TRUE,\n" +
		"example.com/blog,https://example.com/news,308,,,TRUE,FALSE\n" +
		"example.com/Case,/c\n"
	rules, probs := impRead(t, "cloudflare.csv", in, ReadOptions{}, nil)
	impWantProblems(t, probs)
	runtimeAgrees(t, rules, "example.com", []string{"/about", "/about?x=1", "/docs?x=1", "/docs/a/b?x=1", "/blog/2020/post", "/Case", "/case", "/none"})
	runtimeAgrees(t, rules, "other.example", []string{"/about", "/docs/a"})
}

// TestImportRuntimePythonDocsHurl replays the python-docs Hurl suite (8,976
// requests) through the real build: Pass rules, "${host}" and "${0}"
// destinations answer as nginx does.
func TestImportRuntimePythonDocsHurl(t *testing.T) {
	dir := rdCorpus(t, "python-docs-nginx")
	rules, _ := readCorpusRules(t, dir+"/nginx.docs-redirects.conf", ReadOptions{SkipUnsupported: true})
	set := runtimeSet(t, rules)
	if set.Index().Patterns == nil {
		t.Fatal("the build has no pattern file")
	}
	hurlAgree(t, dir, func(host, path, query string) (int, string, string) {
		r := set.Lookup(host, path, query)
		return r.Status, r.Location, "the build"
	})
}

// TestImportRuntimeCordova checks the cordova .htaccess's answers through
// the real build, "RewriteRule ^archive/ - [L]" (a Pass rule) included.
func TestImportRuntimeCordova(t *testing.T) {
	rules, _ := readCorpusRules(t, rdCorpus(t, "cordova-docs-htaccess")+"/cordova-docs.htaccess", ReadOptions{SkipUnsupported: true})
	set := runtimeSet(t, rules)
	for _, c := range []string{
		"/archive/docs/en/6.x/index.html 0",
		// "^.*/plugins/authors.html$" (line 1738) would redirect it:
		// "RewriteRule ^archive/ - [L]" (line 36) stops first.
		"/archive/docs/en/6.x/plugins/authors.html 0",
		"/docs 301 /docs/en/latest/",
		"/docs/ja/ 301 /docs/en/latest/",
		"/docs/en/dev/guide/x.html 301 /docs/en/latest/guide/x.html",
		"/docs/zh/3.1.0/index.html 302 /archive/docs/zh-tw/3.1.0/index.html",
		"/docs/en/6.0.0/x.html 301 /archive/docs/en/6.x/x.html",
		"/docs/en/latest/plugins/authors.html 301 /docs/en/latest/guide/hybrid/plugins/index.html#publishing-plugins",
		"/docs/en/latest/ 0",
		"/docs/en/latest/x?a=1 0",
		"/docs/en/dev/x?a=1 301 /docs/en/latest/x?a=1",
	} {
		f := strings.Fields(c)
		p, q, _ := strings.Cut(f[0], "?")
		status, _ := strconv.Atoi(f[1])
		loc := ""
		if len(f) > 2 {
			loc = f[2]
		}
		got := set.Lookup("cordova.apache.org", p, q)
		if got.Status != status || got.Location != loc {
			t.Errorf("%s: build answers %d %q, want %d %q", f[0], got.Status, got.Location, status, loc)
		}
	}
}
