package runtime

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/shardfmt"
)

// patternBuildRules returns 2,000 exact rules and a few pattern rules of
// every kind: a Netlify placeholder, a pass, a "${host}" destination and a
// "${0}" one. version changes the placeholder rule's destination.
func patternBuildRules(t testing.TB, version string) []compiler.Rule {
	rules := parseRules(t, bigRules(2000)...)
	ng := func(line int, src, dst string) compiler.Rule {
		return compiler.Rule{Source: src, Destination: dst, Status: 301, Syntax: compiler.SyntaxRegex, FirstMatch: true,
			CaseSensitive: true, Order: line, Pos: compiler.Pos{File: "nginx.conf", Line: line}}
	}
	pass := ng(1, `^/archive/`, "")
	pass.Pass, pass.Status = true, 0
	return append(rules,
		compiler.Rule{Source: "/gw/:version/install", Destination: "/gw/:version/" + version, Status: 301,
			Syntax: compiler.SyntaxNetlify, FirstMatch: true, Pos: compiler.Pos{File: "_redirects", Line: 1}},
		pass,
		ng(2, `^/(.+)\.php$`, "https://${host}/$1.html"),
		ng(3, `^/old(/.*)?$`, "https://new.example${0}"),
	)
}

func writePatternBuild(t testing.TB, dir string, rules []compiler.Rule) *compiler.Build {
	t.Helper()
	b, ps, err := compiler.Compile(rules, compiler.Options{Shards: 8})
	if err != nil {
		t.Fatalf("compile: %v %v", err, ps)
	}
	if b.Index.Patterns == nil {
		t.Fatal("the build has no pattern file")
	}
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return b
}

// checkPatternAnswers checks that lk answers the rules of
// patternBuildRules(version) and an exact rule.
func checkPatternAnswers(t *testing.T, what string, lk func(host, path, query string) Result, version string) {
	t.Helper()
	for _, c := range []struct {
		host, path string
		status     int
		loc        string
	}{
		{"example.com", "/r/7", 301, "/to/7"},
		{"example.com", "/gw/3.1/install", 301, "/gw/3.1/" + version},
		{"Example.COM:8080", "/a/b.php", 301, "https://example.com/a/b.html"},
		{"example.com", "/archive/b.php", 0, ""}, // the pass comes first
		{"example.com", "/old/x", 301, "https://new.example/old/x"},
		{"a b", "/a/b.php", 0, ""}, // no Location from a bad host
	} {
		if r := lk(c.host, c.path, ""); r.Status != c.status || r.Location != c.loc {
			t.Errorf("%s: %s%s: %d %q, want %d %q", what, c.host, c.path, r.Status, r.Location, c.status, c.loc)
		}
	}
}

// TestLocalReloadKeepsPatterns: a shard-by-shard reload
// (shardfmt.LoadBuildReusing) keeps the pattern rules answering, whether
// the pattern file changed or not.
func TestLocalReloadKeepsPatterns(t *testing.T) {
	dir := t.TempDir()
	rules := patternBuildRules(t, "setup")
	writePatternBuild(t, dir, rules)
	l, err := OpenLive(dir, LiveOptions{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	checkPatternAnswers(t, "first build", l.Lookup, "setup")

	// One exact rule changes: seven shards and the pattern file are
	// the same.
	a := l.Set()
	rules[5] = compiler.Rule{Source: "/r/5", Destination: "/five", Status: 302, Pos: rules[5].Pos}
	writePatternBuild(t, dir, rules)
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	b := l.Set()
	if a == b {
		t.Fatal("not reloaded")
	}
	same := 0
	for i := range a.build.Shards {
		if a.build.Shards[i] == b.build.Shards[i] {
			same++
		}
	}
	if same != 7 {
		t.Errorf("%d of 8 shards reused, want 7", same)
	}
	checkPatternAnswers(t, "exact rule changed", l.Lookup, "setup")
	if r := l.Lookup("", "/r/5", ""); r.Location != "/five" {
		t.Errorf("/r/5 after reload: %+v", r)
	}

	// Only the pattern rules change: every shard is reused, the new
	// pattern file answers.
	rules2 := patternBuildRules(t, "install-guide")
	rules2[5] = rules[5]
	writePatternBuild(t, dir, rules2)
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	c := l.Set()
	for i := range b.build.Shards {
		if b.build.Shards[i] != c.build.Shards[i] {
			t.Errorf("shard %d not reused", i)
		}
	}
	checkPatternAnswers(t, "pattern rules changed", l.Lookup, "install-guide")
}

// TestRemotePatterns: a build served by an origin answers its pattern
// rules; a pattern file tampered with on the origin is refused, at open
// and on a reload (the build serving stays).
func TestRemotePatterns(t *testing.T) {
	dir := t.TempDir()
	writePatternBuild(t, dir, patternBuildRules(t, "setup"))
	o := newTestOrigin(t, dir)
	l := openRemote(t, o, RemoteOptions{})
	checkPatternAnswers(t, "remote", l.Lookup, "setup")

	flip := func(name string, b []byte) []byte {
		if strings.HasSuffix(name, ".rdp") {
			c := append([]byte(nil), b...)
			c[len(c)/2] ^= 1
			return c
		}
		return b
	}
	// Refused at open.
	bad := newTestOrigin(t, dir)
	bad.replace.Store(&flip)
	if l2, err := OpenRemote(context.Background(), bad.url(), LiveOptions{Logger: testLogger(t)}); err == nil || !errors.Is(err, shardfmt.ErrCorrupt) {
		if l2 != nil {
			t.Errorf("tampered pattern file at open: answers %+v", l2.Lookup("example.com", "/gw/3.1/install", ""))
		}
		t.Errorf("tampered pattern file at open: err %v, want one wrapping ErrCorrupt", err)
	}

	// Refused on a reload: a new build whose pattern file is tampered
	// with keeps the current one serving.
	o.replace.Store(&flip)
	writePatternBuild(t, dir, patternBuildRules(t, "install-guide"))
	err := l.Reload()
	if err == nil || !errors.Is(err, shardfmt.ErrCorrupt) || !strings.Contains(err.Error(), ".rdp") {
		t.Errorf("reload with a tampered pattern file: %v, want ErrCorrupt naming the .rdp file", err)
	}
	checkPatternAnswers(t, "after a refused reload", l.Lookup, "setup")
	// Fixed on the origin: the new build installs.
	o.replace.Store(nil)
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	checkPatternAnswers(t, "new build", l.Lookup, "install-guide")
}
