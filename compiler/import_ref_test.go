package compiler

import (
	"bufio"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// This file holds a plain ordered reference evaluator for the importers'
// output, and end-to-end tests that replay the corpora's expected answers
// through it. The evaluator is the semantics the importers promise (see
// Rule): host-scoped rules for the request's host first, then any-host
// rules, each by Order and then file order; the first rule that matches
// answers, a Pass rule with "no redirect". It stands in for the pattern
// tier until that lands, and stays as the reference afterwards.

type refRule struct {
	r    Rule
	re   *regexp.Regexp
	host string
	path string // SyntaxPath: the path, without "/*"
	pfx  bool   // SyntaxPath prefix rule
	idx  int
}

type refSet struct{ rules []refRule }

func newRefSet(t testing.TB, rules []Rule) *refSet {
	t.Helper()
	s := &refSet{}
	for i, r := range rules {
		rr := refRule{r: r, idx: i, host: r.Host}
		switch r.Syntax {
		case SyntaxRegex:
			expr := r.Source
			if !r.CaseSensitive {
				expr = "(?i)" + expr
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				t.Fatalf("%s: rule %q does not compile: %v", r.Pos, r.Source, err)
			}
			rr.re = re
		case SyntaxPath:
			src := r.Source
			if !strings.HasPrefix(src, "/") {
				if i := strings.Index(src, "://"); i >= 0 {
					src = src[i+3:]
				}
				j := strings.IndexByte(src, '/')
				if j < 0 {
					rr.host, src = src, "/"
				} else {
					rr.host, src = src[:j], src[j:]
				}
			}
			if strings.HasSuffix(src, "/*") {
				rr.pfx, src = true, src[:len(src)-2]
			}
			rr.path = src
		default:
			t.Fatalf("%s: syntax %v not handled by the reference evaluator", r.Pos, r.Syntax)
		}
		s.rules = append(s.rules, rr)
	}
	sort.SliceStable(s.rules, func(i, j int) bool {
		a, b := s.rules[i], s.rules[j]
		if (a.host == "") != (b.host == "") {
			return a.host != ""
		}
		if a.r.Order != b.r.Order {
			return a.r.Order < b.r.Order
		}
		return a.idx < b.idx
	})
	return s
}

// eval answers a request: status 0 is no redirect. path is as sent
// (percent-encoded); regexes see it decoded.
func (s *refSet) eval(host, rawPath, rawQuery string) (status int, loc string, by *Rule) {
	host = strings.ToLower(host)
	if i := strings.IndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		path = rawPath
	}
	for i := range s.rules {
		rr := &s.rules[i]
		if rr.host != "" && rr.host != host {
			continue
		}
		var dst string
		switch {
		case rr.re != nil:
			m := rr.re.FindStringSubmatchIndex(path)
			if m == nil {
				continue
			}
			if rr.r.Pass {
				return 0, "", &rr.r
			}
			// "$1abc" is group 1 then "abc", as the pattern tier reads it.
			tmpl := refDigitRef.ReplaceAllString(strings.ReplaceAll(rr.r.Destination, "${host}", host), "$${$1}")
			dst = string(rr.re.ExpandString(nil, tmpl, path, m))
		default:
			eq := func(a, b string) bool {
				if rr.r.CaseSensitive {
					return a == b
				}
				return strings.EqualFold(a, b)
			}
			p, want := strings.TrimSuffix(path, "/"), strings.TrimSuffix(rr.path, "/")
			switch {
			case !rr.pfx && eq(p, want):
				dst = rr.r.Destination
			case rr.pfx && (eq(p, want) || len(path) > len(want) && eq(path[:len(want)+1], want+"/")):
				splat := ""
				if len(path) > len(want)+1 {
					splat = path[len(want)+1:]
				}
				dst = strings.ReplaceAll(rr.r.Destination, ":splat", splat)
			default:
				continue
			}
			if rr.r.Pass {
				return 0, "", &rr.r
			}
		}
		if rr.r.Query && rawQuery != "" {
			frag := ""
			if i := strings.IndexByte(dst, '#'); i >= 0 {
				dst, frag = dst[:i], dst[i:]
			}
			if strings.Contains(dst, "?") {
				dst += "&" + rawQuery
			} else {
				dst += "?" + rawQuery
			}
			dst += frag
		}
		if rr.r.Status == 410 {
			dst = ""
		}
		return rr.r.Status, dst, &rr.r
	}
	return 0, "", nil
}

// hurlEntry is one request of a Hurl file and what it asserts.
type hurlEntry struct {
	line     int
	path     string // path and query after {{host}}
	status   int
	location string // "" when not asserted
}

// readHurl reads the subset of Hurl the python-docs suite uses: a request
// line "GET {{host}}/path", "HTTP nnn", and header "Location" == "…"
// assertions; other assertions are ignored.
func readHurl(t testing.TB, name string) []hurlEntry {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []hurlEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "GET "):
			u := strings.TrimSpace(line[4:])
			if !strings.HasPrefix(u, "{{host}}") {
				t.Fatalf("%s:%d: request %q does not start with {{host}}", name, n, u)
			}
			out = append(out, hurlEntry{line: n, path: strings.TrimPrefix(u, "{{host}}")})
		case strings.HasPrefix(line, "HTTP "):
			if len(out) == 0 {
				t.Fatalf("%s:%d: HTTP before a request", name, n)
			}
			code, ok := parseStatusCode(strings.TrimSpace(line[5:]))
			if !ok {
				t.Fatalf("%s:%d: bad status line %q", name, n, line)
			}
			out[len(out)-1].status = code
		case strings.HasPrefix(line, `header "Location" == "`):
			v := strings.TrimSuffix(strings.TrimPrefix(line, `header "Location" == "`), `"`)
			out[len(out)-1].location = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// resolveLocation makes a relative Location absolute against the request
// URL, as a client does.
func resolveLocation(base, loc string) string {
	if loc == "" || hasHTTPScheme([]byte(loc)) {
		return loc
	}
	b, err := url.Parse(base)
	if err != nil {
		return loc
	}
	r, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	return b.ResolveReference(r).String()
}

func readCorpusRules(t *testing.T, name string, opt ReadOptions) ([]Rule, []Problem) {
	t.Helper()
	rules, probs, err := ReadFile(name, opt)
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	return rules, probs
}

func countSeverity(ps []Problem, sev Severity) int {
	n := 0
	for _, p := range ps {
		if p.Severity == sev {
			n++
		}
	}
	return n
}

func TestImportPythonDocsNginxHurl(t *testing.T) {
	dir := rdCorpus(t, "python-docs-nginx")
	conf := filepath.Join(dir, "nginx.docs-redirects.conf")
	rules, probs := readCorpusRules(t, conf, ReadOptions{SkipUnsupported: true})
	for _, p := range probs {
		t.Logf("problem: %s", p)
		if p.Severity == Error {
			t.Errorf("unexpected error: %s", p)
		}
	}
	// The one location redirc cannot honour: "if (-f …)" tests the file
	// system, and its regex uses a negative lookahead.
	if countSeverity(probs, Warning) != 1 {
		t.Errorf("%d warnings, want 1", countSeverity(probs, Warning))
	}
	set := newRefSet(t, rules)
	specs := hurlSpecs(dir)
	total, pass := 0, 0
	fails := map[string]int{}
	var examples []string
	for _, spec := range specs {
		for _, e := range readHurl(t, spec) {
			total++
			p, q, _ := strings.Cut(e.path, "?")
			status, loc, by := set.eval("localhost", p, q)
			loc = resolveLocation("http://localhost"+e.path, loc)
			want := e.status
			if want == 200 || want == 404 {
				want = 0 // nginx serves or refuses the file: no redirect
			}
			if status == want && (e.location == "" || loc == e.location) {
				pass++
				continue
			}
			why := "other"
			switch {
			case want == 301 && status == 0 && strings.HasSuffix(e.location, ".html") && strings.TrimPrefix(e.location, "https://localhost") == p+".html":
				why = "file-existence test (if -f $request_filename.html)"
			}
			fails[why]++
			if why == "other" && len(examples) < 20 {
				at := "no rule"
				if by != nil {
					at = by.Pos.String()
				}
				examples = append(examples, filepathBase(spec)+":"+itoa(e.line)+" "+e.path+": got "+itoa(status)+" "+loc+" ("+at+"), want "+itoa(e.status)+" "+e.location)
			}
		}
	}
	t.Logf("python-docs-nginx: %d of %d Hurl requests answered as nginx does; failures by cause: %v", pass, total, fails)
	for _, x := range examples {
		t.Log(x)
	}
	if total != 8976 {
		t.Errorf("read %d requests, want 8976", total)
	}
	if fails["other"] > 0 {
		t.Errorf("%d requests answered differently for an unexpected reason", fails["other"])
	}
}

func filepathBase(s string) string { return filepath.Base(s) }

func itoa(n int) string { return strconv.Itoa(n) }

// refCheck evaluates requests against expected answers: "path status
// [location]" (status 0 or 200: no redirect).
func refCheck(t *testing.T, set *refSet, host string, cases []string) {
	t.Helper()
	for _, c := range cases {
		f := strings.Fields(c)
		p, q, _ := strings.Cut(f[0], "?")
		status, loc, by := set.eval(host, p, q)
		want, _ := strconv.Atoi(f[1])
		if want == 200 {
			want = 0
		}
		wantLoc := ""
		if len(f) > 2 {
			wantLoc = f[2]
		}
		if status != want || loc != wantLoc {
			at := "no rule"
			if by != nil {
				at = by.Pos.String()
			}
			t.Errorf("%s %s: got %d %q (%s), want %d %q", host, f[0], status, loc, at, want, wantLoc)
		}
	}
}

func TestImportOpenstackCharmGuideWhereto(t *testing.T) {
	dir := rdCorpus(t, "openstack-charm-guide")
	rules, probs := readCorpusRules(t, filepath.Join(dir, "charm-guide.htaccess"), ReadOptions{})
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	if len(rules) != 62 {
		t.Errorf("%d rules, want 62", len(rules))
	}
	set := newRefSet(t, rules)
	f, err := os.ReadFile(filepath.Join(dir, "redirect-tests.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, l := range strings.Split(string(f), "\n") {
		if l = strings.TrimSpace(l); l != "" && l[0] != '#' {
			cases = append(cases, l)
		}
	}
	if len(cases) != 67 {
		t.Errorf("%d whereto tests, want 67", len(cases))
	}
	refCheck(t, set, "docs.openstack.org", cases)
}

func TestImportCordovaHtaccess(t *testing.T) {
	name := filepath.Join(rdCorpus(t, "cordova-docs-htaccess"), "cordova-docs.htaccess")
	rules, probs := readCorpusRules(t, name, ReadOptions{SkipUnsupported: true})
	// Only the HTTP-to-HTTPS rule cannot be honoured: its conditions test
	// the scheme (three RewriteCond lines; the first one is reported).
	for _, p := range probs {
		t.Logf("problem: %s", p)
	}
	if countSeverity(probs, Error) != 0 || countSeverity(probs, Warning) != 1 {
		t.Errorf("%d errors, %d warnings; want 0 and 1", countSeverity(probs, Error), countSeverity(probs, Warning))
	}
	if len(rules) != 610 {
		t.Errorf("%d rules, want 610 (611 RewriteRules less the HTTPS one)", len(rules))
	}
	set := newRefSet(t, rules)
	refCheck(t, set, "cordova.apache.org", []string{
		"/archive/docs/en/6.x/index.html 200", // RewriteRule ^archive/ - [L]
		"/docs 301 /docs/en/latest/",          // a rule continued with "\"
		"/docs/ja/ 301 /docs/en/latest/",      //
		"/docs/en/dev/guide/x.html 301 /docs/en/latest/guide/x.html",
		"/docs/zh/3.1.0/index.html 302 /archive/docs/zh-tw/3.1.0/index.html",
		"/docs/en/6.0.0/x.html 301 /archive/docs/en/6.x/x.html",
		"/docs/en/latest/plugins/authors.html 301 /docs/en/latest/guide/hybrid/plugins/index.html#publishing-plugins",
		"/docs/en/latest/ 200",
		"/docs/en/latest/x?a=1 200",
		"/docs/en/dev/x?a=1 301 /docs/en/latest/x?a=1", // the query string passes through
	})
}

func TestImportWerfNginxRewrites(t *testing.T) {
	name := filepath.Join(rdCorpus(t, "werf-website-nginx"), "_rewrites.tpl")
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	// The file is a Helm template: drop the define/end lines.
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "{{") {
			l = ""
		}
		lines = append(lines, l)
	}
	rules, probs, err := Read(name, strings.NewReader(strings.Join(lines, "\n")), ReadOptions{Format: FormatNginx, SkipUnsupported: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Logf("problem: %s", p)
	}
	// One rewrite uses a negative lookahead, which RE2 lacks.
	if countSeverity(probs, Error) != 0 || countSeverity(probs, Warning) != 1 {
		t.Errorf("%d errors, %d warnings; want 0 and 1", countSeverity(probs, Error), countSeverity(probs, Warning))
	}
	if len(rules) != 200 {
		t.Errorf("%d rules, want 200", len(rules))
	}
	set := newRefSet(t, rules)
	for _, r := range rules {
		if r.Status != 302 || r.Syntax != SyntaxRegex {
			t.Errorf("%s: status %d syntax %v, want 302 regex", r.Pos, r.Status, r.Syntax)
		}
	}
	refCheck(t, set, "werf.io", []string{
		"/js/app.js 302 /assets/js/app.js", // named capture $tail
		"/js/app.js?v=2 302 /assets/js/app.js?v=2",
		"/docs 302 /docs/v2/",
		"/docs/v2.3/usage 302 /docs/v2.3/usage/project_configuration/overview.html",
		"/docs/latest/ 302 /docs/latest/usage/project_configuration/overview.html",
		"/publications_ru.html 302 https://ru.werf.io/publications.html",
		"/how_it_works.html 302 /#how-it-works",
		"/assets/js/app.js 200",
	})
}

func TestImportCypressNetlifyTOML(t *testing.T) {
	name := filepath.Join(rdCorpus(t, "cypress-docs"), "netlify.toml")
	rules, probs := readCorpusRules(t, name, ReadOptions{})
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	if len(rules) != 204 {
		t.Errorf("%d rules, want 204", len(rules))
	}
	first := map[string]Rule{}
	for _, r := range rules {
		if r.Status != 301 || !r.FirstMatch {
			t.Errorf("%s: status %d FirstMatch %v, want 301 true", r.Pos, r.Status, r.FirstMatch)
		}
		if _, ok := first[r.Source]; !ok {
			first[r.Source] = r
		}
	}
	// Netlify: first match in file order; the reference evaluator takes
	// the exact rules, then the splats in order, which here is the same.
	set := newRefSet(t, rules)
	refCheck(t, set, "docs.cypress.io", []string{
		"/guides 301 /app/get-started/why-cypress",
		"/guides/cloud/x 301 /cloud/x",
		"/guides/other 301 /app/other",
		"/api/ 301 /api/table-of-contents",
		"/app/get-started/why-cypress 200",
	})
}

func hurlSpecs(dir string) []string {
	specs, _ := filepath.Glob(filepath.Join(dir, "tests", "specs", "*.hurl"))
	return specs
}

var refDigitRef = regexp.MustCompile(`\$([0-9])`)
