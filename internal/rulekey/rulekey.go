// Package rulekey owns the layout of redirc's lookup keys: the bytes a rule
// is stored under in a build and the bytes a request is looked up by. The
// compiler builds rule keys with it and the runtime builds probe keys with
// it, so the two meet on the same bytes. Normalization of a path or a host
// on its own is internal/urlnorm's; this package says how the normalized
// parts are put together.
//
// # Layout
//
// A key is
//
//	kind | host | path
//
// with no separators and no length fields:
//
//   - kind is one byte (see Kind): 'e' exact and case-folded, 'E' exact and
//     case-sensitive, 'p' prefix and case-folded, 'P' prefix and
//     case-sensitive.
//   - host is the canonical host (urlnorm.AppendHost: lower-case, no port,
//     no trailing dot) of a host-scoped rule, at most MaxHost bytes, and
//     never contains '/'; it is empty for a rule that applies to any host.
//   - path is the canonical path (urlnorm.AppendPath), case-folded for the
//     folded kinds. The path of an exact key always begins with '/'. The
//     path of a prefix key is empty or begins with '/'.
//
// Because a host never contains '/' and a non-empty path always begins with
// one, a key splits back into its parts at the first '/' after the kind
// byte (Split), and no two (kind, host, path) triples share a key. Inputs
// that would break this (a path that does not begin with '/', a host
// containing '/') are refused by RequestPath, AppendPath, AppendHost and
// Append rather than written into a key: a lookup with such a path is a
// miss, and a request host that cannot be a key host matches only any-host
// rules.
//
// The key bytes are part of the build format: builds on disk hold them, so
// they never change within a format version (TestKeyBytes pins them).
//
// # Trailing slashes
//
// An exact key's path loses one trailing '/' unless the build uses strict
// trailing-slash matching, except the root path "/" (ExactLen): "/a" and
// "/a/" are one key. A prefix key's path loses one trailing '/'
// (PrefixLen), the one before the '*': "/docs/*" and the prefix of "/docs"
// are one key, the root prefix "/*" has the empty path, and "/docs//*"
// keeps the explicit double slash ("/docs/") so that it matches
// "/docs//x" but not "/docs/x". (Builds before issue 9 trimmed every
// trailing '/', so in them "/docs//*" was "/docs"; no other key changed.)
//
// # Prefix rules
//
// A rule source ending in "/*" is a prefix rule (SplitPattern); its key
// path is the canonical path before the '*' without the '/' before it:
// "/docs/*" is stored under the path "/docs", "/docs//*" under "/docs/". A canonical request path p
// is tried against the prefix keys with path p[:n], longest first
// (FirstPrefix, NextPrefix): n = len(p) unless p ends in '/', and every n
// where p[n] is '/'. The remainder after p[:n] and its '/' is the splat.
// So "/docs/" is tried as "/docs" with an empty splat, and every request
// path reaches the root prefix (n = 0).
//
// # Segments
//
// The segment count of a prefix key's path is its number of '/' bytes
// (Segments): "" has 0, "/docs" 1, "/docs/api" 2. A build records the
// largest segment count of its prefix keys (the index's MaxPrefixSegments),
// and a lookup skips prefixes with more segments than that.
//
// The Append functions write into the caller's slice and do not allocate
// when it has room (Append only allocates its error), so the runtime can
// build keys in stack buffers: it writes the canonical path once and puts
// each probe's kind and host right before it (PutHeader).
package rulekey

import (
	"errors"
	"fmt"

	"github.com/redirc/redirc/internal/urlnorm"
)

// Kind is the first byte of every key: what kind of rule the key belongs
// to. One sorted key space holds exact and prefix rules, folded and
// case-sensitive.
type Kind byte

// The kinds of key. Their byte values are part of the on-disk format.
const (
	Exact      Kind = 'e' // exact path, case-folded
	ExactCase  Kind = 'E' // exact path, case-sensitive
	Prefix     Kind = 'p' // prefix rule, case-folded
	PrefixCase Kind = 'P' // prefix rule, case-sensitive
)

// KindOf returns the kind of a rule that is a prefix rule or not and
// matches case-sensitively or not.
func KindOf(prefix, caseSensitive bool) Kind {
	switch {
	case prefix && caseSensitive:
		return PrefixCase
	case prefix:
		return Prefix
	case caseSensitive:
		return ExactCase
	default:
		return Exact
	}
}

// Valid reports whether k is one of the four kinds.
func (k Kind) Valid() bool {
	return k == Exact || k == ExactCase || k == Prefix || k == PrefixCase
}

// IsPrefix reports whether k is a prefix kind.
func (k Kind) IsPrefix() bool { return k == Prefix || k == PrefixCase }

// Fold reports whether the path of a key of kind k is case-folded.
func (k Kind) Fold() bool { return k == Exact || k == Prefix }

// String returns the kind's name: "exact", "exact-case", "prefix" or
// "prefix-case".
func (k Kind) String() string {
	switch k {
	case Exact:
		return "exact"
	case ExactCase:
		return "exact-case"
	case Prefix:
		return "prefix"
	case PrefixCase:
		return "prefix-case"
	}
	return fmt.Sprintf("Kind(%#x)", byte(k))
}

// MaxHost is the longest canonical host a key may hold (DNS names are at
// most 253 bytes).
const MaxHost = 255

// SplitPattern splits a rule path as written into the path a key is made
// from and whether it is a prefix rule: a path ending in "/*" is a prefix
// rule and loses the '*' ("/docs/*" gives "/docs/", whose key path is
// "/docs"; "/*" gives "/"). Any other path is returned as it is.
func SplitPattern(path string) (base string, prefix bool) {
	if n := len(path); n >= 2 && path[n-2] == '/' && path[n-1] == '*' {
		return path[:n-1], true
	}
	return path, false
}

// RequestPath returns the path a lookup for a request path makes keys
// from: the empty path is the root path "/", and a path that does not
// begin with '/' can be in no key, so ok is false and the lookup is a miss.
func RequestPath(path string) (_ string, ok bool) {
	if path == "" {
		return "/", true
	}
	return path, path[0] == '/'
}

// AppendPath appends the canonical form of a request or rule path to dst
// (urlnorm.AppendPath, case-folded with fold). The empty path is the root
// path "/". A path that does not begin with '/' cannot be part of a key:
// then dst is returned unchanged with ok false. It does not allocate when
// dst has room for 3*len(path) (at least 1) more bytes.
func AppendPath(dst []byte, path string, fold bool) (_ []byte, ok bool) {
	path, ok = RequestPath(path)
	if !ok {
		return dst, false
	}
	return urlnorm.AppendPath(dst, path, fold), true
}

// AppendHost appends the canonical form of a request host to dst
// (urlnorm.AppendHost). A host whose canonical form cannot be part of a key
// (longer than MaxHost, or containing '/') can match no host-scoped rule:
// then dst is returned unchanged with ok false, and the lookup should go on
// with any-host rules only. It does not allocate when dst has room for
// len(host) more bytes.
func AppendHost(dst []byte, host string) (_ []byte, ok bool) {
	n := len(dst)
	dst = urlnorm.AppendHost(dst, host)
	if !validHost(dst[n:]) {
		return dst[:n], false
	}
	return dst, true
}

func validHost[S ~string | ~[]byte](h S) bool {
	if len(h) > MaxHost {
		return false
	}
	for i := 0; i < len(h); i++ {
		if h[i] == '/' {
			return false
		}
	}
	return true
}

// ExactLen returns the length of the path of an exact key made from the
// canonical path p: len(p), less one trailing '/' unless strict or p is
// "/".
func ExactLen[S ~string | ~[]byte](p S, strict bool) int {
	n := len(p)
	if !strict && n > 1 && p[n-1] == '/' {
		n--
	}
	return n
}

// PrefixLen returns the length of the path of a prefix key made from the
// canonical path p: len(p) less one trailing '/' (the one before a prefix
// rule's '*'), so that an explicit double slash ("/a//*") is kept.
func PrefixLen[S ~string | ~[]byte](p S) int {
	n := len(p)
	if n > 0 && p[n-1] == '/' {
		n--
	}
	return n
}

// Errors returned by Append.
var (
	ErrKind = errors.New("rulekey: unknown key kind")
	ErrHost = errors.New("rulekey: host cannot be part of a key")
	ErrPath = errors.New("rulekey: path does not begin with /")
)

// Append appends the key of a rule of kind k to dst. host is the rule's
// canonical host ("" for any host; see urlnorm.Host) and path its path as
// written, without the '*' of a prefix rule (see SplitPattern); path must
// begin with '/'. The path is put in canonical form, folded for the folded
// kinds, and trimmed as the kind asks (ExactLen with strict, PrefixLen).
// It returns an error wrapping ErrKind, ErrHost (a host over MaxHost bytes
// or containing '/') or ErrPath, and dst unchanged, when the parts cannot
// make a key.
func Append(dst []byte, k Kind, host, path string, strict bool) ([]byte, error) {
	switch {
	case !k.Valid():
		return dst, fmt.Errorf("%w %q", ErrKind, byte(k))
	case !validHost(host):
		return dst, fmt.Errorf("%w: %q", ErrHost, host)
	case path == "" || path[0] != '/':
		return dst, fmt.Errorf("%w: %q", ErrPath, path)
	}
	dst = AppendHeader(dst, k, host)
	at := len(dst)
	dst = urlnorm.AppendPath(dst, path, k.Fold())
	p := dst[at:]
	if k.IsPrefix() {
		return dst[:at+PrefixLen(p)], nil
	}
	return dst[:at+ExactLen(p, strict)], nil
}

// AppendHeader appends what goes before the path in a key: the kind byte
// and the canonical host ("" for any host). The caller appends a canonical
// path of the right length after it (see ExactLen and PrefixLen); Append
// does both and checks the parts.
func AppendHeader(dst []byte, k Kind, host string) []byte {
	dst = append(dst, byte(k))
	return append(dst, host...)
}

// HeaderLen returns the number of bytes that go before the path in a key
// with the given host: the kind byte and the host.
func HeaderLen(host []byte) int { return 1 + len(host) }

// PutHeader writes the kind byte and host of a key into buf right before
// buf[at:], where the caller has put the key's canonical path, and returns
// where the key starts: the key is buf[start:at+len(path)]. at must be at
// least HeaderLen(host). This lets a lookup write a request's path once and
// probe it under several kinds and hosts.
func PutHeader(buf []byte, at int, k Kind, host []byte) (start int) {
	start = at - len(host) - 1
	buf[start] = byte(k)
	copy(buf[start+1:at], host)
	return start
}

// Split splits a key into its kind, host and path. ok is false when key is
// not a well-formed key: empty, of an unknown kind, with a host longer than
// MaxHost, or an exact key without a path.
func Split(key string) (k Kind, host, path string, ok bool) {
	if key == "" {
		return 0, "", "", false
	}
	k = Kind(key[0])
	if !k.Valid() {
		return 0, "", "", false
	}
	rest := key[1:]
	i := 0
	for i < len(rest) && rest[i] != '/' {
		i++
	}
	host, path = rest[:i], rest[i:]
	if len(host) > MaxHost || (path == "" && !k.IsPrefix()) {
		return 0, "", "", false
	}
	return k, host, path, true
}

// SplitAt is Split for a well-formed key whose host is known to be hostLen
// bytes long (the length of the host it was built with): it returns the
// host and path without searching for the boundary.
func SplitAt(key string, hostLen int) (host, path string) {
	return key[1 : 1+hostLen], key[1+hostLen:]
}

// Segments returns the segment count of a key path: its number of '/'
// bytes. The index records the largest segment count of a build's prefix
// keys as MaxPrefixSegments.
func Segments[S ~string | ~[]byte](p S) int {
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			n++
		}
	}
	return n
}

// FirstPrefix returns the length n of the longest prefix key path p[:n]
// that can match the canonical request path p (which begins with '/') and
// has at most maxSegments segments, or -1 if there is none. NextPrefix
// gives the next shorter ones. Together they walk, longest first, p itself
// unless it ends in '/', and each p[:n] followed by '/' in p, skipping
// those with more than maxSegments segments (the build's
// MaxPrefixSegments):
//
//	for n := rulekey.FirstPrefix(p, max); n >= 0; n = rulekey.NextPrefix(p, n) {
//		// probe the prefix key with path p[:n]; the splat is p[n+1:]
//		// when n < len(p)
//	}
//
// Segments(p[:n]) only grows with n, so the walk starts below the first
// prefix with too many segments and needs no count after that.
func FirstPrefix[S ~string | ~[]byte](p S, maxSegments int) int {
	if maxSegments < 0 {
		return -1
	}
	segs := 0
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			if segs == maxSegments {
				return i // p[:i] has maxSegments segments, the next has more
			}
			segs++
		}
	}
	if n := len(p); n > 0 && p[n-1] == '/' {
		return n - 1 // "/docs/" is tried as "/docs"
	}
	return len(p)
}

// NextPrefix returns the length of the next prefix key path shorter than
// p[:n] in the walk FirstPrefix starts (the largest m < n with p[m] == '/'),
// or -1 when p[:n] was the last.
func NextPrefix[S ~string | ~[]byte](p S, n int) int {
	for n--; n >= 0; n-- {
		if p[n] == '/' {
			return n
		}
	}
	return -1
}
