package inspect

import (
	"fmt"
	"strings"

	"github.com/redirc/redirc/internal/urlnorm"
)

// This file is the only place outside the compiler and the runtime that
// knows the key layout: kind byte | canonical host | canonical path (see
// compiler/compile.go, checkRule). Both functions move to internal/rulekey.

// splitKey splits a lookup key into its kind (one of the urlnorm.Kind*
// bytes), its canonical host ("" for rules that match any host) and its
// canonical path. A host never holds '/', so the path starts at the first
// '/' after the kind byte; a prefix rule for "/*" has an empty path, since
// prefix paths are stored without their trailing '/'.
//
// moves to internal/rulekey
func splitKey(key string) (kind byte, host, path string, err error) {
	if key == "" {
		return 0, "", "", fmt.Errorf("%w: empty key", ErrKey)
	}
	kind = key[0]
	switch kind {
	case urlnorm.KindExact, urlnorm.KindExactCase, urlnorm.KindPrefix, urlnorm.KindPrefixCase:
	default:
		return 0, "", "", fmt.Errorf("%w: key %q has unknown kind %q", ErrKey, key, kind)
	}
	rest := key[1:]
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		if kind == urlnorm.KindPrefix || kind == urlnorm.KindPrefixCase {
			return kind, rest, "", nil
		}
		return 0, "", "", fmt.Errorf("%w: exact key %q has no path", ErrKey, key)
	}
	return kind, rest[:i], rest[i:], nil
}

// ruleKey returns the key the compiler gives a valid rule's source: the
// inverse of splitKey, used to find where in a manifest a key was written.
// It assumes the rule compiled without errors.
//
// moves to internal/rulekey
func ruleKey(buf []byte, source string, caseSensitive, strictTrailingSlash bool) []byte {
	host, path := "", source
	if source == "" || source[0] != '/' {
		rest := source
		if i := strings.Index(rest, "://"); i >= 0 {
			rest = rest[i+3:]
		}
		h, p, found := strings.Cut(rest, "/")
		host, path = urlnorm.Host(h), "/"+p
		if !found {
			path = "/"
		}
	}
	kind := urlnorm.KindExact
	if path == "/*" || strings.HasSuffix(path, "/*") {
		kind = urlnorm.KindPrefix
		path = path[:len(path)-2]
	}
	if caseSensitive {
		kind -= 'a' - 'A' // 'e' -> 'E', 'p' -> 'P'
	}
	b := append(append(buf[:0], kind), host...)
	at := len(b)
	b = urlnorm.AppendPath(b, path, !caseSensitive)
	if kind == urlnorm.KindPrefix || kind == urlnorm.KindPrefixCase {
		for len(b) > at && b[len(b)-1] == '/' {
			b = b[:len(b)-1]
		}
	} else if !strictTrailingSlash {
		b = append(b[:at], urlnorm.TrimSlash(b[at:])...)
	}
	return b
}
