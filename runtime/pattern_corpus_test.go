package runtime_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/redirc/redirc/compiler"
)

// TestCorpusVercelPatterns: both vercel-json-small files build with no
// problem and answer as Vercel does (path-to-regexp, strict trailing
// slash, case-insensitive, first match).
func TestCorpusVercelPatterns(t *testing.T) {
	for _, c := range []struct {
		file string
		want map[string]string // request -> "status location" ("-" for a miss)
	}{
		{"vercel-json-small/ionic-docs.vercel.json", map[string]string{
			"/":                                "308 /docs",
			"/docs/ja/":                        "308 /docs/ja", // not a loop: /docs/ja is another path
			"/docs/ja":                         "-",
			"/docs/next":                       "308 /docs",
			"/docs/next/":                      "-",
			"/docs/next/angular/overview":      "308 /docs/angular/overview",
			"/DOCS/NEXT/a":                     "308 /docs/a",
			"/docs/v6/angular":                 "308 /docs/v6/angular/overview",
			"/docs/v5/angular":                 "-",
			"/docs/developer-resources/x":      "308 https://ionic.io/resources",
			"/docs/v5/developer-resources/x/y": "308 https://ionic.io/resources",
			"/docs/ja/v9/intro":                "308 /docs/ja/intro",
		}},
		{"vercel-json-small/react.dev.vercel.json", map[string]string{
			"/reference":         "308 /reference/react",
			"/link/warning-keys": "307 /learn/rendering-lists#keeping-list-items-in-order-with-key",
		}},
	} {
		b, _, probs := compileCorpus(t, compiler.ReadOptions{}, corpus(t, c.file))
		if len(probs) != 0 {
			t.Fatalf("%s: %v", c.file, probs)
		}
		s := openBuild(t, b)
		for req, want := range c.want {
			r := s.Lookup("", req, "")
			got := "-"
			if r.Found() {
				got = strings.TrimSpace(fmt.Sprintf("%d %s", r.Status, r.Location))
			}
			if got != want {
				t.Errorf("%s: %s answers %q, want %q", c.file, req, got, want)
			}
		}
	}
}

// TestCorpusKubernetesPatterns: the kubernetes-website _redirects builds
// but for its real loop (lines 82 and 438), and its "kubectl_*" splats
// after a partial segment answer as on Netlify.
func TestCorpusKubernetesPatterns(t *testing.T) {
	path := corpus(t, "kubernetes-website/_redirects")
	rules, probs, err := compiler.ReadFile(path, compiler.ReadOptions{})
	if err != nil || len(probs) != 0 {
		t.Fatal(err, probs)
	}
	_, cps, err := compiler.Compile(rules, compiler.Options{})
	if err == nil {
		t.Fatal("the loop was not refused")
	}
	var errs []string
	var keep []compiler.Rule
	for _, p := range cps {
		if p.Severity == compiler.Error {
			errs = append(errs, p.String())
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "_redirects:82: error: redirect loop") || !strings.Contains(errs[0], "_redirects:438)") {
		t.Fatalf("errors: %v", errs)
	}
	for _, r := range rules {
		if r.Pos.Line != 82 && r.Pos.Line != 438 {
			keep = append(keep, r)
		}
	}
	b, cps, err := compiler.Compile(keep, compiler.Options{})
	if err != nil {
		t.Fatal(err, cps)
	}
	s := openBuild(t, b)
	r := s.Lookup("", "/docs/reference/generated/kubectl/kubectl/kubectl_apply", "")
	if r.Status != 301 || r.Location != "/docs/reference/generated/kubectl/kubectl-commands#apply" {
		t.Errorf("kubectl_*: %+v", r)
	}
}
