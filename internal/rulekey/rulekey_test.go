package rulekey

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/redirc/redirc/internal/urlnorm"
)

// TestKindBytes pins the kind bytes: they are stored in every build.
func TestKindBytes(t *testing.T) {
	for _, tt := range []struct {
		prefix, cs bool
		k          Kind
		b          byte
		fold       bool
	}{
		{false, false, Exact, 'e', true},
		{false, true, ExactCase, 'E', false},
		{true, false, Prefix, 'p', true},
		{true, true, PrefixCase, 'P', false},
	} {
		k := KindOf(tt.prefix, tt.cs)
		if k != tt.k || byte(k) != tt.b || k.IsPrefix() != tt.prefix || k.Fold() != tt.fold || !k.Valid() {
			t.Errorf("KindOf(%v, %v) = %q (prefix %v fold %v valid %v), want %q", tt.prefix, tt.cs, byte(k), k.IsPrefix(), k.Fold(), k.Valid(), tt.b)
		}
	}
	for _, b := range []byte{0, 'x', 'a', '/', 0xff} {
		if Kind(b).Valid() {
			t.Errorf("Kind(%q).Valid() = true", b)
		}
	}
	if s := Prefix.String() + " " + Kind('x').String(); s != "prefix Kind(0x78)" {
		t.Errorf("String() = %q", s)
	}
}

// TestKeyBytes pins the bytes of representative keys. Builds already on
// disk hold these bytes: changing them breaks every existing build.
func TestKeyBytes(t *testing.T) {
	for _, tt := range []struct {
		host, path string // path as written, with a trailing "/*" for prefix rules
		cs, strict bool
		key        string
	}{
		{"", "/", false, false, "e/"},
		{"", "/a", false, false, "e/a"},
		{"", "/A/B/", false, false, "e/a/b"},
		{"", "/A/B/", false, true, "e/a/b/"},
		{"", "/a//", false, false, "e/a/"},
		{"", "/", false, true, "e/"},
		{"", "/Case", true, false, "E/Case"},
		{"", "/café", false, false, "e/caf%C3%A9"},
		{"", "/CAF%c3%a9", false, false, "e/caf%C3%A9"},
		{"", "/%41%2fB", false, false, "e/a%2Fb"},
		{"", "/%41%2fB", true, false, "E/A%2FB"},
		{"", "/x y?z#f\\", false, false, "e/x%20y%3Fz%23f%5C"},
		{"example.com", "/x", false, false, "eexample.com/x"},
		{"example.com", "/X/", true, false, "Eexample.com/X"},
		{"[::1]", "/a", false, false, "e[::1]/a"},
		{"", "/docs/*", false, false, "p/docs"},
		{"", "/Docs/*", false, true, "p/docs"},
		{"", "/Docs//*", true, false, "P/Docs/"}, // an explicit double slash stays (before issue 9: "P/Docs")
		{"", "/a///*", false, false, "p/a//"},
		{"", "/*", false, false, "p"},
		{"", "/*", true, true, "P"},
		{"example.com", "/*", false, false, "pexample.com"},
		{"example.com", "/Docs/API/*", true, false, "Pexample.com/Docs/API"},
		{"", "/docs*", false, false, "e/docs*"},
		{"", "/a/*/b", false, false, "e/a/*/b"},
	} {
		path, prefix := SplitPattern(tt.path)
		k := KindOf(prefix, tt.cs)
		key, err := Append([]byte("junk"), k, tt.host, path, tt.strict)
		if err != nil {
			t.Errorf("Append(%q, %q): %v", tt.host, tt.path, err)
			continue
		}
		if got := string(key[4:]); got != tt.key || string(key[:4]) != "junk" {
			t.Errorf("key of %q %q cs=%v strict=%v: %q, want %q", tt.host, tt.path, tt.cs, tt.strict, key, "junk"+tt.key)
		}
	}
}

func TestSplitPattern(t *testing.T) {
	for in, want := range map[string]struct {
		base   string
		prefix bool
	}{
		"/docs/*": {"/docs/", true}, "/*": {"/", true}, "/a//*": {"/a//", true},
		"/docs": {"/docs", false}, "/docs*": {"/docs*", false}, "/": {"/", false}, "*": {"*", false}, "": {"", false},
	} {
		if b, p := SplitPattern(in); b != want.base || p != want.prefix {
			t.Errorf("SplitPattern(%q) = %q, %v; want %q, %v", in, b, p, want.base, want.prefix)
		}
	}
}

func TestAppendRefuses(t *testing.T) {
	for _, tt := range []struct {
		k          Kind
		host, path string
		err        error
	}{
		{'x', "", "/a", ErrKind},
		{0, "", "/a", ErrKind},
		{Exact, "a/b", "/c", ErrHost},
		{Prefix, "/", "/c", ErrHost},
		{Exact, strings.Repeat("h", MaxHost+1), "/c", ErrHost},
		{Exact, "", "", ErrPath},
		{Exact, "example.co", "m/x", ErrPath},
		{Prefix, "", "docs/", ErrPath},
		{Exact, "", "%2Fa", ErrPath},
	} {
		dst := []byte("keep")
		got, err := Append(dst, tt.k, tt.host, tt.path, false)
		if !errors.Is(err, tt.err) || string(got) != "keep" {
			t.Errorf("Append(%q, %q, %q) = %q, %v; want %q, %v", byte(tt.k), tt.host, tt.path, got, err, "keep", tt.err)
		}
	}
	if _, err := Append(nil, Exact, strings.Repeat("h", MaxHost), "/c", false); err != nil {
		t.Errorf("a host of MaxHost bytes: %v", err)
	}
}

func TestRequestPathAndAppendPath(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"", "/", true},
		{"/", "/", true},
		{"/A%7e", "/a~", true},
		{"m/x", "", false},
		{"x", "", false},
		{"%2F", "", false},
		{"*", "", false},
		{"\\a", "", false},
	} {
		p, ok := RequestPath(tt.in)
		if ok != tt.ok || (ok && p != tt.in && !(tt.in == "" && p == "/")) {
			t.Errorf("RequestPath(%q) = %q, %v", tt.in, p, ok)
		}
		got, ok := AppendPath([]byte("k"), tt.in, true)
		if want := "k" + tt.want; ok != tt.ok || string(got) != want {
			t.Errorf("AppendPath(%q) = %q, %v; want %q, %v", tt.in, got, ok, want, tt.ok)
		}
	}
}

func TestAppendHost(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"Example.COM:443", "example.com", true},
		{"example.com.", "example.com", true},
		{"[::1]:80", "[::1]", true},
		{"", "", true},
		{"example.com/x", "", false},
		{"/", "", false},
		{"a/b:80", "", false},
		{strings.Repeat("h", MaxHost) + ":80", strings.Repeat("h", MaxHost), true},
		{strings.Repeat("h", MaxHost+1), "", false},
	} {
		got, ok := AppendHost([]byte("k"), tt.in)
		if want := "k" + tt.want; ok != tt.ok || string(got) != want {
			t.Errorf("AppendHost(%q) = %q, %v; want %q, %v", tt.in, got, ok, want, tt.ok)
		}
	}
}

func TestExactAndPrefixLen(t *testing.T) {
	for _, tt := range []struct {
		p                   string
		loose, strict, pref int
	}{
		{"/", 1, 1, 0},
		{"", 0, 0, 0},
		{"/a", 2, 2, 2},
		{"/a/", 2, 3, 2},
		{"/a//", 3, 4, 3},
		{"//", 1, 2, 1},
		{"/a/b/", 4, 5, 4},
	} {
		if n := ExactLen(tt.p, false); n != tt.loose {
			t.Errorf("ExactLen(%q, false) = %d, want %d", tt.p, n, tt.loose)
		}
		if n := ExactLen([]byte(tt.p), true); n != tt.strict {
			t.Errorf("ExactLen(%q, true) = %d, want %d", tt.p, n, tt.strict)
		}
		if n := PrefixLen(tt.p); n != tt.pref {
			t.Errorf("PrefixLen(%q) = %d, want %d", tt.p, n, tt.pref)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, tt := range []struct {
		key        string
		k          Kind
		host, path string
		ok         bool
	}{
		{"e/", Exact, "", "/", true},
		{"eexample.com/x/y", Exact, "example.com", "/x/y", true},
		{"E/Case", ExactCase, "", "/Case", true},
		{"p", Prefix, "", "", true},
		{"pexample.com", Prefix, "example.com", "", true},
		{"P/Docs", PrefixCase, "", "/Docs", true},
		{"", 0, "", "", false},
		{"x/a", 0, "", "", false},
		{"e", 0, "", "", false},
		{"eexample.com", 0, "", "", false},
		{"p" + strings.Repeat("h", MaxHost+1), 0, "", "", false},
	} {
		k, h, p, ok := Split(tt.key)
		if k != tt.k || h != tt.host || p != tt.path || ok != tt.ok {
			t.Errorf("Split(%q) = %q, %q, %q, %v; want %q, %q, %q, %v", tt.key, byte(k), h, p, ok, byte(tt.k), tt.host, tt.path, tt.ok)
		}
		if ok {
			if h2, p2 := SplitAt(tt.key, len(h)); h2 != h || p2 != p {
				t.Errorf("SplitAt(%q, %d) = %q, %q", tt.key, len(h), h2, p2)
			}
		}
	}
}

func TestSegments(t *testing.T) {
	for p, want := range map[string]int{"": 0, "/": 1, "/docs": 1, "/docs/api": 2, "/a//b": 3, "/a%2Fb": 1} {
		if n := Segments(p); n != want {
			t.Errorf("Segments(%q) = %d, want %d", p, n, want)
		}
		if n := Segments([]byte(p)); n != want {
			t.Errorf("Segments([]byte(%q)) = %d, want %d", p, n, want)
		}
	}
}

// refPrefixes is the prefix walk as the runtime wrote it before this
// package existed: every boundary from the longest down, counting
// segments on the way.
func refPrefixes(p string, maxSegments int) []int {
	var out []int
	segs := strings.Count(p, "/")
	for j := len(p); j >= 0; j-- {
		if j < len(p) {
			if p[j] != '/' {
				continue
			}
			segs--
		} else if j > 0 && p[j-1] == '/' {
			continue
		}
		if segs > maxSegments {
			continue
		}
		out = append(out, j)
	}
	return out
}

func walk(p string, maxSegments int) []int {
	var out []int
	for n := FirstPrefix(p, maxSegments); n >= 0; n = NextPrefix(p, n) {
		out = append(out, n)
	}
	return out
}

func TestPrefixWalk(t *testing.T) {
	for _, tt := range []struct {
		p    string
		max  int
		want []int
	}{
		{"/docs/guide/intro", 1, []int{5, 0}},
		{"/docs/guide/intro", 5, []int{17, 11, 5, 0}},
		{"/docs/", 5, []int{5, 0}},
		{"/docs/", 1, []int{5, 0}},
		{"/docs/", 0, []int{0}},
		{"/", 3, []int{0}},
		{"/a//b", 3, []int{5, 3, 2, 0}},
		{"/a", -1, nil},
	} {
		if got := walk(tt.p, tt.max); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("walk(%q, %d) = %v, want %v", tt.p, tt.max, got, tt.want)
		}
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 3))
	for range 20000 {
		var b strings.Builder
		b.WriteByte('/')
		for range r.IntN(8) {
			b.WriteString([]string{"/", "a", "bc", "/", "%2F"}[r.IntN(5)])
		}
		p, max := b.String(), r.IntN(6)-1
		if got, want := walk(p, max), refPrefixes(p, max); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seed %d: walk(%q, %d) = %v, reference %v", seed, p, max, got, want)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	buf := make([]byte, 0, 512)
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		h, _ := AppendHost(buf[:0], "Example.COM:8080")
		p, _ := AppendPath(buf[:64], "/Docs/Caf%c3%a9/Guide/", true)
		p = p[64:]
		sink += ExactLen(p, false) + PrefixLen(p) + Segments(p) + HeaderLen(h)
		for n := FirstPrefix(p, 2); n >= 0; n = NextPrefix(p, n) {
			sink += PutHeader(buf[:cap(buf)], 300, Prefix, h)
		}
		k, _ := Append(buf[:0], ExactCase, "example.com", "/Docs/x", false)
		sink += len(k)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations, want 0", allocs)
	}
	_ = sink
}

// checkRoundTrip builds a key and checks what the layout promises: the
// host holds no '/', the path begins with '/' (or is empty for a prefix
// key), and Split gives back exactly the kind, the host and the canonical,
// trimmed path. Split being a function of the key, no two different
// (kind, host, path) triples can share a key.
func checkRoundTrip(t *testing.T, k Kind, host, path string, strict bool) {
	key, err := Append(nil, k, host, path, strict)
	if err != nil {
		if k.Valid() && validHost(host) && strings.HasPrefix(path, "/") {
			t.Fatalf("Append(%q, %q, %q): %v", byte(k), host, path, err)
		}
		return
	}
	canon := urlnorm.Path(path, k.Fold())
	if k.IsPrefix() {
		canon = canon[:PrefixLen(canon)]
	} else {
		canon = canon[:ExactLen(canon, strict)]
	}
	gk, gh, gp, ok := Split(string(key))
	if !ok || gk != k || gh != host || gp != canon {
		t.Fatalf("Split(Append(%q, %q, %q)) = %q, %q, %q, %v; want %q, %q, %q", byte(k), host, path, byte(gk), gh, gp, ok, byte(k), host, canon)
	}
	if strings.Contains(gh, "/") || (gp == "" && !k.IsPrefix()) || (gp != "" && gp[0] != '/') {
		t.Fatalf("key %q breaks the layout: host %q path %q", key, gh, gp)
	}
	if h, p := SplitAt(string(key), len(host)); h != gh || p != gp {
		t.Fatalf("SplitAt(%q, %d) = %q, %q", key, len(host), h, p)
	}
}

// TestKeysRoundTripRandomized: random kinds, hosts and paths from an
// alphabet rich in '/' and in host-like bytes, so that many (host, path)
// pairs concatenate to the same string.
func TestKeysRoundTripRandomized(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 5))
	alpha := []string{"/", "/", "m", "x", ".", "com", "co", "%2F", "%2f", "A", "é", "?", " ", ":80"}
	gen := func(n int) string {
		var b strings.Builder
		for range r.IntN(n) {
			b.WriteString(alpha[r.IntN(len(alpha))])
		}
		return b.String()
	}
	seen := map[string]string{}
	for range 20000 {
		k := []Kind{Exact, ExactCase, Prefix, PrefixCase}[r.IntN(4)]
		host, path := gen(4), gen(6)
		if r.IntN(3) > 0 {
			path = "/" + path
		}
		strict := r.IntN(2) == 0
		checkRoundTrip(t, k, host, path, strict)
		if key, err := Append(nil, k, host, path, strict); err == nil {
			// The same key must always come from the same host.
			if h, dup := seen[string(key)]; dup && h != host {
				t.Fatalf("seed %d: key %q from host %q and host %q", seed, key, h, host)
			}
			seen[string(key)] = host
		}
	}
}

func FuzzKeyRoundTrip(f *testing.F) {
	f.Add(byte('e'), "example.com", "/x", false)
	f.Add(byte('e'), "example.co", "m/x", false)
	f.Add(byte('p'), "example.com/x", "/", false)
	f.Add(byte('P'), "", "/Docs//", true)
	f.Add(byte('E'), "a.b", "/%2F/", true)
	f.Fuzz(func(t *testing.T, k byte, host, path string, strict bool) {
		checkRoundTrip(t, Kind(k), host, path, strict)
	})
}

// TestDoubleSlashPrefix: "/a//*" matches the paths under "/a//" only, not
// "/a/x" (issue 9); "/a/*" still matches "/a//x".
func TestDoubleSlashPrefix(t *testing.T) {
	key := func(pattern string) string {
		p, _ := SplitPattern(pattern)
		k, err := Append(nil, Prefix, "", p, false)
		if err != nil {
			t.Fatal(err)
		}
		return string(k)
	}
	matches := func(pattern, req string) bool {
		want := key(pattern)
		for n := FirstPrefix(req, 8); n >= 0; n = NextPrefix(req, n) {
			k, _ := Append(nil, Prefix, "", "/", false) // "p"
			k = append(k, req[:n]...)
			if string(k) == want {
				return true
			}
		}
		return false
	}
	for _, tt := range []struct {
		pattern, req string
		want         bool
	}{
		{"/a//*", "/a//x", true},
		{"/a//*", "/a//", true},
		{"/a//*", "/a/x", false},
		{"/a//*", "/a", false},
		{"/a/*", "/a//x", true},
		{"/a/*", "/a/x", true},
		{"/a/*", "/a", true},
		{"/*", "/x", true},
	} {
		if got := matches(tt.pattern, tt.req); got != tt.want {
			t.Errorf("%s on %s: %v, want %v", tt.pattern, tt.req, got, tt.want)
		}
	}
}
