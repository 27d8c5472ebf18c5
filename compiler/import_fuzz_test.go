package compiler

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// impFuzzCheck reads in as format and checks what every importer
// promises: no panic, every problem names a file and a line, and every
// regex rule compiles with its destination's captures defined.
func impFuzzCheck(t *testing.T, name string, format Format, in []byte) {
	opt := ReadOptions{Format: format, MaxLineBytes: 1 << 12, MaxInputBytes: 1 << 20}
	opt.IncludeFS = fstest.MapFS{"inc.map": {Data: []byte("/i /j;\n~^/r(.*) /s$1;\n")}}
	for _, skip := range []bool{false, true} {
		opt.SkipUnsupported = skip
		rules, probs, err := Read(name, strings.NewReader(string(in)), opt)
		if err != nil {
			return // limits
		}
		for _, p := range probs {
			if p.Pos.File == "" || p.Pos.Line < 1 {
				t.Fatalf("problem without file:line: %+v", p)
			}
			if skip && strings.HasPrefix(p.Msg, "unsupported") && p.Severity != Warning {
				t.Fatalf("unsupported construct not a warning with SkipUnsupported: %s", p)
			}
		}
		for _, r := range rules {
			if r.Pos.File == "" || r.Pos.Line < 1 {
				t.Fatalf("rule without file:line: %+v", r)
			}
			if r.Syntax != SyntaxRegex {
				continue
			}
			expr := r.Source
			if !r.CaseSensitive {
				expr = "(?i)" + expr
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				t.Fatalf("%s: rule regex %q does not compile: %v", r.Pos, r.Source, err)
			}
			if r.Pass != (r.Status == 0) {
				t.Fatalf("%s: Pass %v with status %d", r.Pos, r.Pass, r.Status)
			}
			for _, m := range regexp.MustCompile(`\$\{([^}]*)\}`).FindAllStringSubmatch(r.Destination, -1) {
				if m[1] == "host" || m[1] == "0" {
					continue
				}
				if re.SubexpIndex(m[1]) < 0 && !regexp.MustCompile(`^\d+$`).MatchString(m[1]) {
					t.Fatalf("%s: destination %q uses ${%s}, which %q does not capture", r.Pos, r.Destination, m[1], r.Source)
				}
			}
		}
	}
}

func impFuzzSeeds(f *testing.F, corpus string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	if corpus == "" {
		return
	}
	p := filepath.Join("..", "..", "shared", "corpora", corpus)
	if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
		f.Add(b)
	}
}

func FuzzReadNginx(f *testing.F) {
	impFuzzSeeds(f, "python-docs-nginx/nginx.docs-redirects.conf",
		"server {\n server_name a.example b.example;\n listen 80 default_server;\n location = /a { return 301 https://$host/b; }\n location ^~ /c { return 302 /d$request_uri; }\n location ~* ^/e/(?<x>.*)$ { return 308 /f/$x; }\n rewrite ^/g(.*)$ /h$1? permanent;\n}\n",
		"map $uri $new {\n default \"\";\n include inc.map;\n ~^/k/(.*) /l/$1;\n}\nserver {\n if ($new) { return 301 $new; }\n}\n",
		"/old /new;\n\"/a b\" \"/c\";\n",
		"location / {\n if (-f $request_filename) { return 301 /x; }\n error_page 404 /404.html;\n}\n",
		"location \"/a\\\"b\" { return 410; }\n# comment\nlocation ${x} {}\n")
	f.Fuzz(func(t *testing.T, in []byte) { impFuzzCheck(t, "f.conf", FormatNginx, in) })
}

func FuzzReadApache(f *testing.F) {
	impFuzzSeeds(f, "openstack-charm-guide/charm-guide.htaccess",
		"Redirect permanent /a http://e.com/b\nRedirectMatch 301 ^/c/(.*)$ /d/$1&\nRewriteEngine On\nRewriteBase /x/\nRewriteCond %{HTTP_HOST} ^www\\.e\\.com$ [NC,OR]\nRewriteCond %{HTTP_HOST} =e.org\nRewriteRule ^f/(.*)$ \\\n  g/$1 [R=301,L,NE]\nRewriteRule ^h - [G]\n",
		"<IfModule mod_rewrite.c>\nRewriteEngine on\nRewriteRule ^ https://%{HTTP_HOST}%{REQUEST_URI} [R,L]\n</IfModule>\n<VirtualHost *:80>\nRedirect /x /y\n</VirtualHost>\n",
		"RedirectMatch \"^/a b$\" \"/c\\\"d\"\n")
	f.Fuzz(func(t *testing.T, in []byte) { impFuzzCheck(t, ".htaccess", FormatApache, in) })
}

func FuzzReadCloudflare(f *testing.F) {
	impFuzzSeeds(f, "",
		"example.com/about,https://example.net/about-us,,FALSE,FALSE,,\n",
		"https://example.com/docs,https://docs.example.com/,302,TRUE,FALSE,TRUE,\n\"e.com/a,b\",/c\n",
		"e.com/a,/b,,,TRUE\ne.com/?,/c,999\n")
	f.Fuzz(func(t *testing.T, in []byte) { impFuzzCheck(t, "c.csv", FormatCloudflare, in) })
}

func FuzzReadNetlifyTOML(f *testing.F) {
	impFuzzSeeds(f, "cypress-docs/netlify.toml",
		"[build]\n  publish = \"dist/\"\n[[redirects]]\n  from = \"/a\"\n  to = \"/b\"\n  status = 302\n  force = true\n  query = {p = \":p\"}\n",
		"redirects = [{from = '/x', to = \"\"\"/y\"\"\"}]\n[x.y]\n a = [1, 2.5, true, 1979-05-27T07:32:00Z, 0x1f]\n",
		"[[redirects]]\nfrom = \"/\\u00e9\"\nto = \"/e\\\n   x\"\n[redirects.conditions]\nCountry = [\"US\"]\n")
	f.Fuzz(func(t *testing.T, in []byte) { impFuzzCheck(t, "netlify.toml", FormatNetlifyTOML, in) })
}
