package compiler

import (
	"strings"
	"testing"

	"github.com/redirc/redirc/runtime"
)

// patternTierMissing is the compiler's refusal of pattern rules in a
// version without the pattern tier (see checkRule).
const patternTierMissing = "cannot compile pattern rules yet"

// runtimeSet compiles rules and opens the build, for checking the real
// lookup against the reference evaluator. ok is false, with the test
// skipped, only when this version refuses pattern rules outright.
func runtimeSet(t *testing.T, rules []Rule) *runtime.Set {
	t.Helper()
	b, probs, err := Compile(rules, Options{})
	if err != nil {
		for _, p := range probs {
			if p.Severity == Error && strings.Contains(p.Msg, patternTierMissing) {
				t.Skipf("this version has no pattern tier (%s): the reference evaluator's answers above stand alone", p)
			}
		}
		t.Fatalf("Compile: %v %v", err, probs)
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
	status, loc, _ := set.eval(host, path, query)
	first := status
	for range 8 {
		if status == 0 || status == 410 || !strings.HasPrefix(loc, "/") || strings.ContainsAny(loc, "?") {
			break
		}
		p, frag, _ := strings.Cut(loc, "#")
		s2, l2, by := set.eval(host, p, "")
		if s2 == 0 || s2 == 410 || by.Syntax != SyntaxPath || strings.HasSuffix(by.Source, "/*") || by.Query || !by.Expires.IsZero() {
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
