package shorten

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// DefaultAlphabet is the alphabet of generated codes: base62 without the
// characters people confuse when they read a code aloud or off a printed
// QR label: 0 (zero), O, 1 (one), l (ell) and I. It has 57 characters.
const DefaultAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// HashKey is the fixed key mixed into every hash code: a code is
// base(len(alphabet)) digits of xxhash64(HashKey || block || url). The key
// is public and fixed on purpose: it makes a URL's code the same on every
// machine and branch, so two branches that add links never pick different
// codes for the same URL. It is not a secret; codes are not meant to be
// unguessable for someone who knows the URL. Changing it would change
// every new code (existing codes are kept by the state file).
const HashKey = "redirc/shorten/v1\x00"

// DefaultLength is the minimum length of generated codes: 57^6 ≈ 3.4e10
// codes, so that a shortener with a million hash links sees a collision
// (and a code one character longer) for about one new link in 34,000.
const DefaultLength = 6

// MaxCodeLength bounds how far a hash code is lengthened on collisions.
const MaxCodeLength = 32

// Alphabet is a validated set of code characters.
type Alphabet struct {
	chars string
}

// NewAlphabet checks that s has at least two distinct characters, each an
// ASCII letter, digit, '-' or '_' (characters that need no escaping in a
// path and are not '/'), and returns it.
func NewAlphabet(s string) (Alphabet, error) {
	if len(s) < 2 {
		return Alphabet{}, fmt.Errorf("alphabet %q: want at least 2 characters", s)
	}
	var seen [256]bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' && c != '_' {
			return Alphabet{}, fmt.Errorf("alphabet %q: character %q is not a letter, digit, '-' or '_'", s, c)
		}
		if seen[c] {
			return Alphabet{}, fmt.Errorf("alphabet %q: character %q appears twice", s, c)
		}
		seen[c] = true
	}
	return Alphabet{chars: s}, nil
}

// String returns the alphabet's characters.
func (a Alphabet) String() string { return a.chars }

// digitsPerBlock is how many digits one 64-bit hash block yields: the
// largest k with len(alphabet)^k <= 2^64 would do, but a smaller k keeps
// the modulo bias negligible; 8 digits of a 57-letter alphabet use 47 bits.
func (a Alphabet) digitsPerBlock() int {
	n, k := uint64(len(a.chars)), 0
	for p := uint64(1); p <= (1<<52)/n; p *= n {
		k++
	}
	return max(k, 1)
}

// HashCode returns the first length characters of url's hash code: the
// digits of successive 64-bit blocks xxhash64(HashKey || uint64 block i ||
// url), least significant digit first. A longer code extends a shorter
// one, so lengthening on a collision keeps the prefix.
func (a Alphabet) HashCode(url string, length int) string {
	return a.hashCode(url, length, 0)
}

// hashCode is HashCode of one variant: variant v numbers its blocks from
// v<<32. A code containing a blocked word moves on to the next variant,
// since lengthening would keep the word.
func (a Alphabet) hashCode(url string, length int, variant uint64) string {
	n := uint64(len(a.chars))
	per := a.digitsPerBlock()
	buf := make([]byte, 0, length)
	var d xxhash.Digest
	var blk [8]byte
	for i := variant << 32; len(buf) < length; i++ {
		d.Reset()
		d.WriteString(HashKey)
		binary.LittleEndian.PutUint64(blk[:], i)
		d.Write(blk[:])
		d.WriteString(url)
		h := d.Sum64()
		for j := 0; j < per && len(buf) < length; j++ {
			buf = append(buf, a.chars[h%n])
			h /= n
		}
	}
	return string(buf)
}

// CounterCode returns n written in the alphabet, most significant digit
// first, padded on the left with the alphabet's first character to at
// least length characters.
func (a Alphabet) CounterCode(n uint64, length int) string {
	base := uint64(len(a.chars))
	var tmp [64]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = a.chars[n%base]
		n /= base
		if n == 0 {
			break
		}
	}
	s := string(tmp[i:])
	if len(s) < length {
		s = strings.Repeat(a.chars[:1], length-len(s)) + s
	}
	return s
}

// Blocklist holds words that generated codes must never contain.
type Blocklist struct {
	words []string // lower case, non-empty
}

// NewBlocklist returns a blocklist of words (compared case-insensitively);
// blank entries and entries starting with '#' are ignored.
func NewBlocklist(words []string) *Blocklist {
	b := &Blocklist{}
	for _, w := range words {
		w = strings.ToLower(strings.TrimSpace(w))
		if w != "" && !strings.HasPrefix(w, "#") {
			b.words = append(b.words, w)
		}
	}
	return b
}

// Len returns the number of words in b.
func (b *Blocklist) Len() int {
	if b == nil {
		return 0
	}
	return len(b.words)
}

// Contains returns the first blocked word that s contains, ignoring case,
// or "".
func (b *Blocklist) Contains(s string) string {
	if b.Len() == 0 {
		return ""
	}
	ls := strings.ToLower(s)
	for _, w := range b.words {
		if strings.Contains(ls, w) {
			return w
		}
	}
	return ""
}

// Segment returns the first blocked word equal to a whole segment of s
// (segments are separated by '/', '-', '_' and '.'), ignoring case, or "".
// Aliases are checked by segment rather than by substring: a person chose
// them, and "classic" must not be refused for containing "ass".
func (b *Blocklist) Segment(s string) string {
	if b.Len() == 0 {
		return ""
	}
	for _, seg := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return r == '/' || r == '-' || r == '_' || r == '.'
	}) {
		for _, w := range b.words {
			if seg == w {
				return w
			}
		}
	}
	return ""
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// MaxAliasLength is the longest custom alias accepted.
const MaxAliasLength = 64

// ValidateAlias checks a custom alias: 1 to MaxAliasLength characters,
// each an ASCII letter, digit, '-', '_', '.' or '/'; it must start and end
// with a letter or digit, have no empty, "." or ".." segment, and not be a
// reserved path (anything under /.redirc/, /.well-known/, robots.txt,
// favicon.ico). The returned error says what is wrong.
func ValidateAlias(alias string) error {
	if alias == "" {
		return fmt.Errorf("empty alias")
	}
	if len(alias) > MaxAliasLength {
		return fmt.Errorf("alias %q is %d characters long; at most %d are allowed", alias, len(alias), MaxAliasLength)
	}
	low := strings.ToLower(alias)
	if low == ".redirc" || strings.HasPrefix(low, ".redirc/") {
		return fmt.Errorf("alias %q is under /.redirc/, which is reserved for the server's health and metrics endpoints", alias)
	}
	if low == ".well-known" || strings.HasPrefix(low, ".well-known/") {
		return fmt.Errorf("alias %q is under /.well-known/, which is reserved (RFC 8615)", alias)
	}
	switch low {
	case "robots.txt", "favicon.ico":
		return fmt.Errorf("alias %q is reserved for the file of that name", alias)
	}
	for i := 0; i < len(alias); i++ {
		c := alias[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' && c != '/' {
			return fmt.Errorf("alias %q: character %q is not allowed (use letters, digits, '-', '_', '.' and '/')", alias, c)
		}
	}
	if !isAlnum(alias[0]) || !isAlnum(alias[len(alias)-1]) {
		return fmt.Errorf("alias %q must start and end with a letter or digit", alias)
	}
	for _, seg := range strings.Split(alias, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("alias %q has an empty, \".\" or \"..\" path segment", alias)
		}
	}
	return nil
}
