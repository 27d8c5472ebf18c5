package compiler

import (
	"os"
	"strings"
	"testing"

	"github.com/redirc/redirc/runtime"
)

// runtimeSet compiles rules and opens the build, for checking the real
// lookup against the reference evaluator. It skips the test, saying so,
// only where the pattern tier refuses rules for a construct it does not
// implement yet.
func runtimeSet(t *testing.T, rules []Rule) *runtime.Set {
	t.Helper()
	b, probs, err := Compile(rules, Options{})
	if err != nil {
		// What the importers emit and the pattern tier does not compile
		// yet (see Rule): Pass rules, "${host}", "${0}". Anything else
		// is a failure.
		gaps := map[string]int{}
		other := 0
		for _, p := range probs {
			if p.Severity != Error {
				continue
			}
			switch in := rulesAt(rules, p.Pos); {
			case in != nil && in.Pass:
				gaps["Pass"]++
			case in != nil && strings.Contains(in.Destination, "${host}"):
				gaps["${host}"]++
			case in != nil && strings.Contains(in.Destination, "${0}"):
				gaps["${0}"]++
			default:
				other++
				t.Errorf("Compile: %s", p)
			}
		}
		if other == 0 {
			t.Skipf("the pattern tier does not compile these importer rules yet: %v; the reference evaluator's answers stand alone", gaps)
		}
		t.FailNow()
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

func rulesAt(rules []Rule, p Pos) *Rule {
	for i := range rules {
		if rules[i].Pos == p {
			return &rules[i]
		}
	}
	return nil
}
