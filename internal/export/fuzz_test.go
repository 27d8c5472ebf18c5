package export

import (
	"bytes"
	"strings"
	"testing"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/internal/inspect"
	"github.com/redirc/redirc/shardfmt"
)

// nginxUnquote reads a double-quoted nginx string as ngx_conf_file.c does:
// \" \\ \t \r \n are escapes; any other backslash is kept.
func nginxUnquote(q string) (string, bool) {
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return "", false
	}
	q = q[1 : len(q)-1]
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c == '"' {
			return "", false // would end the string early
		}
		if c == '\\' && i+1 < len(q) {
			switch n := q[i+1]; n {
			case '"', '\\':
				b.WriteByte(n)
				i++
				continue
			case 't', 'r', 'n':
				b.WriteByte(map[byte]byte{'t': '\t', 'r': '\r', 'n': '\n'}[n])
				i++
				continue
			}
		}
		if c == '\\' && i+1 == len(q) {
			return "", false // would escape the closing quote
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

func FuzzNginxQuote(f *testing.F) {
	for _, s := range []string{"/a", `"`, `\`, `\"`, `\\t`, "$x", "a\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := nginxQuote(s)
		got, ok := nginxUnquote(q)
		if !ok || got != s {
			t.Fatalf("nginxQuote(%q) = %s reads back as %q, %v", s, q, got, ok)
		}
	})
}

// FuzzNetlifyRoundTrip compiles one rule with a fuzzed source, exports it
// as Netlify _redirects and reads it back: the key must be the same.
func FuzzNetlifyRoundTrip(f *testing.F) {
	for _, s := range []string{"/a", "/:x", "/a*b", "/a/*", "/%2A", "/caf%C3%A9", "https://h.example/:p/*", "/a%20b", "/a#b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		cb, _, err := compiler.Compile([]compiler.Rule{{Source: src, Destination: "/to", Status: 301}}, compiler.Options{})
		if err != nil {
			return
		}
		b := openBuild(t, cb)
		out := MapOutput{}
		res, err := Export(Netlify, b, out, Options{SkipUnsupported: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Rules == 0 {
			return
		}
		rules, probs, err := compiler.Read("_redirects", bytes.NewReader(out["_redirects"]), compiler.ReadOptions{Format: compiler.FormatNetlify})
		if err != nil || compiler.HasErrors(probs) {
			t.Fatalf("source %.200q exported as\n%.300s\nreads back with %v %v", src, out["_redirects"], err, probs)
		}
		// Escaping makes a source up to 3 times longer than its key.
		cb2, probs, err := compiler.Compile(rules, compiler.Options{MaxSourceBytes: 1 << 20})
		if err != nil {
			t.Fatalf("source %.200q: %v %v", src, err, probs)
		}
		k1, k2 := keys(t, b), keys(t, openBuild(t, cb2))
		if k1 != k2 {
			t.Fatalf("source %q: key %q exported as\n%s\nreads back as key %q", src, k1, out["_redirects"], k2)
		}
	})
}

func openBuild(t *testing.T, cb *compiler.Build) *shardfmt.Build {
	t.Helper()
	shards := make([]*shardfmt.Shard, len(cb.Shards))
	for i, img := range cb.Shards {
		s, err := shardfmt.OpenShard(img)
		if err != nil {
			t.Fatal(err)
		}
		shards[i] = s
	}
	b, err := shardfmt.NewBuild(cb.Index, shards)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keys(t *testing.T, b *shardfmt.Build) string {
	t.Helper()
	rs, err := inspect.Rules(b)
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, r := range rs {
		ks = append(ks, r.Key+" -> "+r.Record.Dest)
	}
	return strings.Join(ks, "\n")
}
