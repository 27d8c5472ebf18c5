package pattern

import "testing"

func expand(t *testing.T, s *Source, dest, path, query string, q []QueryCond) (string, bool) {
	t.Helper()
	tmpl, err := s.Template(dest, q)
	if err != nil {
		t.Fatalf("template %q: %v", dest, err)
	}
	p, err := Compile(Spec{Re: s.Re, Fold: s.Fold, Segs: s.Segs, Tail: s.Tail, Dest: tmpl, Status: 301, Query: q})
	if err != nil {
		t.Fatalf("compile %+v: %v", s, err)
	}
	ix, err := NewIndex([]*Pattern{p})
	if err != nil {
		t.Fatal(err)
	}
	sub := []byte(Subject(path))
	got, m := ix.Lookup(nil, sub, AppendFold(nil, sub), query)
	if got == nil {
		return "", false
	}
	return got.Expand(sub, m, query, false), true
}

func TestTranslate(t *testing.T) {
	mustN := func(p string) *Source {
		s, err := Netlify(p, false)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	mustP := func(p string) *Source {
		s, err := PathToRegexp(p, false)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return s
	}
	mustR := func(p string) *Source {
		s, err := Regex(p, true)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	mustL := func(p string, prefix bool) *Source {
		s, err := Literal(p, prefix, false, false)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, c := range []struct {
		src               *Source
		dest, path, query string
		q                 []QueryCond
		want              string
		ok                bool
	}{
		{mustN("/gateway/:version/install/"), "/gw/:version/setup", "/gateway/3.1/install", "", nil, "/gw/3.1/setup", true},
		{mustN("/gateway/:version/install/"), "/gw/:version/setup", "/Gateway/3.1/install/", "", nil, "/gw/3.1/setup", true},
		{mustN("/gateway/:version/install/"), "/x", "/gateway/3.1/x/install", "", nil, "", false},
		{mustN("/docs/kubectl_*"), "/k/:splat", "/docs/kubectl_apply", "", nil, "/k/apply", true},
		{mustN("/gateway/2.*"), "/g/:splat", "/gateway/2.8/a", "", nil, "/g/8/a", true},
		{mustN("/a/*"), "/b/:splat", "/a", "", nil, "/b/", true},
		{mustN("/a/*"), "/b/:splat", "/a/x/y", "", nil, "/b/x/y", true},
		{mustN("/store"), "/items/:id", "/store", "id=42", []QueryCond{{"id", ":id"}}, "/items/42", true},
		{mustN("/store"), "/items/:id", "/store", "x=42", []QueryCond{{"id", ":id"}}, "", false},
		{mustP("/docs/next/:match*"), "/docs/:match*", "/docs/next", "", nil, "/docs", true},
		{mustP("/docs/next/:match*"), "/docs/:match*", "/docs/next/a/b", "", nil, "/docs/a/b", true},
		{mustP("/docs/ja/"), "/docs/ja", "/docs/ja", "", nil, "", false},
		{mustP("/docs/ja/"), "/docs/ja", "/docs/ja/", "", nil, "/docs/ja", true},
		{mustP("/:version(v6|v7)/x"), "/docs/:version", "/v7/x", "", nil, "/docs/v7", true},
		{mustP("/:version(v6|v7)/x"), "/docs/:version", "/v8/x", "", nil, "", false},
		{mustP("/a(/.*)?"), "/b$1", "/a/c/d", "", nil, "/b/c/d", true},
		{mustP("/a/:s1.:s2"), "https://h/c/:s1.:s2.html", "/a/x.y", "", nil, "https://h/c/x.y.html", true},
		{mustP("/a{-:x}?"), "/b/:x", "/a-q", "", nil, "/b/q", true},
		{mustR("^/nova/([^/]+)/x.html$"), "/nova/$1/y.html", "/nova/n1/x.html", "", nil, "/nova/n1/y.html", true},
		{mustR("^/(?<lang>en|ru)/(?<tail>.*)$"), "/d/$lang/${tail}", "/ru/a/b", "", nil, "/d/ru/a/b", true},
		{mustL("/a/b", false), "/c", "/A/B/", "", nil, "/c", true},
		{mustL("/a/*", true), "/c/:splat", "/a/Q", "", nil, "/c/Q", true},
		{mustN("/caf%C3%A9/:x"), "/c/:x", "/caf%c3%a9/%E2%82%AC", "", nil, "/c/%E2%82%AC", true},
	} {
		got, ok := expand(t, c.src, c.dest, c.path, c.query, c.q)
		if ok != c.ok || got != c.want {
			t.Errorf("%s (%v) %s?%s: got %q %v, want %q %v", c.src.Re, c.src.Segs, c.path, c.query, got, ok, c.want, c.ok)
		}
	}
}
