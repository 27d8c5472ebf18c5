package compiler

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// impRead reads in from file with opt (format from the name unless set)
// and includes from files.
func impRead(t *testing.T, file, in string, opt ReadOptions, files map[string]string) ([]Rule, []Problem) {
	t.Helper()
	if files != nil {
		fsys := fstest.MapFS{}
		for name, data := range files {
			fsys[name] = &fstest.MapFile{Data: []byte(data)}
		}
		opt.IncludeFS = fsys
	}
	rules, probs, err := Read(file, strings.NewReader(in), opt)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return rules, probs
}

// impWantProblems checks problems: each "file:line severity: substring".
func impWantProblems(t *testing.T, probs []Problem, want ...string) {
	t.Helper()
	ok := len(probs) == len(want)
	for i := 0; ok && i < len(want); i++ {
		at, msg, _ := strings.Cut(want[i], ": ")
		sevAt := strings.Fields(at)
		ok = len(sevAt) == 2 && probs[i].Pos.String() == sevAt[0] && probs[i].Severity.String() == sevAt[1] &&
			strings.Contains(probs[i].Message(nil), msg)
	}
	if !ok {
		var b strings.Builder
		for _, p := range probs {
			fmt.Fprintf(&b, "  %s\n", p)
		}
		t.Errorf("problems:\n%swant:\n  %s", b.String(), strings.Join(want, "\n  "))
	}
}

func TestReadNginxLocationPrecedence(t *testing.T) {
	conf := `
location = /a { return 301 /exact; }
location ^~ /a { return 301 /caret; }
location /a/b { return 302 /plain-ab; }
location ~ ^/a/b/c { return 301 /regex-abc; }
location ~* \.PDF$ { return 301 /pdf; }
location /static { root /srv; }
location ~ /static/x { return 301 /never; }
`
	rules, probs := impRead(t, "site.conf", conf, ReadOptions{}, nil)
	impWantProblems(t, probs)
	for _, r := range rules {
		if r.Syntax != SyntaxRegex || r.Order == 0 {
			t.Errorf("%s: syntax %v order %d, want regex with an order", r.Pos, r.Syntax, r.Order)
		}
	}
	set := newRefSet(t, rules)
	refCheck(t, set, "x", []string{
		"/a 301 /exact",
		"/a/ 301 /caret",          // longest prefix is ^~ /a: regexes skipped
		"/a/x.pdf 301 /caret",     // …even a matching one
		"/a/b 302 /plain-ab",      // longest prefix /a/b is plain: regexes, then it
		"/a/b/c/d 301 /regex-abc", // a regex beats the longest plain prefix
		"/a/b/x.pdf 301 /pdf",     // ~* is case-insensitive
		"/static/x 301 /never",    // plain prefix: the regex is tried first
		"/static/y 200",           // the location takes it and does not redirect
		"/other.PDF 301 /pdf",     //
		"/ab 301 /caret",          // nginx prefixes are not segment-aligned
		"/A 200",                  // and case-sensitive
	})
}

// nginxSelect is nginx's location choice, written as its documentation
// says, for the differential test.
type ngxTestLoc struct {
	mod, arg string
	redirect bool
}

func nginxSelect(locs []ngxTestLoc, path string) int {
	for i, l := range locs {
		if l.mod == "=" && l.arg == path {
			return i
		}
	}
	longest := -1
	for i, l := range locs {
		if (l.mod == "" || l.mod == "^~") && strings.HasPrefix(path, l.arg) && (longest < 0 || len(l.arg) > len(locs[longest].arg)) {
			longest = i
		}
	}
	if longest >= 0 && locs[longest].mod == "^~" {
		return longest
	}
	for i, l := range locs {
		if l.mod == "~" && regexp.MustCompile(l.arg).MatchString(path) {
			return i
		}
	}
	return longest
}

// TestReadNginxPrecedenceDifferential compares the importer's ordered
// rules, under first-match evaluation, with nginx's location choice over
// random configurations and paths.
func TestReadNginxPrecedenceDifferential(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	word := func(n int) string {
		var b strings.Builder
		b.WriteByte('/')
		for range rng.IntN(n) {
			b.WriteByte("ab/"[rng.IntN(3)])
		}
		return b.String()
	}
	for iter := range 400 {
		var locs []ngxTestLoc
		seen := map[string]bool{}
		var conf strings.Builder
		for i := range 1 + rng.IntN(8) {
			l := ngxTestLoc{arg: word(5), redirect: rng.IntN(4) > 0}
			switch rng.IntN(4) {
			case 0:
				l.mod = "="
			case 1:
				l.mod = "^~"
			case 2:
				l.mod = "~"
				switch rng.IntN(3) {
				case 0:
					l.arg = "^" + l.arg
				case 1:
					l.arg = l.arg[1:] + "$"
				}
			}
			key := l.mod + " " + l.arg
			if l.mod == "^~" || l.mod == "" {
				key = " " + l.arg
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			locs = append(locs, l)
			body := "root /srv;"
			if l.redirect {
				body = fmt.Sprintf("return 301 /L%d;", i)
			}
			fmt.Fprintf(&conf, "location %s %q { %s }\n", l.mod, l.arg, body)
		}
		// Record each location's destination by its place in the file.
		dests := map[int]string{}
		for i, line := range strings.Split(strings.TrimSpace(conf.String()), "\n") {
			if m := regexp.MustCompile(`return 301 (/L\d+)`).FindStringSubmatch(line); m != nil {
				dests[i] = m[1]
			}
		}
		rules, probs := impRead(t, "d.conf", conf.String(), ReadOptions{}, nil)
		if len(probs) > 0 {
			t.Fatalf("iteration %d: problems %v for\n%s", iter, probs, conf.String())
		}
		set := newRefSet(t, rules)
		for range 40 {
			path := word(7)
			want := ""
			if i := nginxSelect(locs, path); i >= 0 {
				want = dests[i]
			}
			_, got, _ := set.eval("h", path, "")
			if got != want {
				t.Fatalf("seed %d iteration %d: %s: got %q, want %q (nginx's choice) for\n%s", seed, iter, path, got, want, conf.String())
			}
		}
	}
}

func TestReadNginxServers(t *testing.T) {
	conf := `
server {
    listen 80;
    server_name www.example.com Example.org;
    location / { return 301 https://example.net$request_uri; }
}
server {
    listen 80 default_server;
    server_name _;
    location = /old { return 308 $scheme://$host/new; }
    location ~ ^/u/(?<user>[a-z]+)$ { return 302 https://$host/users/$user; }
}
server {
    server_name api.example.com;
    rewrite ^/v1/(.*)$ /v2/$1 permanent;
    rewrite ^/gone$ /x? redirect;
}
`
	rules, probs := impRead(t, "s.conf", conf, ReadOptions{}, nil)
	impWantProblems(t, probs)
	set := newRefSet(t, rules)
	refCheck(t, set, "www.example.com", []string{
		"/a?b=1 301 https://example.net/a?b=1",
		"/old 301 https://example.net/old", // not the default server's rule
	})
	refCheck(t, set, "example.org", []string{"/ 301 https://example.net/"})
	refCheck(t, set, "other.example", []string{
		"/old 308 /new",
		"/u/ann 302 https://other.example/users/ann",
		"/a 200",
	})
	refCheck(t, set, "api.example.com", []string{
		"/v1/x?k=v 301 /v2/x?k=v", // rewrite keeps the query string…
		"/gone?k=v 302 /x",        // …unless the replacement ends in "?"
		"/old 200",                // a named server does not fall through
	})
}

func TestReadNginxMapInclude(t *testing.T) {
	conf := `
map $uri $new {
    default "";
    include maps/redirects.map;
    ~^/blog/(?<slug>[a-z-]+)$ /posts/$slug;
    ~*^/CASE$ /case;
}
server {
    server_name example.com;
    if ($new) {
        return 301 $new;
    }
    location = /kept { return 302 /k; }
}
`
	files := map[string]string{
		"etc/maps/redirects.map": "/old-a /new-a;\n\"/with space\" /spaced;\n/Mixed /m;\n",
	}
	rules, probs := impRead(t, "etc/site.conf", conf, ReadOptions{}, files)
	impWantProblems(t, probs)
	var exact int
	for _, r := range rules {
		if r.Syntax == SyntaxPath {
			exact++
			if r.Pos.File != "etc/maps/redirects.map" {
				t.Errorf("%v: Pos.File = %q, want the included file", r, r.Pos.File)
			}
		}
	}
	if exact != 3 {
		t.Errorf("%d exact rules from the map's plain keys, want 3", exact)
	}
	set := newRefSet(t, rules)
	refCheck(t, set, "example.com", []string{
		"/old-a 301 /new-a",
		"/with%20space 301 /spaced",
		"/mixed 301 /m", // map strings match ignoring case
		"/blog/hello 301 /posts/hello",
		"/case 301 /case",
		"/kept 302 /k",
		"/nope 200",
	})

	// A missing include names the including file and line.
	_, probs = impRead(t, "etc/site.conf", "map $uri $x {\n include nope.map;\n}\n", ReadOptions{}, files)
	impWantProblems(t, probs, `etc/site.conf:2 error: include "nope.map"`)

	// A problem inside an included file names that file.
	files["etc/bad.map"] = "/a /b;\n/c;\n"
	_, probs = impRead(t, "etc/site.conf", "map $uri $x {\n include bad.map;\n}\nserver { return 301 $x; }\n", ReadOptions{}, files)
	impWantProblems(t, probs, `etc/bad.map:2 error: map entry "/c" needs exactly one value`)

	// Includes on disk, relative to the including file, with a glob.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "conf.d"), 0o755)
	os.WriteFile(filepath.Join(dir, "conf.d", "a.conf"), []byte("location = /a { return 301 /A; }\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "conf.d", "b.conf"), []byte("location = /b { return 301 /B; }\n"), 0o644)
	main := filepath.Join(dir, "nginx.conf")
	os.WriteFile(main, []byte("server {\n include conf.d/*.conf;\n}\n"), 0o644)
	rules, probs, err := ReadFile(main, ReadOptions{})
	if err != nil || len(probs) != 0 || len(rules) != 2 {
		t.Fatalf("glob include: %d rules, problems %v, err %v", len(rules), probs, err)
	}
}

func TestReadNginxBareMap(t *testing.T) {
	in := "# redirects.map\n/old /new;\n\"/quoted\" \"https://example.com/q\";\n~^/re/(.*)$ /x/$1;\n"
	rules, probs := impRead(t, "redirects.conf", in, ReadOptions{}, nil)
	impWantProblems(t, probs)
	set := newRefSet(t, rules)
	refCheck(t, set, "h", []string{
		"/old 301 /new",
		"/quoted 301 https://example.com/q",
		"/re/a/b 301 /x/a/b",
		"/none 200",
	})
	if rules[0].Syntax != SyntaxPath || rules[0].Source != "/old" || rules[0].Pos.Line != 2 {
		t.Errorf("first rule %+v, want the exact rule /old at line 2", rules[0])
	}
}

func TestReadNginxProblems(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"location / {\n return 301 \"/x;\n}\n", "f.conf:2 error: unterminated quoted string"},
		{"location / {\n return 301 /x;\n", "f.conf:1 error: block of \"location\" is not closed"},
		{"location / {\n if ($http_user_agent ~ bot) { return 301 /bot; }\n}\n", "f.conf:2 error: unsupported: if ($http_user_agent ~ bot)"},
		{"location / {\n rewrite ^/a$ /b;\n}\n", "f.conf:2 error: unsupported: rewrite ^/a$ /b without redirect or permanent"},
		{"location / {\n return 301 https://$http_host/x;\n}\n", "f.conf:2 error: unsupported: return 301 https://$http_host/x: variable $http_host"},
		{"location ~ ^/(a)\\1$ {\n return 301 /x;\n}\n", "f.conf:1 error: unsupported: location ~ ^/(a)\\1$: the regex is not RE2"},
		{"location / { return 301 /a$1; }\n", "f.conf:1 error: unsupported: return 301 /a$1: $1 refers to no capture"},
		{"server {\n server_name *.example.com;\n}\n", "f.conf:2 error: unsupported: server_name \"*.example.com\""},
		{"location = /a { return 301 /x; }\nlocation = /a { return 301 /y; }\n", "f.conf:2 error: duplicate location \"/a\""},
		{"location ~ ^/a/(.*) { rewrite ^/b/(.*)$ /c/$1 permanent; }\n", "f.conf:1 error: unsupported: rewrite \"^/b/(.*)$\" inside location ~ ^/a/(.*)"},
		{"location / { return 301 $request_uri.html; }\n", "f.conf:1 error: unsupported: return 301 $request_uri.html: $request_uri followed by more text"},
	} {
		_, probs := impRead(t, "f.conf", tc.in, ReadOptions{}, nil)
		impWantProblems(t, probs, tc.want)
	}
	// With SkipUnsupported the same is a warning, and the rule is skipped.
	rules, probs := impRead(t, "f.conf", "location / {\n rewrite ^/a$ /b;\n}\nlocation = /c { return 301 /d; }\n", ReadOptions{SkipUnsupported: true}, nil)
	impWantProblems(t, probs, "f.conf:2 warning: unsupported: rewrite ^/a$ /b without redirect or permanent")
	refCheck(t, newRefSet(t, rules), "h", []string{"/c 301 /d", "/a 200"})
	// return 410, return URL, and a non-redirect return.
	rules, probs = impRead(t, "f.conf", "location = /g { return 410; }\nlocation = /u { return https://e.com/; }\nlocation /blocked { return 404; }\nlocation / { return 301 /home; }\n", ReadOptions{}, nil)
	impWantProblems(t, probs, "f.conf:3 warning: return 404 is not a redirect")
	refCheck(t, newRefSet(t, rules), "h", []string{"/g 410", "/u 302 https://e.com/", "/blocked/x 200", "/other 301 /home"})
}

func TestReadApache(t *testing.T) {
	in := `# comment
redirect permanent /old http://example.com/new
RedirectTemp /tmp/ /temporary/
Redirect gone /dead
REDIRECTMATCH 301 ^/docs/(.+)\.htm$ /docs/$1.html
RedirectMatch ^/amp/(.*)$ /a?x=1&y=$1
Redirect 303 /see /other
RewriteEngine On
RewriteRule ^blog/(\d+)$ \
    /posts/$1 [R=301,L]
RewriteRule ^legacy - [G]
RewriteRule ^Case$ /case [R,L,NC]
RewriteRule ^keep - [L]
RewriteRule ^frag$ /page#sec [R=301,L]
RewriteRule ^frag2$ /page#sec [NE,R=301,L]
RewriteRule ^q$ /target? [R=302,L]
`
	rules, probs := impRead(t, ".htaccess", in, ReadOptions{}, nil)
	impWantProblems(t, probs, `.htaccess:13 warning: also stops the Redirect and RedirectMatch rules`)
	set := newRefSet(t, rules)
	refCheck(t, set, "h", []string{
		"/old 301 http://example.com/new",
		"/old/x?k=v 301 http://example.com/new/x?k=v", // mod_alias appends the rest and the query
		"/older 200",              // only whole segments
		"/tmp/a 302 /temporary/a", //
		"/dead/x 410",             //
		"/docs/a/b.htm 301 /docs/a/b.html",
		"/amp/z 302 /a?x=1/amp/zy=z", // "&" is the whole match in RedirectMatch
		"/see 303 /other",
		"/blog/12 301 /posts/12",
		"/legacy/x 410",
		"/CASE 302 /case",
		"/keep/old 200",         // "- [L]" stops here
		"/frag 301 /page%23sec", // mod_rewrite escapes "#" without [NE]
		"/frag2 301 /page#sec",
		"/q?a=1 302 /target",
	})
	// mod_rewrite's rules come before mod_alias's.
	if rules[0].Pos.Line != 9 {
		t.Errorf("first rule from line %d, want the RewriteRule at line 9", rules[0].Pos.Line)
	}

	// Server context: the whole path; host conditions scope a rule
	// without changing the order for that host.
	conf := `RewriteEngine on
RewriteRule ^/a$ /any [R=301,L]
RewriteCond %{HTTP_HOST} ^www\.example\.com$ [NC]
RewriteRule ^/(.*)$ https://example.com/$1 [R=301,L]
RewriteRule ^/b$ /any-b [R=301,L]
`
	rules, probs = impRead(t, "apache.conf", conf, ReadOptions{Format: FormatApache}, nil)
	impWantProblems(t, probs)
	set = newRefSet(t, rules)
	refCheck(t, set, "www.example.com", []string{"/a 301 /any", "/b 301 https://example.com/b"})
	refCheck(t, set, "example.com", []string{"/a 301 /any", "/b 301 /any-b", "/c 200"})
}

func TestReadApacheProblems(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"RewriteEngine On\nRewriteCond %{HTTPS} off\nRewriteRule ^ https://%{HTTP_HOST}%{REQUEST_URI} [R=301,L]\n", ".htaccess:2 error: unsupported: RewriteCond %{HTTPS} off"},
		{"RewriteEngine On\nRewriteRule ^a$ /b [L]\n", ".htaccess:2 error: unsupported: RewriteRule ^a$ /b without [R] is an internal rewrite"},
		{"RewriteEngine On\nRewriteRule ^a$ /b [R=301,P]\n", ".htaccess:2 error: unsupported: RewriteRule flag \"P\""},
		{"RewriteEngine On\nRewriteRule ^a$ /%{QUERY_STRING} [R,L]\n", ".htaccess:2 error: unsupported: RewriteRule substitution \"/%{QUERY_STRING}\""},
		{"RedirectMatch 301 ^/(?!x) /y\n", ".htaccess:1 error: unsupported: RedirectMatch ^/(?!x): the regex is not RE2"},
		{"Redirect 301 /a\n", ".htaccess:1 error: Redirect 301 needs a URL"},
		{"Redirect 301 a /b\n", ".htaccess:1 error: Redirect URL-path \"a\" does not start with /"},
		{"<Directory /srv>\nRedirect /a /b\n</Directory>\n", ".htaccess:2 error: unsupported: redirects inside <Directory>"},
		{"RewriteRule ^a$ /b [R,L]\n", ".htaccess:1 warning: RewriteRule while RewriteEngine is not on"},
		{"RedirectMatch 301 ^/(a)$ /$2\n", ".htaccess:1 error: unsupported: RedirectMatch target \"/$2\": $2 refers to no capture"},
	} {
		_, probs := impRead(t, ".htaccess", tc.in, ReadOptions{}, nil)
		impWantProblems(t, probs, tc.want)
	}
	// <IfModule> is transparent; <IfModule !…> is skipped.
	rules, probs := impRead(t, ".htaccess", "<IfModule mod_alias.c>\nRedirect /a /b\n</IfModule>\n<IfModule !mod_alias.c>\nRedirect /c /d\n</IfModule>\n", ReadOptions{}, nil)
	impWantProblems(t, probs)
	if len(rules) != 1 {
		t.Errorf("%d rules, want 1", len(rules))
	}
}

func TestReadCloudflare(t *testing.T) {
	in := "example.com/about,https://example.net/about-us,,FALSE,FALSE,,\n" +
		"https://example.com/docs,https://docs.example.com/,302,TRUE,FALSE,TRUE,\n" +
		"example.com/blog,https://example.com/news,308,,,TRUE,FALSE\n" +
		"example.com/Case,/c\n"
	rules, probs := impRead(t, "cloudflare.csv", in, ReadOptions{}, nil)
	impWantProblems(t, probs)
	set := newRefSet(t, rules)
	refCheck(t, set, "example.com", []string{
		"/about 301 https://example.net/about-us",
		"/about?x=1 301 https://example.net/about-us",
		"/docs?x=1 302 https://docs.example.com/?x=1",
		"/docs/a/b?x=1 302 https://docs.example.com/a/b?x=1",
		"/blog/2020/post 308 https://example.com/news",
		"/Case 301 /c",
		"/case 200", // Cloudflare matches case-sensitively
	})
	refCheck(t, set, "other.example", []string{"/about 200"})
	for _, tc := range []struct{ in, want string }{
		{"example.com/a\n", "x.csv:1 error: want at least a source URL and a target URL"},
		{"example.com/a,/b,404\n", "x.csv:1 error: invalid status \"404\""},
		{"example.com/a,/b,,yes\n", "x.csv:1 error: invalid preserve query string \"yes\""},
		{"example.com/a,/b,,,TRUE\n", "x.csv:1 error: unsupported: include subdomains"},
		{"/a,/b\n", "x.csv:1 error: source URL \"/a\" has no host"},
		{"example.com/a?x=1,/b\n", "x.csv:1 error: unsupported: source URL \"example.com/a?x=1\" with a query string"},
		{"example.com/a,/b,,,,,,,\n", "x.csv:1 error: 9 fields"},
		{"\"example.com/a,/b\n", "x.csv:1 error: invalid CSV"},
	} {
		_, probs := impRead(t, "x.csv", tc.in, ReadOptions{Format: FormatCloudflare}, nil)
		impWantProblems(t, probs, tc.want)
	}
}

func TestReadNetlifyTOML(t *testing.T) {
	in := `[build]
  publish = "dist/"
  command = "npm run build"
  environment = { NODE_VERSION = "20", FLAGS = ['a', 'b'] }

[[plugins]]
  package = "x"
  [plugins.inputs]
    list = [
      "a", # comment
      "b",
    ]

[[redirects]]
  from = "/a"
  to = "/b"

[[redirects]]
  from = "/docs/*"
  to = "/guide/:splat"
  status = 302
  force = true

[[redirects]]
  origin = '/old'
  destination = """/new"""
  status = "308"

[context.production]
  command = "x"
`
	rules, probs := impRead(t, "netlify.toml", in, ReadOptions{}, nil)
	impWantProblems(t, probs)
	var got []string
	for _, r := range rules {
		got = append(got, rdRuleString(r))
		if !r.FirstMatch {
			t.Errorf("%s: FirstMatch not set", r.Pos)
		}
	}
	want := []string{"14 /a -> /b 301", "18 /docs/* -> /guide/:splat 302 !", "24 /old -> /new 308"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The top-level array form.
	rules, probs = impRead(t, "netlify.toml", `redirects = [{from = "/x", to = "/y", status = 307}]`+"\n", ReadOptions{}, nil)
	impWantProblems(t, probs)
	if len(rules) != 1 || rules[0].Status != 307 {
		t.Errorf("array form: %v", rules)
	}
	for _, tc := range []struct{ in, want string }{
		{"[[redirects]]\n  from = \"/a\"\n  to = \"/b\"\n  conditions = {Country = [\"US\", \"CA\"]}\n", "netlify.toml:1 error: unsupported: condition \"Country=US,CA\""},
		{"[[redirects]]\n  from = \"/a\"\n  to = \"/b\"\n  signed = \"K\"\n", "netlify.toml:4 error: unsupported: signed"},
		{"[[redirects]]\n  to = \"/b\"\n", "netlify.toml:1 error: [[redirects]] without from"},
		{"[[redirects]]\n  from = \"/a\"\n", "netlify.toml:1 error: missing destination"},
		{"[[redirects]]\n  from = \"/a\"\n  to = \"/b\"\n  status = -200\n", "netlify.toml:1 error: invalid status \"-200\""},
		{"[[redirects]]\n  from = \"/a\"\n  to = \"/b\"\n  stauts = 301\n", "netlify.toml:4 error: unknown key \"stauts\""},
		{"[redirects]\n  from = \"/a\"\n", "netlify.toml:1 error: invalid TOML: [redirects] must be an array of tables"},
		{"[[redirects]]\n  from = \"/a\n", "netlify.toml:2 error: invalid TOML: newline in a single-line string"},
		{"{{}}\n", "netlify.toml:1 error: invalid TOML: expected a key"},
		{"[[redirects]]\n  from = \"/a\"\n  to = \"/b\" x\n", "netlify.toml:3 error: invalid TOML: unexpected \"x\" after a value"},
		{"redirects = [\"/old-path\"]\n", "netlify.toml:1 error: invalid TOML: redirects must be an array of tables, not of other values"},
	} {
		_, probs := impRead(t, "netlify.toml", tc.in, ReadOptions{}, nil)
		impWantProblems(t, probs, tc.want)
	}
}

func TestDetectImportFormats(t *testing.T) {
	for name, want := range map[string]Format{
		"nginx.conf":            FormatNginx,
		"site.conf.gz":          FormatNginx,
		".htaccess":             FormatApache,
		"cordova-docs.htaccess": FormatApache,
		"htaccess":              FormatApache,
		"netlify.toml":          FormatNetlifyTOML,
		"cloudflare-bulk.csv":   FormatCloudflare,
		"redirects.csv":         FormatCSV,
	} {
		got, err := DetectFormat(name)
		if err != nil || got != want {
			t.Errorf("DetectFormat(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	// A .conf file of Apache directives is read as Apache.
	rules, probs := impRead(t, "httpd-redirects.conf", "Redirect 301 /a /b\n", ReadOptions{}, nil)
	impWantProblems(t, probs)
	if len(rules) != 1 || rules[0].Status != 301 {
		t.Errorf("sniffed Apache .conf: %v", rules)
	}
}

func TestReadNginxHTTPToHTTPS(t *testing.T) {
	conf := `
server {
    listen 80;
    server_name example.com www.example.com;
    return 301 https://$host$request_uri;
}
server {
    listen 443 ssl;
    server_name example.com www.example.com;
    location = /old { return 301 /new; }
}
`
	rules, probs := impRead(t, "tls.conf", conf, ReadOptions{}, nil)
	impWantProblems(t, probs, "tls.conf:2 warning: plain-HTTP server skipped")
	refCheck(t, newRefSet(t, rules), "example.com", []string{"/old 301 /new", "/x 200"})
}

// TestReadNetlifyTOMLFixtures gives netlify/build's parser fixtures the
// verdicts of Netlify's parser: valid ones read (or are refused as
// unsupported, naming the construct), invalid ones are errors.
func TestReadNetlifyTOMLFixtures(t *testing.T) {
	dir := rdCorpus(t, "netlify-redirect-parser-fixtures/netlify_config")
	files, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
	if len(files) < 30 {
		t.Fatalf("found %d fixtures", len(files))
	}
	valid := map[string]bool{"from_simple.toml": true, "from_url.toml": true, "backward_compat_destination.toml": true, "backward_compat_origin.toml": true,
		"query.toml": true, "backward_compat_params.toml": true, "backward_compat_parameters.toml": true} // query matchers: the pattern tier
	for _, f := range files {
		base := filepath.Base(f)
		rules, probs, err := ReadFile(f, ReadOptions{})
		if err != nil {
			t.Errorf("%s: %v", base, err)
			continue
		}
		unsupported, errs := 0, 0
		for _, p := range probs {
			if p.Severity == Error {
				errs++
				if strings.HasPrefix(p.Msg, "unsupported: ") {
					unsupported++
				}
			}
		}
		switch {
		case valid[base]:
			if len(rules) != 1 || len(probs) != 0 {
				t.Errorf("%s: %d rules, problems %v; want 1 rule", base, len(rules), probs)
			}
		case base == "empty.toml":
			if len(rules) != 0 || len(probs) != 0 {
				t.Errorf("%s: %d rules, problems %v; want nothing", base, len(rules), probs)
			}
		case strings.HasPrefix(base, "invalid_") || base == "from_no_slash.toml":
			if len(rules) != 0 || errs == 0 || unsupported == errs && base != "invalid_headers.toml" {
				t.Errorf("%s: %d rules, problems %v; want an error", base, len(rules), probs)
			}
		default: // valid for Netlify, but a construct redirc cannot honour
			if len(rules) != 0 || unsupported == 0 {
				t.Errorf("%s: %d rules, problems %v; want unsupported", base, len(rules), probs)
			}
		}
	}
}

// TestRegexRewrites checks the two regex rewritings the importers rely
// on against the original regexes over random paths: perDirRegex (an
// .htaccess pattern sees the path without its leading "/") and
// wrapWholeRegex (the whole path as $0, captures unchanged).
func TestRegexRewrites(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	pats := []string{`^a/(b*)`, `(a+)/?$`, `b(.*)\.x$`, `^$`, ``, `a|^b`[2:], `(?:a|b)(/.*)?$`, `^(a)(b)?`, `/`, `(?i)A(b)`, `[^/]+$`, `^.*/(b)`, `x?`}
	paths := []string{"/", "/a", "/a/b", "/ab/bb.x", "/b", "/A/b", "/a/", "//a"}
	for range 200 {
		var b strings.Builder
		b.WriteByte('/')
		for range rng.IntN(8) {
			b.WriteByte("ab/.x"[rng.IntN(5)])
		}
		paths = append(paths, b.String())
	}
	for _, pat := range pats {
		orig := regexp.MustCompile(pat)
		pd, why := perDirRegex(pat)
		if why != "" {
			t.Errorf("perDirRegex(%q): %s", pat, why)
			continue
		}
		per := regexp.MustCompile(pd)
		whole := regexp.MustCompile(wrapWholeRegex(pat))
		for _, p := range paths {
			want := orig.FindStringSubmatch(p[1:])
			got := per.FindStringSubmatch(p)
			if (want == nil) != (got == nil) || want != nil && strings.Join(want[1:], "|") != strings.Join(got[1:], "|") {
				t.Errorf("perDirRegex(%q) = %q on %q: %q, want %q", pat, pd, p, got, want)
			}
			want = orig.FindStringSubmatch(p)
			got = whole.FindStringSubmatch(p)
			if (want == nil) != (got == nil) || want != nil && (got[0] != p || strings.Join(want[1:], "|") != strings.Join(got[1:], "|")) {
				t.Errorf("wrapWholeRegex(%q) on %q: %q, want captures of %q and the whole path", pat, p, got, want)
			}
		}
	}
	if _, why := perDirRegex(`a|^b`); why == "" {
		t.Errorf("perDirRegex accepted a \"^\" inside the pattern")
	}
}

func TestReadApacheHostConditions(t *testing.T) {
	in := `RewriteEngine On
RewriteCond %{HTTP_HOST} =old.example [OR]
RewriteCond %{HTTP_HOST} ^www\.old\.example$ [NC]
RewriteRule ^(.*)$ https://new.example/$1 [R=301,L]
RewriteCond %{HTTP_HOST} =a.example
RewriteCond %{HTTP_HOST} =b.example
RewriteRule ^x$ /y [R,L]
RewriteCond %{HTTP_HOST} ^(.+)\.example$
RewriteRule ^z$ /w [R,L]
`
	rules, probs := impRead(t, ".htaccess", in, ReadOptions{SkipUnsupported: true}, nil)
	impWantProblems(t, probs,
		".htaccess:6 warning: unsupported: two host conditions that must both hold",
		`.htaccess:8 warning: unsupported: RewriteCond %{HTTP_HOST} ^(.+)\.example$`)
	set := newRefSet(t, rules)
	refCheck(t, set, "old.example", []string{"/p?q=1 301 https://new.example/p?q=1"})
	refCheck(t, set, "www.old.example", []string{"/p 301 https://new.example/p"})
	refCheck(t, set, "new.example", []string{"/p 200", "/x 200"})
}

func TestReadNetlifyTOMLQuery(t *testing.T) {
	rules, probs := impRead(t, "netlify.toml", "[[redirects]]\n  from = \"/a\"\n  to = \"/b/:id\"\n  [redirects.query]\n  id = \":id\"\n", ReadOptions{}, nil)
	impWantProblems(t, probs)
	if len(rules) != 1 || len(rules[0].QueryMatch) != 1 || rules[0].QueryMatch[0] != (QueryParam{Key: "id", Value: ":id"}) {
		t.Errorf("rules %+v, want one with the query matcher id=:id", rules)
	}
}
