package compiler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadNetlify(t *testing.T) {
	rdRun(t, "_redirects", []readCase{
		{name: "supported",
			in: strings.Join([]string{
				"# comment",
				"",
				"/home              /",
				"  /indented\t\t/x   301!",
				"/pt/*  /pt-br/:splat  302!",
				"/blog/my-post-ads.php  /blog/my-post#ads # a valid anchor with a comment",
				"/docs/*  /docs/home/#:splat 303",
				"http://old.example/*  https://new.example/:splat 308",
				"/old  https://x.example/y?q=1 307",
				"/gone 410",
				"/gone2 /ignored 410",
				"/a /b #301 is a comment, not a status",
				"/CaSe  /KeEp",
			}, "\n"),
			rules: []string{
				"3 /home -> / 301",
				"4 /indented -> /x 301 !",
				"5 /pt/* -> /pt-br/:splat 302 !",
				"6 /blog/my-post-ads.php -> /blog/my-post#ads 301",
				"7 /docs/* -> /docs/home/#:splat 303",
				"8 http://old.example/* -> https://new.example/:splat 308",
				"9 /old -> https://x.example/y?q=1 307",
				"10 /gone ->  410",
				"11 /gone2 -> /ignored 410",
				"12 /a -> /b 301",
				"13 /CaSe -> /KeEp 301",
			}},
		{name: "errors, every line",
			in: strings.Join([]string{
				"/ok /1",
				"/m/scge/legal",                          // 2 missing destination
				"/	index.html",                           // 3 destination not a path
				"/swfobject.html?detectflash=false 301",  // 4 missing destination before status
				"/from /to not_a_status",                 // 5
				"http:// /to",                            // 6
				"    Basic-Auth: dev@example.com:secret", // 7
				"/.netlify/from /to",                     // 8
				"/a /b 301 stray",                        // 9
				"/a /b 99999",                            // 10 invalid status (not 1-3 digits)
				"/a /b 301!!",                            // 11
				"/ok2 /2",
			}, "\n"),
			rules: []string{"1 /ok -> /1 301", "12 /ok2 -> /2 301"},
			problems: []string{
				`2 error: missing destination after "/m/scge/legal"`,
				`3 error: destination "index.html" is neither a path`,
				`4 error: missing destination before status "301"`,
				`5 error: invalid status "not_a_status"`,
				`6 error: source URL "http://" has no host`,
				`7 error: source "Basic-Auth:" is neither a path`,
				`8 error: reserves`,
				`9 error: unexpected "stray" after the status`,
				`10 error: invalid status "99999"`,
				`11 error: invalid status "301!!"`,
			}},
		{name: "unsupported",
			in: strings.Join([]string{
				"/      page=news      /news",
				"/  /china 302 Country=ch,tw",
				"/news/:year/:month /blog/:year/:month",
				"/api/*  https://api.example.com/:splat 200",
				"/app/*  /index.html 200!",
				"/missing /404.html 404",
				"/teapot /t 418",
				"/admin/* 200",
				"/api/*   https://api.example.com/:splat   200!  Sign=API_SECRET",
				"/a*b /c",
				"/ab* /c",
				"/ok /fine",
			}, "\n"),
			rules: []string{"1 / -> /news 301", "3 /news/:year/:month -> /blog/:year/:month 301",
				"10 /a*b -> /c 301", "11 /ab* -> /c 301", "12 /ok -> /fine 301"},
			problems: []string{
				`2 error: unsupported: condition "Country=ch,tw"`,
				`4 error: unsupported: status 200 with an absolute URL is a proxy`,
				`5 error: unsupported: status 200 is a rewrite`,
				`6 error: unsupported: status 404`,
				`7 error: unsupported: status 418 is not a redirect status`,
				`8 error: unsupported: status 200 forward rule "/admin/*"`,
				`9 error: unsupported: condition "Sign=API_SECRET"; status 200 with an absolute URL is a proxy`,
			}},
		{name: "SkipUnsupported", opt: ReadOptions{SkipUnsupported: true},
			in:       "/ Country=ch /news 301 Country=ch\n/ok /fine\n/bad\n",
			rules:    []string{"2 /ok -> /fine 301"},
			problems: []string{`1 warning: unsupported: condition "Country=ch"; rule skipped`, `3 error: missing destination`}},
		{name: "DefaultStatus", opt: ReadOptions{DefaultStatus: 302},
			in:    "/a /b\n/c /d 301\n",
			rules: []string{"1 /a -> /b 302", "2 /c -> /d 301"}},
	})
}

func TestReadNetlifyFixtures(t *testing.T) {
	dir := rdCorpus(t, "netlify-redirect-parser-fixtures/redirects_file")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Rules expected from the fixtures redirc supports (others: see below).
	want := map[string][]string{
		"comment_full":      {"2 /blog/my-post.php -> /blog/my-post 301"},
		"comment_inline":    {"1 /blog/my-post.php -> /blog/my-post 301"},
		"empty":             nil,
		"empty_line":        {"1 /blog/my-post.php -> /blog/my-post 301", "3 /blog/my-post-two.php -> /blog/my-post-two 301"},
		"from_absolute_uri": {"1 http://hello.bitballoon.com/* -> http://www.hello.com/:splat 301"},
		"from_simple":       {"1 /home -> / 301"},
		"line_trim":         {"1 /home -> / 301"},
		"multiple_lines":    {"1 /10thmagnitude -> http://www.10thmagnitude.com/ 301", "2 /bananastand -> http://eepurl.com/Lgde5 301"},
		"simple":            {"1 /one -> /two 301"},
		"simple_multiple":   {"1 /one -> /two 301", "2 /one -> /four 301"},
		"status":            {"1 /test -> https://www.bitballoon.com/test=hello 301"},
		"status_force":      {"1 /test -> https://www.bitballoon.com/test=hello 301 !"},
		"to_anchor":         {"1 /blog/my-post-ads.php -> /blog/my-post#ads 301"},
		"to_splat_force":    {"1 /* -> https://www.bitballoon.com/:splat 301 !"},
		"to_splat_no_force": {"1 /* -> https://www.bitballoon.com/:splat 301"},
	}
	// Error lines expected from the invalid fixtures.
	invalid := map[string][]int{
		"invalid_dot_netlify_path": {1},
		"invalid_dot_netlify_url":  {1},
		"invalid_mistaken_headers": {2, 3},
		"invalid_no_slash":         {1, 2, 3},
		"invalid_no_to_no_status":  {1},
		"invalid_no_to_query":      {1},
		"invalid_no_to_status":     {1},
		"invalid_status":           {1},
		"invalid_url":              {1},
	}
	seen := 0
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		path := filepath.Join(dir, name)
		t.Run(name, func(t *testing.T) {
			rules, problems, err := ReadFile(path, ReadOptions{Format: FormatNetlify})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case strings.HasPrefix(name, "invalid_"):
				seen++
				var lines []int
				for _, p := range problems {
					if p.Severity != Error || p.Pos.File != path {
						t.Errorf("unexpected problem %s", p)
					}
					lines = append(lines, p.Pos.Line)
				}
				if len(rules) != 0 || !equalInts(lines, invalid[name]) {
					t.Errorf("rules %v; error lines %v, want %v: %v", rules, lines, invalid[name], problems)
				}
			case name == "large_45000_redirects_file":
				if len(rules) != 45000 || len(problems) != 0 {
					t.Errorf("%d rules, %d problems", len(rules), len(problems))
				}
			default:
				if w, ok := want[name]; ok {
					seen++
					rdCompare(t, path, rules, problems, w, nil)
					return
				}
				// The rest use rewrites, proxies or conditions (each rule
				// line is reported, none dropped silently), or query
				// matchers and placeholders, which compile.
				for _, p := range problems {
					if p.Severity != Error || !strings.Contains(p.Msg, "unsupported") {
						t.Errorf("problem %s, want unsupported", p)
					}
				}
				if len(problems) == 0 {
					if ps := Check(rules, Options{}); HasErrors(ps) {
						t.Errorf("rules %v do not compile: %v", rules, ps)
					}
				}
			}
		})
	}
	if seen != len(want)+len(invalid) {
		t.Errorf("checked %d known fixtures, want %d", seen, len(want)+len(invalid))
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadNetlifyCorpora(t *testing.T) {
	for _, c := range []struct {
		path  string
		rules int
		skip  []int // lines with unsupported rules
	}{
		// Every rule reads, the two "/…/kubectl/kubectl_*" splats after a
		// partial segment included (SyntaxNetlify).
		{"kubernetes-website/_redirects", 393, nil},
		{"streamlit-docs/_redirects", 1168, nil},
	} {
		path := rdCorpus(t, c.path)
		for _, skip := range []bool{false, true} {
			rules, problems, err := ReadFile(path, ReadOptions{SkipUnsupported: skip})
			if err != nil {
				t.Fatal(err)
			}
			var lines []int
			for _, p := range problems {
				lines = append(lines, p.Pos.Line)
				if !strings.Contains(p.Msg, "unsupported: splat after a partial path segment \"kubectl_*\"") ||
					(p.Severity == Warning) != skip {
					t.Errorf("problem: %s", p)
				}
			}
			if !equalInts(lines, c.skip) || len(rules) != c.rules {
				t.Errorf("%s: %d rules, want %d; problems on lines %v, want %v", c.path, len(rules), c.rules, lines, c.skip)
			}
		}
	}
	// Spot checks: forced rules, splats, fragments, runs of blanks.
	path := rdCorpus(t, "kubernetes-website/_redirects")
	rules, _, _ := ReadFile(path, ReadOptions{})
	want := map[string]bool{
		"/pt/* -> /pt-br/:splat 302 !": false,
		"/docs/ -> /docs/home/ 301 !":  false,
		"/docs/reference/scheduling/profiles/ -> /docs/reference/scheduling/config/#profiles 301":          false,
		"/blog/2023/01/20/security-bahavior-analysis/ -> /blog/2023/01/20/security-behavior-analysis/ 301": false,
	}
	for _, r := range rules {
		s := rdRuleString(r)
		s = s[strings.IndexByte(s, ' ')+1:]
		if _, ok := want[s]; ok {
			want[s] = true
		}
	}
	for s, found := range want {
		if !found {
			t.Errorf("kubernetes: no rule %s", s)
		}
	}
}
