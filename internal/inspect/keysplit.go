package inspect

import (
	"fmt"
	"strings"

	"github.com/redirc/redirc/internal/rulekey"
	"github.com/redirc/redirc/internal/urlnorm"
)

// splitKey splits a lookup key into its kind, its canonical host ("" for
// rules that match any host) and its canonical path (see internal/rulekey,
// which owns the layout).
func splitKey(key string) (kind rulekey.Kind, host, path string, err error) {
	kind, host, path, ok := rulekey.Split(key)
	if !ok {
		return 0, "", "", fmt.Errorf("%w: key %q does not have the rulekey layout", ErrKey, key)
	}
	return kind, host, path, nil
}

// ruleKey returns the key the compiler gives a valid rule's source: the
// inverse of splitKey, used to find where in a manifest a key was written.
// It assumes the rule compiled without errors (it returns buf[:0] for a
// source the compiler would refuse).
func ruleKey(buf []byte, source string, caseSensitive, strictTrailingSlash bool) []byte {
	host, path := "", source
	if source == "" || source[0] != '/' {
		rest := source
		if i := strings.Index(rest, "://"); i >= 0 && strings.IndexByte(rest[:i], '/') < 0 {
			rest = rest[i+3:]
		}
		h, p, found := strings.Cut(rest, "/")
		host, path = urlnorm.Host(h), "/"+p
		if !found {
			path = "/"
		}
	}
	path, prefix := rulekey.SplitPattern(path)
	b, err := rulekey.Append(buf[:0], rulekey.KindOf(prefix, caseSensitive), host, path, strictTrailingSlash)
	if err != nil {
		return buf[:0]
	}
	return b
}
