package compiler

import (
	"strings"
	"testing"

	"github.com/redirc/redirc/shardfmt"
)

// finals checks rules and returns each rule's compiled destination by source.
func finals(t *testing.T, rs []Rule, opt Options) map[string]string {
	t.Helper()
	c := check(rs, opt)
	if HasErrors(c.probs) {
		t.Fatalf("unexpected errors: %v", c.probs)
	}
	got := map[string]string{}
	for _, r := range c.rules {
		got[c.src(r).Source] = r.final
	}
	return got
}

// TestChainCarriesHost: a relative hop reached through an absolute URL is
// on that URL's site, and a hop from a host-scoped rule is looked up on
// that host; flattening the flattened output again changes nothing.
func TestChainCarriesHost(t *testing.T) {
	tests := []struct {
		name  string
		rules []string
		want  map[string]string
	}{
		{"relative hop after an absolute URL",
			[]string{"a.example/old https://b.example/mid", "b.example/mid /old"},
			map[string]string{"a.example/old": "https://b.example/old", "b.example/mid": "/old"}},
		{"any-host rule through a host-scoped one",
			[]string{"/x https://example.com/y", "example.com/y /z"},
			map[string]string{"/x": "https://example.com/z", "example.com/y": "/z"}},
		{"host context kept across an any-host hop",
			[]string{"example.com/a /b", "/b /c", "example.com/c /d"},
			map[string]string{"example.com/a": "/d", "/b": "/c", "example.com/c": "/d"}},
		{"fragment and port kept",
			[]string{"/x https://Example.com:8443/y#f", "example.com/y /z"},
			map[string]string{"/x": "https://Example.com:8443/z#f"}},
	}
	for _, tt := range tests {
		got := finals(t, rules(t, tt.rules...), Options{})
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%s: %s -> %q, want %q", tt.name, k, got[k], v)
			}
		}
		// Idempotent: compiling the flattened output answers the same.
		var again []string
		for _, l := range tt.rules {
			src := strings.Fields(l)[0]
			again = append(again, src+" "+got[src])
		}
		got2 := finals(t, rules(t, again...), Options{})
		for k, v := range got {
			if got2[k] != v {
				t.Errorf("%s: not idempotent: %s -> %q, then %q", tt.name, k, v, got2[k])
			}
		}
	}
}

// TestChainLoopAcrossHosts: a loop only requests on one host run into is
// still a loop.
func TestChainLoopAcrossHosts(t *testing.T) {
	ps := Check(rules(t, "/a /b", "example.com/b /a"), Options{})
	if !HasErrors(ps) || !strings.Contains(ps[0].Msg, "redirect loop") {
		t.Fatalf("want a redirect loop, got %v", ps)
	}
}

// TestNoFlatten: with NoFlatten every rule answers its own destination,
// loops are still errors.
func TestNoFlatten(t *testing.T) {
	got := finals(t, rules(t, "/a /b", "/b /c"), Options{NoFlatten: true})
	if got["/a"] != "/b" || got["/b"] != "/c" {
		t.Errorf("got %v", got)
	}
	c := check(rules(t, "/a /b", "/b /c"), Options{NoFlatten: true})
	if len(c.chains) != 0 {
		t.Errorf("chains reported with NoFlatten: %v", c.chains)
	}
	if ps := Check(rules(t, "/a /b", "/b /a"), Options{NoFlatten: true}); !HasErrors(ps) {
		t.Errorf("loop not reported with NoFlatten")
	}
}

// TestQueryChain: a rule passing the query on is not flattened through a
// rule that does not (the query would reach the final destination); one
// that does not pass it on is flattened through both.
func TestQueryChain(t *testing.T) {
	got := finals(t, rules(t, "/a /b query", "/b /c", "/x /y", "/y /z query", "/p /q query", "/q /r query",
		"/m /n", "/n /o query", "/o /p2", "/p2 /end"), Options{})
	want := map[string]string{"/a": "/b", "/x": "/z", "/p": "/r", "/m": "/end", "/n": "/o"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s -> %q, want %q", k, got[k], v)
		}
	}
}

// TestEmptyRuleSet: no rules is an error unless AllowEmpty.
func TestEmptyRuleSet(t *testing.T) {
	ps := Check(nil, Options{})
	if len(ps) != 1 || ps[0].Severity != Error || ps[0].Hint != HintAllowEmpty || !strings.Contains(ps[0].Message(nil), "AllowEmpty") {
		t.Fatalf("empty rule set: got %v", ps)
	}
	if _, _, err := Compile(nil, Options{}); err != ErrInvalid {
		t.Fatalf("Compile(nil) err = %v, want ErrInvalid", err)
	}
	b, ps, err := Compile(nil, Options{AllowEmpty: true})
	if err != nil || len(ps) != 0 || b.Index.Rules != 0 {
		t.Fatalf("AllowEmpty: %v %v", ps, err)
	}
	// An invalid rule reports its own error, not also "no rules".
	ps = Check(rules(t, "/a nope"), Options{})
	if len(ps) != 1 || ps[0].Hint == HintAllowEmpty {
		t.Fatalf("invalid only: got %v", ps)
	}
}

// TestSourceWithSchemeInPath: "://" after the host is part of the path.
func TestSourceWithSchemeInPath(t *testing.T) {
	for _, tt := range []struct{ src, host, path string }{
		{"example.com/http://old.example/x", "example.com", "/http://old.example/x"},
		{"https://example.com/https://x", "example.com", "/https://x"},
		{"/http://old.example/x", "", "/http://old.example/x"},
	} {
		h, p, err := splitSource(tt.src)
		if err != nil || h != tt.host || p != tt.path {
			t.Errorf("splitSource(%q) = %q, %q, %v; want %q, %q", tt.src, h, p, err, tt.host, tt.path)
		}
	}
	if _, _, err := splitSource("ftp://example.com/x"); err == nil {
		t.Errorf("ftp source accepted")
	}
}

// TestNetlifyQueryAndForce: as on Netlify, 301 and 302 pass the query
// string on unless the destination has its own, and a rule without "!"
// is unforced; both reach the record's flags.
func TestNetlifyQueryAndForce(t *testing.T) {
	in := "/a /b\n/c /d 302!\n/e /f?x=1 301\n/g /h 307\n/i /j 308!\n/k 410\n"
	rs, ps, err := Read("_redirects", strings.NewReader(in), ReadOptions{})
	if err != nil || len(ps) != 0 {
		t.Fatalf("read: %v %v", ps, err)
	}
	want := []struct{ query, unforced bool }{{true, true}, {true, false}, {false, true}, {false, true}, {false, false}, {false, true}}
	if len(rs) != len(want) {
		t.Fatalf("got %d rules", len(rs))
	}
	for i, r := range rs {
		if r.Query != want[i].query || r.Unforced != want[i].unforced {
			t.Errorf("%s: query %v unforced %v, want %v %v", r.Source, r.Query, r.Unforced, want[i].query, want[i].unforced)
		}
	}
	c := check(rs, Options{})
	for _, r := range c.rules {
		in := c.src(r)
		if (r.flags&shardfmt.FlagQuery != 0) != in.Query || (r.flags&shardfmt.FlagUnforced != 0) != in.Unforced {
			t.Errorf("%s: flags %#x", in.Source, r.flags)
		}
	}
}

// TestForceField: bulk formats read "force" (default true); false is
// Rule.Unforced, so an exported Netlify build rebuilds the same.
func TestForceField(t *testing.T) {
	rs, ps, err := Read("r.csv", strings.NewReader("source,destination,force\n/a,/b,false\n/c,/d,true\n/e,/f,\n"), ReadOptions{})
	if err != nil || len(ps) != 0 || len(rs) != 3 {
		t.Fatalf("csv: %v %v %v", rs, ps, err)
	}
	if !rs[0].Unforced || rs[1].Unforced || rs[2].Unforced {
		t.Errorf("csv: unforced %v %v %v", rs[0].Unforced, rs[1].Unforced, rs[2].Unforced)
	}
	rs, ps, err = Read("r.jsonl", strings.NewReader(`{"source":"/a","destination":"/b","force":false}`+"\n"), ReadOptions{})
	if err != nil || len(ps) != 0 || len(rs) != 1 || !rs[0].Unforced {
		t.Fatalf("jsonl: %v %v %v", rs, ps, err)
	}
}
