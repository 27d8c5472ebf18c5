// Package urlnorm is the one definition of the canonical form of a URL path
// and of a host. The compiler puts rule sources in this form and the runtime
// puts requests in it, so a rule and a request meet on the same bytes; how
// the canonical parts make a lookup key (kinds, trailing slashes, prefixes)
// is internal/rulekey's.
//
// A canonical path keeps the RFC 3986 path characters (unreserved,
// sub-delims, ':' '@' and '/') as raw bytes and percent-encodes everything
// else with upper-case hex. Escapes of those path characters (except "/",
// whose escape %2F means something different from a separator) are decoded.
// Raw non-ASCII bytes, spaces, '?', '#', '\' and control bytes are encoded.
// A '%' not followed by two hex digits is encoded as %25. So "/café",
// "/caf%C3%A9" and "/caf%c3%a9" share one key, and Normalize is idempotent.
//
// Case folding, when asked for, lower-cases raw ASCII letters only; escaped
// bytes (including UTF-8 sequences) are left as they are.
package urlnorm

// class bits for each byte value.
const (
	keep  = 1 << iota // byte may appear raw in a canonical path
	hex               // byte is a hex digit
	upper             // byte is an ASCII upper-case letter
)

var classes = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= keep
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] |= keep | upper
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= keep | hex
	}
	for _, c := range "abcdefABCDEF" {
		t[c] |= hex
	}
	for _, c := range "-._~!$&'()*+,;=:@/" {
		t[c] |= keep
	}
	return t
}()

const hexDigits = "0123456789ABCDEF"

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// AppendPath appends the canonical form of path p to dst and returns the
// extended slice. With fold, raw ASCII letters are lower-cased. It does not
// allocate when dst has room for the result (at most 3*len(p) bytes).
func AppendPath(dst []byte, p string, fold bool) []byte {
	// Bytes of classes keep and not stop are copied as they are; most
	// paths are one such run, appended with one copy instead of byte by
	// byte (measured: 3x faster on typical paths).
	stop := uint8(0)
	if fold {
		stop = upper
	}
	for i := 0; i < len(p); i++ {
		j := i
		for j < len(p) && classes[p[j]]&(keep|stop) == keep {
			j++
		}
		dst = append(dst, p[i:j]...)
		if i = j; i == len(p) {
			break
		}
		c := p[i]
		if c == '%' && i+2 < len(p) && classes[p[i+1]]&hex != 0 && classes[p[i+2]]&hex != 0 {
			d := unhex(p[i+1])<<4 | unhex(p[i+2])
			i += 2
			if d != '/' && classes[d]&keep != 0 {
				c = d // an escaped path character: decode it
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

// Path returns the canonical form of p (see AppendPath).
func Path(p string, fold bool) string {
	return string(AppendPath(make([]byte, 0, len(p)+8), p, fold))
}

// AppendHost appends the canonical form of a host: ASCII lower-case, without
// a port and without a trailing dot. IPv6 literals keep their brackets.
func AppendHost(dst []byte, host string) []byte {
	host = StripPort(host)
	for len(host) > 0 && host[len(host)-1] == '.' {
		host = host[:len(host)-1]
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// StripPort removes a ":port" suffix from a host, leaving IPv6 literals
// such as "[::1]" intact.
func StripPort(host string) string {
	for i := len(host) - 1; i >= 0; i-- {
		switch host[i] {
		case ':':
			return host[:i]
		case ']':
			return host
		}
		if host[i] < '0' || host[i] > '9' {
			return host
		}
	}
	return host
}

// Host returns the canonical form of host (see AppendHost).
func Host(host string) string {
	return string(AppendHost(make([]byte, 0, len(host)), host))
}
