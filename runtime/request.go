package runtime

import (
	"net/http"
	"net/url"
	"strings"
)

// LookupRequest finds the rule for r exactly as a Handler does: by r.Host
// and the path of r.URL as the client sent it, with r.URL.RawQuery. It is
// Lookup for a program that has an *http.Request, and it is the one place
// that decides which form of the path is looked up (see requestPath: the
// obvious r.URL.EscapedPath() gives the wrong key for some paths). A
// request whose target is not a path (OPTIONS *, CONNECT), or that has no
// URL, is a miss, and so is every request on a nil Set. Like Lookup, it
// takes no lock and allocates nothing on a miss or a plain hit.
func (s *Set) LookupRequest(r *http.Request) Result {
	res, _ := s.lookupRequest(r)
	return res
}

// LookupRequest is Set().LookupRequest: it answers from the build being
// served, and answers a miss before the first build is loaded.
func (l *Live) LookupRequest(r *http.Request) Result {
	res, _ := l.cur.Load().lookupRequest(r)
	return res
}

// lookupRequest is LookupRequest that also returns the path it looked up
// (for the Handler's click events). s may be nil.
func (s *Set) lookupRequest(r *http.Request) (Result, string) {
	if s == nil || r.URL == nil {
		return Result{}, ""
	}
	path, ok := requestPath(r.URL)
	if !ok {
		return Result{}, ""
	}
	return s.Lookup(r.Host, path, r.URL.RawQuery), path
}

// requestPath returns the request's path in escaped form, as Lookup wants
// it, without allocating in the common cases.
//
// When RawPath is set, it is the path as sent, and it is used as it is
// whenever it decodes to Path. (URL.EscapedPath is not used for it: it
// drops a RawPath holding any byte Go would have escaped, such as '|', '^'
// or '\', and re-escapes Path instead, which turns an escaped slash %2F
// into a separator: "/a%2Fb|c" would be looked up as "/a/b%7Cc", missing
// the rule written for it.) A RawPath that no longer matches Path (a
// middleware changed Path) is ignored, as EscapedPath does.
//
// When RawPath is empty, the wire form is exactly the default escaping of
// Path, and the lookup's normalization gives the same key for Path itself,
// except that a '%' in Path (sent as %25) would read as the start of an
// escape; only then is the escaped form rebuilt.
func requestPath(u *url.URL) (string, bool) {
	p := u.Path
	if p == "" || p[0] != '/' {
		return "", false
	}
	if u.RawPath != "" && unescapesTo(u.RawPath, p) {
		return u.RawPath, true
	}
	if u.RawPath != "" || strings.IndexByte(p, '%') >= 0 {
		p = u.EscapedPath()
	}
	return p, true
}

// unescapesTo reports whether percent-decoding raw gives exactly path,
// without allocating.
func unescapesTo(raw, path string) bool {
	j := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' {
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return false
			}
			c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
		}
		if j >= len(path) || path[j] != c {
			return false
		}
		j++
	}
	return j == len(path)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
