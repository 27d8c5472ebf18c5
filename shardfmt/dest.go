package shardfmt

import (
	"encoding/binary"
	"fmt"
)

// destProblem says what is wrong with a non-empty destination, or returns
// "" when it is one a redirect may carry: an http or https URL, or a path
// on the same site. The compiler only writes such destinations; the reader
// checks them again because a shard file is input like any other (a
// checksum is not authentication), and the runtime copies a destination
// into a Location header:
//
//   - only "http://" and "https://" (in any case) or a single leading "/":
//     no "javascript:", "data:" or "file:" URL, and no "//host" or "/\host",
//     which browsers read as a protocol-relative URL to another site;
//   - no control byte (below 0x20, or 0x7f): CR and LF would end the
//     header line and let a shard inject headers.
//
// at is the offset in d of the offending byte.
func destProblem(d string) (at int, problem string) {
	if at, problem := destPrefixProblem(d); problem != "" {
		return at, problem
	}
	for i := 0; i < len(d); i++ {
		if c := d[i]; c < 0x20 || c == 0x7f {
			return i, fmt.Sprintf("contains control byte 0x%02x", c)
		}
	}
	return 0, ""
}

// destPrefixProblem is the part of destProblem that looks at the start of d
// only: the scheme, or the single leading "/". OpenShard calls it alone for
// every record when hasControlByte found no control byte anywhere in
// VALUE_DATA, which saves a byte loop over every destination of every record
// (measured: close to half of OpenShard's time on a 1M-entry build).
func destPrefixProblem(d string) (at int, problem string) {
	switch {
	case d[0] == '/':
		if len(d) > 1 && (d[1] == '/' || d[1] == '\\') {
			return 1, "is protocol-relative (begins with //, or /\\)"
		}
	case hasPrefixFoldASCII(d, "http://"), hasPrefixFoldASCII(d, "https://"):
	default:
		return 0, "is neither an http(s) URL nor a path beginning with /"
	}
	return 0, ""
}

// hasPrefixFoldASCII reports whether d begins with prefix, a lower-case ASCII
// string, ignoring the case of letters. For the prefixes used here it agrees
// with strings.EqualFold(d[:len(prefix)], prefix): no multi-byte rune can
// fold to a letter of "http" or "https" in the same number of bytes.
func hasPrefixFoldASCII(d, prefix string) bool {
	if len(d) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c, p := d[i], prefix[i]
		if 'a' <= p && p <= 'z' {
			c |= 0x20 // fold only letters: '\x1a'|0x20 would be ':'
		}
		if c != p {
			return false
		}
	}
	return true
}

// hasControlByte reports whether b holds a byte below 0x20 or equal to 0x7f,
// eight bytes at a time (Bit Twiddling Hacks' hasless and haszero, both exact
// as a yes/no answer for a whole word).
func hasControlByte(b []byte) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		y := x ^ (0x7f * ones)
		if (x-0x20*ones)&^x&highs != 0 || (y-ones)&^y&highs != 0 {
			return true
		}
		b = b[8:]
	}
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}
