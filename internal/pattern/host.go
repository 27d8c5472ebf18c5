package pattern

// passMatch is the match MatchInto reports for a pass pattern: non-nil,
// with no capture positions (a pass expands nothing).
var passMatch = []int{}

// Pass reports whether the pattern is a pass (Spec.Status 0): when it is
// the first to match, the answer is "no redirect", and the lookup ends.
func (p *Pattern) Pass() bool { return p.Status == 0 }

// UsesHost reports whether the pattern's destination uses "${host}".
func (p *Pattern) UsesHost() bool { return p.hostRefs > 0 }

// NeedHost reports whether some pattern's destination uses "${host}", so
// that a lookup must hand the request's host to ExpandHost. It walks the
// patterns: call it once per index.
func (ix *Index) NeedHost() bool {
	if ix == nil {
		return false
	}
	for _, p := range ix.pats {
		if p.hostRefs > 0 {
			return true
		}
	}
	return false
}

// MaxHostName is the longest host name ExpandHost puts in a Location.
const MaxHostName = 253

// ValidHost reports whether a canonical host (lower case, without port or
// final dot: urlnorm.AppendHost) may stand in a Location: a DNS name of
// non-empty labels of ASCII letters, digits, '-' and '_' separated by
// dots, or a bracketed IPv6 literal of hex digits, ':' and '.', at most
// MaxHostName bytes. Anything else (empty, CR or LF, '/', '@', '\\',
// spaces, a port, upper case, non-ASCII) is not.
func ValidHost(h []byte) bool {
	if len(h) == 0 || len(h) > MaxHostName {
		return false
	}
	if h[0] == '[' {
		if len(h) < 4 || h[len(h)-1] != ']' {
			return false
		}
		for _, c := range h[1 : len(h)-1] {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == ':' || c == '.') {
				return false
			}
		}
		return true
	}
	label := 0
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			label++
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		default:
			return false
		}
	}
	return label > 0
}
