package export

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/internal/inspect"
	"github.com/redirc/redirc/runtime"
	"github.com/redirc/redirc/shardfmt"
)

// built is a compiled manifest: the build (for export) and a Set (for
// answers).
type built struct {
	b   *shardfmt.Build
	set *runtime.Set
}

// compileManifest reads a manifest of format f and compiles it, failing the
// test on any error.
func compileManifest(t *testing.T, name string, f compiler.Format, text string, strict bool) built {
	t.Helper()
	rules, probs, err := compiler.Read(name, strings.NewReader(text), compiler.ReadOptions{Format: f})
	if err != nil || compiler.HasErrors(probs) {
		t.Fatalf("read %s: %v %v\n%s", name, err, probs, text)
	}
	return compileRules(t, rules, strict)
}

func compileRules(t *testing.T, rules []compiler.Rule, strict bool) built {
	t.Helper()
	cb, probs, err := compiler.Compile(rules, compiler.Options{StrictTrailingSlash: strict})
	if err != nil {
		t.Fatalf("compile: %v %v", err, probs)
	}
	dir := t.TempDir()
	if err := cb.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	b, err := shardfmt.LoadBuild(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, err := runtime.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return built{b, set}
}

// probe is one request of a round-trip comparison.
type probe struct{ host, path, query string }

// probes returns, for every rule of b, requests that hit it (its path, with
// and without a trailing slash, upper-cased, below a prefix) and near misses,
// for its own host and another, with and without a query string.
func probes(t *testing.T, b *shardfmt.Build) []probe {
	t.Helper()
	rules, err := inspect.Rules(b)
	if err != nil {
		t.Fatal(err)
	}
	var ps []probe
	for _, r := range rules {
		p := r.Path
		if p == "" {
			p = "/"
		}
		paths := []string{p, p + "/", strings.ToUpper(p), p + "x", p + "/sub/Page", p + "/a%20b"}
		for _, h := range []string{r.Host, "other.example"} {
			for _, path := range paths {
				for _, q := range []string{"", "utm=1&b=2"} {
					ps = append(ps, probe{h, path, q})
				}
			}
		}
	}
	for _, m := range []string{"/", "/nothing-here", "/deep/miss/x"} {
		ps = append(ps, probe{"example.com", m, ""})
	}
	return ps
}

// sameAnswers compares two sets on every probe (ignoring the query string
// unless withQuery).
func sameAnswers(t *testing.T, want, got *runtime.Set, ps []probe, withQuery bool) {
	t.Helper()
	bad := 0
	for _, p := range ps {
		if !withQuery && p.query != "" {
			continue
		}
		w, g := want.Lookup(p.host, p.path, p.query), got.Lookup(p.host, p.path, p.query)
		if w != g {
			bad++
			if bad <= 10 {
				t.Errorf("host %q path %q query %q: build answers %+v, export answers %+v", p.host, p.path, p.query, w, g)
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d differences in all", bad)
	}
}

// mixed is a manifest every format can express at least partly.
const mixed = `source,destination,statusCode,caseSensitive,query,expires
/old,/new,301,,,
/Mixed/Case,https://example.org/x?y=1,302,,,
/q,/with-query,301,,true,
/q2,/with-query?a=b,301,,true,
/see,/other,303,,,
/tmp,/t,307,,,
/perm,/p,308,,,
/café,/cafe,301,,,
/a:b/:c,/colon,301,,,
/star%2A,/star,301,,,
/docs/*,/manual/:splat,301,,,
/blog/*,/news,302,,,
/docs/api/*,/api/:splat,301,,,
https://shop.example.com/cart,/basket,301,,,
https://shop.example.com/old/*,https://shop.example.com/new/:splat,301,,,
`

func exportTo(t *testing.T, f Format, b *shardfmt.Build, opt Options) (MapOutput, *Result) {
	t.Helper()
	out := MapOutput{}
	res, err := Export(f, b, out, opt)
	if err != nil {
		t.Fatalf("export %s: %v", f, err)
	}
	return out, res
}

func TestNetlifyRoundTrip(t *testing.T) {
	src := compileManifest(t, "m.csv", compiler.FormatCSV, strings.Replace(mixed, "/q2,/with-query?a=b,301,,true,\n", "", 1), false)
	out, res := exportTo(t, Netlify, src.b, Options{})
	if res.Rules != src.b.Index.Rules || len(res.Skipped) != 0 {
		t.Fatalf("exported %d of %d rules, skipped %v", res.Rules, src.b.Index.Rules, res.Skipped)
	}
	back := compileManifest(t, "_redirects", compiler.FormatNetlify, string(out["_redirects"]), false)
	// Netlify passes the query on by itself, and redirc reads _redirects
	// rules without it: compare answers without a query string.
	sameAnswers(t, src.set, back.set, probes(t, src.b), false)
	if !bytes.Contains(out["_redirects"], []byte("/a:b/%3Ac /colon 301")) {
		t.Errorf("segment-initial ':' not escaped:\n%s", out["_redirects"])
	}
}

func TestVercelRoundTrip(t *testing.T) {
	const m = `source,destination,statusCode,caseSensitive,query,expires
/old,/new,301,,,
/Mixed/Case,https://example.org/x?y=1,302,true,,
/q,/with-query,308,,true,
/q2,/with-query?a=b,307,,true,
/see,/other,303,,,
/café,/cafe,301,,,
/star%2A,/star,301,,,
`
	src := compileManifest(t, "m.csv", compiler.FormatCSV, m, false)
	out, res := exportTo(t, Vercel, src.b, Options{})
	if res.Rules != 7 || len(out) != 1 {
		t.Fatalf("exported %d rules in %d files", res.Rules, len(out))
	}
	back := compileManifest(t, "redirects-001.json", compiler.FormatJSON, string(out["redirects-001.json"]), false)
	sameAnswers(t, src.set, back.set, probes(t, src.b), true)
}

func TestVercelSplitsFiles(t *testing.T) {
	defer func(n int) { vercelMaxFileBytes = n }(vercelMaxFileBytes)
	vercelMaxFileBytes = 300
	var m strings.Builder
	m.WriteString("source,destination,statusCode\n")
	for i := range 40 {
		fmt.Fprintf(&m, "/page-%d,/new-%d,301\n", i, i)
	}
	src := compileManifest(t, "m.csv", compiler.FormatCSV, m.String(), false)
	out, res := exportTo(t, Vercel, src.b, Options{})
	if len(res.Files) < 2 {
		t.Fatalf("want several files, got %v", res.Files)
	}
	var rules []compiler.Rule
	for _, name := range res.Files {
		if len(out[name]) > vercelMaxFileBytes {
			t.Errorf("%s has %d bytes, over %d", name, len(out[name]), vercelMaxFileBytes)
		}
		rs, probs, err := compiler.Read(name, bytes.NewReader(out[name]), compiler.ReadOptions{Format: compiler.FormatJSON})
		if err != nil || compiler.HasErrors(probs) {
			t.Fatalf("%s: %v %v", name, err, probs)
		}
		rules = append(rules, rs...)
	}
	back := compileRules(t, rules, false)
	sameAnswers(t, src.set, back.set, probes(t, src.b), true)

	vercelMaxFileBytes = 40 // one rule per file: 40 files
	_, err := Export(Vercel, src.b, MapOutput{}, Options{})
	if err != nil {
		t.Fatalf("40 files are within the limit: %v", err)
	}
	for i := 40; i < 120; i++ {
		fmt.Fprintf(&m, "/page-%d,/new-%d,301\n", i, i)
	}
	big := compileManifest(t, "m.csv", compiler.FormatCSV, m.String(), false)
	_, err = Export(Vercel, big.b, MapOutput{}, Options{})
	var le *LimitError
	if !errors.As(err, &le) || le.Max != vercelMaxFiles || !strings.Contains(err.Error(), "files per bulkRedirectsPath folder") {
		t.Fatalf("120 files: want a LimitError naming the file limit, got %v", err)
	}
}

func TestMaxRulesLimit(t *testing.T) {
	src := compileManifest(t, "m.csv", compiler.FormatCSV, "source,destination\n/a,/b\n/c,/d\n/e,/f\n", false)
	_, err := Export(Vercel, src.b, MapOutput{}, Options{MaxRules: 2})
	var le *LimitError
	if !errors.As(err, &le) || le.Max != 2 || le.Got != 3 || !strings.Contains(err.Error(), "--max-rules") {
		t.Fatalf("want a LimitError 3 > 2, got %v", err)
	}
}

func TestUnsupported(t *testing.T) {
	const m = `source,destination,statusCode,caseSensitive,query,expires
/ok,/fine,301,,,
/Case,/c,301,true,,
/gone,,410,,,
/soon,/x,301,,,2099-01-01T00:00:00Z
/docs/*,/d/:splat,301,,,
https://h.example/p,/q,301,,,
`
	src := compileManifest(t, "m.csv", compiler.FormatCSV, m, false)
	cases := []struct {
		f    Format
		want []string // sources refused
	}{
		{Netlify, []string{"/Case", "/gone", "/soon"}},
		{Vercel, []string{"/docs/*", "/gone", "/soon", "https://h.example/p"}},
		{Cloudflare, []string{"/Case", "/docs/*", "/gone", "/ok", "/soon"}},
		{Nginx, []string{"/Case", "/soon"}},
		{Apache, []string{"/Case", "/docs/*", "/soon", "https://h.example/p"}},
		{HTML, []string{"/docs/*", "/gone", "/soon", "https://h.example/p"}},
	}
	for _, c := range cases {
		t.Run(string(c.f), func(t *testing.T) {
			_, err := Export(c.f, src.b, MapOutput{}, Options{})
			var ue *UnsupportedError
			if !errors.As(err, &ue) {
				t.Fatalf("want an UnsupportedError, got %v", err)
			}
			var got []string
			for _, u := range ue.Rules {
				got = append(got, u.Rule.Source)
				if u.Reason == "" {
					t.Errorf("%s: no reason", u.Rule.Source)
				}
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("refused %v, want %v", got, c.want)
			}
			res, err := Export(c.f, src.b, MapOutput{}, Options{SkipUnsupported: true})
			if err != nil {
				t.Fatalf("with SkipUnsupported: %v", err)
			}
			if len(res.Skipped) != len(c.want) || res.Rules != 6-len(c.want) {
				t.Errorf("skipped %d, exported %d", len(res.Skipped), res.Rules)
			}
		})
	}
	// With a host, Cloudflare takes rules for any host.
	res, err := Export(Cloudflare, src.b, MapOutput{}, Options{Host: "example.com", SkipUnsupported: true})
	if err != nil || len(res.Skipped) != 3 {
		t.Fatalf("cloudflare --host: %v, skipped %v", err, res.Skipped)
	}
}

func TestStrictTrailingSlashNetlify(t *testing.T) {
	src := compileManifest(t, "m.csv", compiler.FormatCSV, "source,destination,statusCode\n/a,/b,301\n/,/home,301\n/p/*,/q,301\n", true)
	_, err := Export(Netlify, src.b, MapOutput{}, Options{})
	var ue *UnsupportedError
	if !errors.As(err, &ue) || len(ue.Rules) != 1 || ue.Rules[0].Rule.Source != "/a" || !strings.Contains(ue.Rules[0].Reason, "trailing slash") {
		t.Fatalf("want /a refused for strict trailing slash, got %v", err)
	}
}

func TestUnknownFormat(t *testing.T) {
	src := compileManifest(t, "m.csv", compiler.FormatCSV, "source,destination\n/a,/b\n", false)
	if _, err := Export("caddy", src.b, MapOutput{}, Options{}); !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("got %v", err)
	}
}

func TestDirOutput(t *testing.T) {
	src := compileManifest(t, "m.csv", compiler.FormatCSV, "source,destination,statusCode\n/a/b,/c,301\n/,/home,302\n", false)
	dir := t.TempDir()
	res, err := Export(HTML, src.b, Dir(dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Files, " ") != "index.html a/b/index.html" {
		t.Fatalf("files %v", res.Files)
	}
	data, err := os.ReadFile(filepath.Join(dir, "a", "b", "index.html"))
	if err != nil || !bytes.Contains(data, []byte(`href="/c"`)) {
		t.Fatalf("%v\n%s", err, data)
	}
}

func TestExpiredExportsAsGone(t *testing.T) {
	src := compileManifest(t, "m.csv", compiler.FormatCSV, "source,destination,statusCode,expires\n/past,/x,301,2001-01-01T00:00:00Z\n/future,/y,301,2099-01-01T00:00:00Z\n", false)
	out, res := exportTo(t, Nginx, src.b, Options{SkipUnsupported: true})
	if res.Rules != 1 || len(res.Skipped) != 1 || res.Skipped[0].Rule.Source != "/future" {
		t.Fatalf("exported %d, skipped %v", res.Rules, res.Skipped)
	}
	if !bytes.Contains(out["redirc-maps.conf"], []byte(`"/past" "410";`)) {
		t.Fatalf("expired rule not exported as 410:\n%s", out["redirc-maps.conf"])
	}
}
