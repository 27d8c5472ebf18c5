package compiler

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadJSON(t *testing.T) {
	rdRun(t, "rules.json", []readCase{
		{name: "array, fields and defaults",
			in: `[
  {"source": "/a", "destination": "/b"},
  {"source": "/c", "destination": "/d", "permanent": true},
  {"source": "/e", "destination": "/f", "permanent": false, "caseSensitive": true, "query": true},
  {"source": "/g", "destination": "https://x.example/h", "statusCode": 301, "sensitive": false, "preserveQueryParams": true},
  {
    "source": "/i",
    "destination": "/j",
    "status": 302,
    "expires": "2030-01-31T00:00:00Z"
  },
  {"source": "/gone", "destination": "", "statusCode": 410},
  {"source": "/k", "destination": "/l", "statusCode": null, "permanent": null},
  {"source": "/src/:x*", "destination": "/esc\"aped\u00e9\ud83d\ude00\n"}
]`,
			rules: []string{
				"2 /a -> /b 307",
				"3 /c -> /d 308",
				"4 /e -> /f 307 cs q",
				"5 /g -> https://x.example/h 301 q",
				"6 /i -> /j 302 exp=2030-01-31T00:00:00Z",
				"12 /gone ->  410",
				"13 /k -> /l 307",
				// Bulk-redirect arrays are literal: no path patterns.
				"14 /src/:x* -> /esc\"apedé😀\n 307",
			},
			problems: []string{`14 warning: source "/src/:x*" is a literal path here (bulk-redirect sources have no patterns): for a prefix rule write "/src/*"`}},
		{name: "DefaultStatus", opt: ReadOptions{DefaultStatus: 301},
			in:    `[{"source":"/a","destination":"/b"},{"source":"/c","destination":"/d","permanent":true}]`,
			rules: []string{"1 /a -> /b 301", "1 /c -> /d 308"}},
		{name: "every bad object reported, good ones kept",
			in: `[
{"source":"/ok","destination":"/1"},
{"source":"/a","destination":"/b","statusCode":"301"},
{"source":"/c","destination":"/d","statusCode":301.5},
{"source":"/e","destination":"/f","statusCode":200},
{"source":"/g","destination":"/h","permanent":"true"},
{"source":"/i","destination":"/j","expires":"2030-01-31"},
{"source":"/k","destination":"/l","foo":1,"Destination":"/m"},
{"source":"/n","destination":"/o","status":301,"statusCode":301},
{"source":"/p","destination":"/q","source":"/r"},
{"destination":"/s"},
{"source":"/t"},
"/u",
{"source":5,"destination":["/v"]},
{"source":"/w","destination":"/x","has":[{"type":"header","key":"x"}]},
{"source":"/ok2","destination":"/2"}
]`,
			rules: []string{"2 /ok -> /1 307", "16 /ok2 -> /2 307"},
			problems: []string{
				`3 error: statusCode must be a number, not a string`,
				`4 error: invalid statusCode "301.5": want a number, one of`,
				`5 error: statusCode 200 is not one of`,
				`6 error: permanent must be true or false, not a string`,
				`7 error: invalid expires "2030-01-31"`,
				`8 error: unknown field "foo"`,
				`8 error: unknown field "Destination" (field names are case-sensitive: did you mean "destination"?)`,
				`9 error: fields "status" and "statusCode" are the same field`,
				`10 error: field "source" appears twice`,
				`11 error: missing source`,
				`12 error: missing destination`,
				`13 error: rule must be a JSON object, not a string`,
				`14 error: source must be a string, not a number`,
				`14 error: destination must be a string, not an array`,
				`15 error: unsupported: "has" conditions`,
			}},
		{name: "syntax error stops, with its line",
			in:       "[\n{\"source\":\"/a\",\"destination\":\"/b\"},\n{\"source\":\"/c\",\n\"destination\": /d\"}\n,{\"source\":\"/e\",\"destination\":\"/f\"}]",
			rules:    []string{"2 /a -> /b 307"},
			problems: []string{`4 error: invalid JSON: invalid character '/' looking for beginning of value`}},
		{name: "missing comma",
			in:       "[{\"source\":\"/a\",\"destination\":\"/b\"}\n\n{\"source\":\"/c\",\"destination\":\"/d\"}]",
			rules:    []string{"1 /a -> /b 307"},
			problems: []string{`3 error: invalid JSON: expected comma after array element`}},
		{name: "truncated",
			in:       "[{\"source\":\"/a\",\"destination\":\"/b\"},\n{\"source\":\"/c\",\n",
			rules:    []string{"1 /a -> /b 307"},
			problems: []string{`2 error: invalid JSON: unexpected end of input`}},
		{name: "trailing data",
			in:       "[]\n{\"source\":\"/a\",\"destination\":\"/b\"}\n",
			problems: []string{`2 error: an object after the top-level JSON value: a JSON file holds one array (for one rule object per line use Format jsonl)`}},
		{name: "not an array", in: "\n\n\"x\"",
			problems: []string{`3 error: want a JSON array of rules or a vercel.json object with "redirects", not a string`}},
		{name: "empty file", in: ""},
		{name: "empty array", in: " [ ] "},
	})
}

func TestReadVercelJSON(t *testing.T) {
	rdRun(t, "vercel.json", []readCase{
		{name: "object with redirects; other keys ignored",
			in: `{
  "$schema": "https://openapi.vercel.sh/vercel.json",
  "headers": [{"source": "/(.*)", "headers": [{"key": "x", "value": "{[\"y\"]}"}]}],
  "trailingSlash": false,
  "redirects": [
    {"source": "/me", "destination": "/profile.html"},
    {"source": "/user", "destination": "/api/user", "permanent": false},
    {"source": "/old", "destination": "/new", "statusCode": 301},
    {"source": "/docs/ja/v9/:match*", "destination": "/docs/ja/:match*"},
    {"source": "/blog/:slug*", "destination": "https://x.example:8443/b/:slug?from=:slug&keep=:slugs"},
    {"source": "/:path*", "destination": "https://new.example/:path"},
    {"source": "/docs/:version(v6|v7)/angular", "destination": "/docs/:version/angular/overview"},
    {"source": "/docs/(v5|next)?/developer-resources/:path*", "destination": "https://ionic.io/resources"},
    {"source": "/post/:id", "destination": "/p/:id"},
    {"source": "/a/:b*/c", "destination": "/"},
    {"source": "/:path((?!uk/).*)", "has": [{"type": "header", "key": "x-vercel-ip-country", "value": "GB"}], "destination": "/uk/:path*", "permanent": false},
    {"source": "/both", "destination": "/x", "statusCode": 302, "permanent": true}
  ],
  "rewrites": [{"source": "/x", "destination": "/y"}]
}`,
			rules: []string{
				"6 /me -> /profile.html 308",
				"7 /user -> /api/user 307",
				"8 /old -> /new 301",
				"9 /docs/ja/v9/:match* -> /docs/ja/:match* 308",
				"10 /blog/:slug* -> https://x.example:8443/b/:slug?from=:slug&keep=:slugs 308",
				"11 /:path* -> https://new.example/:path 308",
				"12 /docs/:version(v6|v7)/angular -> /docs/:version/angular/overview 308",
				"13 /docs/(v5|next)?/developer-resources/:path* -> https://ionic.io/resources 308",
				"14 /post/:id -> /p/:id 308",
				"15 /a/:b*/c -> / 308",
			},
			problems: []string{
				`16 error: unsupported: "has" conditions`,
				`17 error: statusCode and permanent cannot both be set in vercel.json`,
			}},
		{name: "SkipUnsupported and DefaultStatus", opt: ReadOptions{SkipUnsupported: true, DefaultStatus: 301},
			in:    `{"redirects":[{"source":"/post/:id","destination":"/p/:id"},{"source":"/a","destination":"/b"}]}`,
			rules: []string{"1 /post/:id -> /p/:id 301", "1 /a -> /b 301"}},
		{name: "no redirects", in: "{\"rewrites\": []}",
			problems: []string{`1 warning: the JSON object has no "redirects" array`}},
		{name: "a single rule object", in: "{\n\"source\": \"/a\", \"destination\": \"/b\"}",
			problems: []string{`2 error: top-level object has a "source" field`}},
		{name: "redirects not an array", in: "{\"redirects\": {\"a\": [1, {}]}, \"redirects\": [{\"source\":\"/a\",\"destination\":\"/b\"}]}",
			rules:    []string{"1 /a -> /b 308"},
			problems: []string{`1 error: "redirects" must be an array of rule objects, not an object`}},
	})
}

func TestReadJSONL(t *testing.T) {
	rdRun(t, "rules.jsonl", []readCase{
		{name: "lines",
			in: "{\"source\":\"/a\",\"destination\":\"/b\"}\n\n  \n" +
				"{\"source\":\"/c\",\"destination\":\"/d\",\"permanent\":true,\"caseSensitive\":true}\r\n" +
				"  { \"source\" : \"/e\" , \"destination\" : \"/f\" , \"statusCode\" : 303 }  \n" +
				"{\"source\":\"/g:h*\",\"destination\":\"/i\\u2028\"}",
			rules: []string{"1 /a -> /b 307", "4 /c -> /d 308 cs", "5 /e -> /f 303", "6 /g:h* -> /i\u2028 307"}},
		{name: "pattern-like sources are literal, with a hint",
			in: `{"source":"/blog/:slug*","destination":"/news/:slug"}` + "\n" +
				`{"source":"/:p*","destination":"/x"}` + "\n" + `{"source":"/a:*","destination":"/x"}` + "\n" + `{"source":"/:*","destination":"/x"}`,
			rules: []string{"1 /blog/:slug* -> /news/:slug 307", "2 /:p* -> /x 307", "3 /a:* -> /x 307", "4 /:* -> /x 307"},
			problems: []string{
				`1 warning: source "/blog/:slug*" is a literal path here`,
				`2 warning: for a prefix rule write "/*"`,
			}},
		{name: "every bad line reported",
			in: strings.Join([]string{
				`{"source":"/ok","destination":"/1"}`,
				`{"source":"/a","destination":"/b",}`,
				`{"source":"/c","destination":"/d"} {"source":"/e"}`,
				`[{"source":"/f","destination":"/g"}]`,
				`{"source":"/h","destination":"/i","statusCode":"302","foo":true}`,
				`{"source":"/j",`,
				`{"source":"/k","destination":"/l","missing":[]}`,
				`{"source":"/ok2","destination":"/2"}`,
			}, "\n"),
			rules: []string{"1 /ok -> /1 307", "8 /ok2 -> /2 307"},
			problems: []string{
				`2 error: invalid JSON: invalid character '}' looking for beginning of object key string`,
				`3 error: invalid JSON: invalid character '{' after top-level value`,
				`4 error: rule must be a JSON object, not an array`,
				`5 error: statusCode must be a number, not a string`,
				`5 error: unknown field "foo"`,
				`6 error: invalid JSON: unexpected end of JSON input`,
				`7 error: unsupported: "missing" conditions`,
			}},
	})
}

// TestReadJSONManyProblems: problems from many objects, each on its line.
func TestReadJSONManyProblems(t *testing.T) {
	var in strings.Builder
	in.WriteString("[\n")
	var wantRules, wantProblems []string
	line := 2
	for i := range 300 {
		if i > 0 {
			in.WriteString(",\n")
		}
		if i%3 == 0 {
			fmt.Fprintf(&in, "{\"source\":\"/r%d\",\n\"destination\":\"/d\",\"statusCode\":999}", i)
			wantProblems = append(wantProblems, fmt.Sprintf("%d error: statusCode 999", line))
		} else {
			fmt.Fprintf(&in, "{\"source\":\"/r%d\",\n\"destination\":\"/d\"}", i)
			wantRules = append(wantRules, fmt.Sprintf("%d /r%d -> /d 307", line, i))
		}
		line += 2
	}
	in.WriteString("]\n")
	rules, problems, err := Read("many.json", strings.NewReader(in.String()), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rdCompare(t, "many.json", rules, problems, wantRules, wantProblems)
}

func TestReadJSONLongObject(t *testing.T) {
	in := "[{\"source\":\"/a\",\"destination\":\"/b\"},\n{\"source\":\"/" + strings.Repeat("x", 5000) + "\",\"destination\":\"/b\"}]"
	rules, _, err := Read("x.json", strings.NewReader(in), ReadOptions{MaxLineBytes: 1000})
	if !errors.Is(err, ErrLineTooLong) || !strings.HasPrefix(err.Error(), "x.json:2: ") {
		t.Errorf("err = %v, want ErrLineTooLong at x.json:2", err)
	}
	if len(rules) != 1 {
		t.Errorf("rules before the long object: %v", rules)
	}
	// A minified file (one long line) is fine: the limit is per object.
	var b strings.Builder
	b.WriteString("[")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"source":"/a%d","destination":"/b"}`, i)
	}
	b.WriteString("]")
	rules, problems, err := Read("x.json", strings.NewReader(b.String()), ReadOptions{MaxLineBytes: 1000})
	if err != nil || len(problems) != 0 || len(rules) != 1000 {
		t.Errorf("minified: %d rules, %v, %v", len(rules), problems, err)
	}
}

func TestReadVercelCorpora(t *testing.T) {
	for _, c := range []struct {
		file        string
		rules       int
		unsupported []string // sources reported as unsupported
		check       map[string]string
	}{
		{"react.dev.vercel.json", 52, nil, map[string]string{
			"/reference":         "/reference/react 308",
			"/link/warning-keys": "/learn/rendering-lists#keeping-list-items-in-order-with-key 307",
		}},
		{"ionic-docs.vercel.json", 34, nil, map[string]string{
			"/docs/ja/v9/:match*": "/docs/ja/:match* 308",
			"/docs/next/:match*":  "/docs/:match* 308",
			"/":                   "/docs 308",
		}},
	} {
		path := rdCorpus(t, filepath.Join("vercel-json-small", c.file))
		rules, problems, err := ReadFile(path, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rules) != c.rules {
			t.Errorf("%s: %d rules, want %d", c.file, len(rules), c.rules)
		}
		var got []string
		for _, p := range problems {
			msg, _ := strings.CutPrefix(p.Msg, "unsupported: path pattern ")
			if p.Severity != Error || msg == p.Msg {
				t.Errorf("%s: problem %s", c.file, p)
			}
			got = append(got, msg[1:strings.Index(msg, "\" (")])
		}
		if strings.Join(got, " ") != strings.Join(c.unsupported, " ") {
			t.Errorf("%s: unsupported %q, want %q", c.file, got, c.unsupported)
		}
		for _, r := range rules {
			if want, ok := c.check[r.Source]; ok {
				if got := fmt.Sprintf("%s %d", r.Destination, r.Status); got != want {
					t.Errorf("%s: %s -> %s, want %s", c.file, r.Source, got, want)
				}
				delete(c.check, r.Source)
			}
		}
		if len(c.check) > 0 {
			t.Errorf("%s: rules not found: %v", c.file, c.check)
		}
	}
}
