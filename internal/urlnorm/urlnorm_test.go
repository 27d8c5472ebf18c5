package urlnorm

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

func TestPath(t *testing.T) {
	tests := []struct {
		in, want string
		fold     bool
	}{
		{"/", "/", false},
		{"/café", "/caf%C3%A9", false},
		{"/caf%C3%A9", "/caf%C3%A9", false},
		{"/caf%c3%a9", "/caf%C3%A9", false},
		{"/a b", "/a%20b", false},
		{"/a%20b", "/a%20b", false},
		{"/%41%62%7e%2D", "/Ab~-", false},
		{"/%41%62%7e%2D", "/ab~-", true},
		{"/CSS/:hover", "/css/:hover", true},
		{"/a%2Fb", "/a%2Fb", false},
		{"/a%2fb", "/a%2Fb", false},
		{"/a?b#c", "/a%3Fb%23c", false},
		{"/a%3fb", "/a%3Fb", false},
		{"/100%", "/100%25", false},
		{"/100%zz", "/100%25zz", false},
		{"/%e", "/%25e", false},
		{"/a\\b", "/a%5Cb", false},
		{"/a\x00\xff", "/a%00%FF", false},
		{"/Ünïcode/ÄB", "/%C3%9Cn%C3%AFcode/%C3%84b", true},
		{"/(x)[y]<z>@!$&'*+,;=", "/(x)%5By%5D%3Cz%3E@!$&'*+,;=", false},
		{"/%28x%29", "/(x)", false},
		{"/A%2FB", "/a%2Fb", true},
	}
	for _, tt := range tests {
		if got := Path(tt.in, tt.fold); got != tt.want {
			t.Errorf("Path(%q, %v) = %q, want %q", tt.in, tt.fold, got, tt.want)
		}
	}
}

// TestPathAsBrowserSends checks that a path as written in a manifest and the
// same path as Go's URL encoder (like a browser) sends it meet on one key.
func TestPathAsBrowserSends(t *testing.T) {
	for _, p := range []string{
		"/en-US/docs/Web/CSS/:hover", "/docs/Foo Bar", "/العربية/مقال", "/a(b)/c[d]",
		"/x<y>z", "/tilde~/%/", "/q?x", "/frag#x", "/emoji/😀", "/semi;colon=1",
	} {
		sent := (&url.URL{Path: p}).EscapedPath()
		for _, fold := range []bool{false, true} {
			if a, b := Path(p, fold), Path(sent, fold); a != b {
				t.Errorf("manifest %q -> %q but browser-sent %q -> %q", p, a, sent, b)
			}
		}
	}
}

func TestHost(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM":       "example.com",
		"example.com:8080":  "example.com",
		"example.com.":      "example.com",
		"Example.com.:443":  "example.com",
		"[::1]:80":          "[::1]",
		"[::1]":             "[::1]",
		"":                  "",
		"localhost:":        "localhost",
		"a-b.example:65535": "a-b.example",
	} {
		if got := Host(in); got != want {
			t.Errorf("Host(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppendPathNoAlloc(t *testing.T) {
	var buf [256]byte
	allocs := testing.AllocsPerRun(100, func() {
		b := AppendPath(buf[:0], "/Some/Path%20with/caf%c3%a9", true)
		_ = AppendHost(b, "Example.com:80")
	})
	if allocs != 0 {
		t.Fatalf("AppendPath allocates %v times, want 0", allocs)
	}
}

// FuzzPath checks that normalization is idempotent, that folding commutes
// with it, and that the output only holds canonical bytes.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"/", "/café", "/%zz%", "/A%2f%2F", "/%C3%a9?#", "/a b\x00\xff", "%%41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		for _, fold := range []bool{false, true} {
			n := Path(p, fold)
			if n2 := Path(n, fold); n2 != n {
				t.Fatalf("not idempotent: N(%q)=%q, N(N)=%q", p, n, n2)
			}
			for i := 0; i < len(n); i++ {
				c := n[i]
				if c == '%' {
					if i+2 >= len(n) || !strings.ContainsRune(hexDigits, rune(n[i+1])) || !strings.ContainsRune(hexDigits, rune(n[i+2])) {
						t.Fatalf("bad escape in %q at %d", n, i)
					}
					i += 2
					continue
				}
				if classes[c]&keep == 0 {
					t.Fatalf("raw byte %#x in canonical %q", c, n)
				}
				if fold && classes[c]&upper != 0 {
					t.Fatalf("upper-case letter left in folded %q", n)
				}
			}
		}
		if a, b := Path(Path(p, false), true), Path(p, true); a != b {
			t.Fatalf("fold after normalize %q != normalize with fold %q", a, b)
		}
		for _, fold := range []bool{false, true} {
			if got, want := Path(p, fold), string(appendPathRef(nil, p, fold)); got != want {
				t.Fatalf("Path(%q, %v) = %q, the byte-at-a-time reference says %q", p, fold, got, want)
			}
		}
	})
}

// appendPathRef is AppendPath as first written, one byte at a time: the
// reference that the run-copying AppendPath must agree with.
func appendPathRef(dst []byte, p string, fold bool) []byte {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' && i+2 < len(p) && classes[p[i+1]]&hex != 0 && classes[p[i+2]]&hex != 0 {
			d := unhex(p[i+1])<<4 | unhex(p[i+2])
			i += 2
			if d != '/' && classes[d]&keep != 0 {
				c = d
			} else {
				dst = append(dst, '%', hexDigits[d>>4], hexDigits[d&15])
				continue
			}
		}
		switch cl := classes[c]; {
		case cl&keep == 0:
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		case fold && cl&upper != 0:
			dst = append(dst, c+('a'-'A'))
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// TestAppendPathAgreesWithReference compares AppendPath with the
// byte-at-a-time reference on random paths over an alphabet rich in the
// bytes that end a copied run (escapes, upper case, bytes to encode).
func TestAppendPathAgreesWithReference(t *testing.T) {
	const alphabet = "abcXYZ019/-._~%%%2fF3eE4A1 ?#\\\x00\xc3\xa9\x7f"
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		p := string(b)
		for _, fold := range []bool{false, true} {
			if got, want := string(AppendPath([]byte("x"), p, fold)), "x"+string(appendPathRef(nil, p, fold)); got != want {
				t.Fatalf("AppendPath(%q, %v) = %q, reference %q", p, fold, got, want)
			}
		}
	}
}

func BenchmarkAppendPath(b *testing.B) {
	var buf [256]byte
	for _, p := range []string{"/docs/getting-started_1x2/install/linux.html", "/Docs/Caf%C3%A9/A%2Fb"} {
		b.Run(fmt.Sprintf("len=%d", len(p)), func(b *testing.B) {
			for b.Loop() {
				AppendPath(buf[:0], p, true)
			}
		})
	}
}
