package shardfmt

import (
	"strings"
	"testing"
)

// TestHasControlByte compares the word-at-a-time scan with a byte loop, for
// every byte value at every position of an 8-byte word and in the tail.
func TestHasControlByte(t *testing.T) {
	naive := func(b []byte) bool {
		for _, c := range b {
			if c < 0x20 || c == 0x7f {
				return true
			}
		}
		return false
	}
	r := newRand(t)
	for n := range 20 {
		for pos := range n {
			for v := range 256 {
				b := make([]byte, n)
				for i := range b {
					// Fill with bytes that are never control bytes, from
					// every range (ASCII, UTF-8 continuation, 0xff).
					b[i] = []byte{' ', 'a', '~', 0x80, 0x9f, 0xa0, 0xff}[r.IntN(7)]
				}
				b[pos] = byte(v)
				if got, want := hasControlByte(b), naive(b); got != want {
					t.Fatalf("hasControlByte(%q) = %v, want %v", b, got, want)
				}
			}
		}
	}
	for range 100000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		if got, want := hasControlByte(b), naive(b); got != want {
			t.Fatalf("hasControlByte(%q) = %v, want %v", b, got, want)
		}
	}
}

// TestHasPrefixFoldASCII checks the ASCII case folding against
// strings.EqualFold, including runes that fold to ASCII letters.
func TestHasPrefixFoldASCII(t *testing.T) {
	pieces := []string{"h", "H", "t", "T", "p", "P", "s", "S", ":", "/", "\x1a", "\x0f", "ſ", "K", "\u212a", "x", "\xc5", "\xbf"}
	var gen func(prefix string, depth int)
	gen = func(s string, depth int) {
		for _, p := range []string{"http://", "https://"} {
			want := len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
			if got := hasPrefixFoldASCII(s, p); got != want {
				t.Fatalf("hasPrefixFoldASCII(%q, %q) = %v, EqualFold says %v", s, p, got, want)
			}
		}
		if depth == 0 {
			return
		}
		for _, x := range pieces {
			gen(s+x, depth-1)
		}
	}
	// Every string of up to 4 pieces, then the real prefixes with a tail.
	gen("", 4)
	for _, base := range []string{"http", "HTTP", "https", "hTtPs", "httpſ", "http\x1a"} {
		gen(base, 3)
	}
}
