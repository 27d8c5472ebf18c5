package shardfmt

import (
	"fmt"
	"strings"
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
	switch {
	case d[0] == '/':
		if len(d) > 1 && (d[1] == '/' || d[1] == '\\') {
			return 1, "is protocol-relative (begins with //, or /\\)"
		}
	case len(d) >= len("http://") && strings.EqualFold(d[:len("http://")], "http://"),
		len(d) >= len("https://") && strings.EqualFold(d[:len("https://")], "https://"):
	default:
		return 0, "is neither an http(s) URL nor a path beginning with /"
	}
	for i := 0; i < len(d); i++ {
		if c := d[i]; c < 0x20 || c == 0x7f {
			return i, fmt.Sprintf("contains control byte 0x%02x", c)
		}
	}
	return 0, ""
}
