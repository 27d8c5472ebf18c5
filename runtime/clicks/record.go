package clicks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Click is one redirect followed: the record a Recorder writes.
type Click struct {
	// Time is when the redirect was answered, kept to the second.
	Time time.Time
	// Host is the request's Host header, lower-cased, without port.
	Host string
	// Path is the request path as sent: for a short link, "/" + code.
	Path string
	// Status is the status answered (302, 410 ...).
	Status int
	// Referrer is the host of the Referer header, or "".
	Referrer string
	// Agent is the class of the User-Agent.
	Agent Agent
	// Visitor is a hash of the client's address and User-Agent under a
	// salt that changes every UTC day (see Salter): the same visitor has
	// the same value within a day and an unrelated one the next day, and
	// the address cannot be recovered without the secret.
	Visitor uint64
}

// TimeLayout is the layout of the "time" field: UTC, to the second, in the
// form ClickHouse parses into DateTime without settings.
const TimeLayout = "2006-01-02 15:04:05"

// AppendJSON appends c as one line of JSON (with the trailing newline):
//
//	{"time":"2026-11-29 10:06:23","host":"sho.rt","path":"/aB3xYz","status":302,"referrer":"news.example","agent":"human","visitor":"9f3c0a1b2c3d4e5f"}
//
// Field names are the column names of the ClickHouse table in the
// package documentation. Strings are escaped as JSON requires; invalid
// UTF-8 becomes U+FFFD.
func (c *Click) AppendJSON(b []byte) []byte {
	b = append(b, `{"time":"`...)
	b = c.Time.UTC().AppendFormat(b, TimeLayout)
	b = append(b, `","host":`...)
	b = appendJSONString(b, c.Host)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, c.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(c.Status), 10)
	b = append(b, `,"referrer":`...)
	b = appendJSONString(b, c.Referrer)
	b = append(b, `,"agent":"`...)
	b = append(b, c.Agent.String()...)
	b = append(b, `","visitor":"`...)
	b = appendHex64(b, c.Visitor)
	b = append(b, "\"}\n"...)
	return b
}

const hexDigits = "0123456789abcdef"

func appendHex64(b []byte, v uint64) []byte {
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[v>>uint(shift)&0xf])
	}
	return b
}

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			b = append(b, `\u00`...)
			b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// RawClick is a click record as parsed from a line, its strings pointing
// into the line (valid until the next line is read).
type RawClick struct {
	Unix     int64 // seconds since 1970, UTC
	Host     []byte
	Path     []byte
	Status   int
	Referrer []byte
	Agent    Agent
	Visitor  uint64
}

// ErrSyntax is returned for a line that is not a click record.
var ErrSyntax = errors.New("clicks: not a click record")

// ParseLine parses one JSON line written by AppendJSON (fields in any
// order; unknown fields ignored) into rc without allocating, except for
// strings with escapes, which are decoded into scratch (returned, to be
// reused). A line needs at least a valid "time" and "path".
func ParseLine(line []byte, rc *RawClick, scratch []byte) ([]byte, error) {
	*rc = RawClick{}
	scratch = scratch[:0]
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return scratch, ErrSyntax
	}
	i++
	haveTime, havePath := false, false
	for {
		i = skipSpace(line, i)
		if i < len(line) && line[i] == '}' {
			break
		}
		key, j, ok := scanString(line, i)
		if !ok {
			return scratch, ErrSyntax
		}
		i = skipSpace(line, j)
		if i >= len(line) || line[i] != ':' {
			return scratch, ErrSyntax
		}
		i = skipSpace(line, i+1)
		if i >= len(line) {
			return scratch, ErrSyntax
		}
		if line[i] == '"' {
			val, j, ok := scanString(line, i)
			if !ok {
				return scratch, ErrSyntax
			}
			if hasEscape(val) {
				start := len(scratch)
				var err error
				if scratch, err = unescape(scratch, val); err != nil {
					return scratch, ErrSyntax
				}
				val = scratch[start:len(scratch):len(scratch)]
			}
			i = j
			switch string(key) {
			case "time":
				t, ok := parseTime(val)
				if !ok {
					return scratch, ErrSyntax
				}
				rc.Unix, haveTime = t, true
			case "host":
				rc.Host = val
			case "path":
				rc.Path, havePath = val, true
			case "referrer":
				rc.Referrer = val
			case "agent":
				rc.Agent = parseAgentBytes(val)
			case "visitor":
				v, ok := parseHex64(val)
				if !ok {
					return scratch, ErrSyntax
				}
				rc.Visitor = v
			}
		} else {
			j := i
			for j < len(line) && line[j] != ',' && line[j] != '}' && line[j] != ' ' {
				j++
			}
			if string(key) == "status" {
				n, err := strconv.Atoi(string(line[i:j]))
				if err != nil {
					return scratch, ErrSyntax
				}
				rc.Status = n
			}
			i = j
		}
		i = skipSpace(line, i)
		if i < len(line) && line[i] == ',' {
			i++
			continue
		}
		if i < len(line) && line[i] == '}' {
			break
		}
		return scratch, ErrSyntax
	}
	if !haveTime || !havePath {
		return scratch, ErrSyntax
	}
	return scratch, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// scanString returns the raw content of the JSON string starting at b[i]
// (a quote) and the index after its closing quote.
func scanString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return b[i+1 : j], j + 1, true
		case '\\':
			j++
		}
	}
	return nil, i, false
}

func hasEscape(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

func unescape(dst, s []byte) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(s) {
			return dst, ErrSyntax
		}
		switch s[i] {
		case '"', '\\', '/':
			dst = append(dst, s[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+4 >= len(s) {
				return dst, ErrSyntax
			}
			v, err := strconv.ParseUint(string(s[i+1:i+5]), 16, 16)
			if err != nil {
				return dst, ErrSyntax
			}
			dst = utf8.AppendRune(dst, rune(v)) // surrogate halves become U+FFFD
			i += 4
		default:
			return dst, ErrSyntax
		}
	}
	return dst, nil
}

func parseAgentBytes(b []byte) Agent {
	for i, n := range agentNames {
		if string(b) == n {
			return Agent(i)
		}
	}
	return AgentBot
}

func parseHex64(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

// parseTime parses TimeLayout (also with a 'T' separator and a trailing
// 'Z' or fraction, which are ignored) into Unix seconds without
// allocating.
func parseTime(b []byte) (int64, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != ' ' && b[10] != 'T') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	h, ok4 := num(b[11:13])
	mi, ok5 := num(b[14:16])
	s, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 {
		return 0, false
	}
	return daysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+s), true
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm, http://howardhinnant.github.io/date_algorithms.html).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// ReferrerHost returns the lower-cased host of a Referer header value
// (without user info or port), or "" when it has none. It does not
// allocate unless the host has upper-case letters.
func ReferrerHost(ref string) string {
	return refHost(refHostRaw(ref))
}

// refHost cleans the authority part of a URL: no user info, no port,
// lower case.
func refHost(h string) string {
	if j := strings.LastIndexByte(h, '@'); j >= 0 {
		h = h[j+1:]
	}
	if strings.HasPrefix(h, "[") { // IPv6 literal
		if j := strings.IndexByte(h, ']'); j >= 0 {
			h = h[:j+1]
		}
	} else if j := strings.IndexByte(h, ':'); j >= 0 {
		h = h[:j]
	}
	return lowerASCII(h)
}

// NormalizeHost lower-cases a Host header and removes its port.
func NormalizeHost(h string) string {
	if strings.HasPrefix(h, "[") {
		if j := strings.IndexByte(h, ']'); j >= 0 {
			return lowerASCII(h[:j+1])
		}
	} else if j := strings.LastIndexByte(h, ':'); j >= 0 {
		h = h[:j]
	}
	return lowerASCII(strings.TrimSuffix(h, "."))
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// Salter turns a client address and User-Agent into a visitor hash under
// a salt that rotates every UTC day. The salt of a day is
// HMAC-SHA256(secret, "YYYY-MM-DD"); it lives only in memory, and the
// visitor hash is the first 8 bytes of SHA-256(salt || address || 0 ||
// agent). Addresses are never stored: IPv4 addresses are used whole, IPv6
// addresses cut to their /64 (the part a privacy-extension client keeps).
//
// A Salter is not safe for concurrent use (the Recorder uses one on its
// writer goroutine).
type Salter struct {
	secret []byte
	day    int64
	salt   [32]byte
}

// NewSalter returns a Salter over secret, which must be kept private: with
// it and the records, addresses could be guessed by trying them all.
func NewSalter(secret []byte) *Salter {
	return &Salter{secret: secret, day: -1 << 62}
}

// Visitor returns the visitor hash of a client at remoteAddr ("ip:port" or
// "ip") with user agent ua, at time t.
func (s *Salter) Visitor(t time.Time, remoteAddr, ua string) uint64 {
	day := t.Unix() / 86400
	if t.Unix() < 0 && t.Unix()%86400 != 0 {
		day--
	}
	if day != s.day {
		m := hmac.New(sha256.New, s.secret)
		m.Write(time.Unix(day*86400, 0).UTC().AppendFormat(nil, "2006-01-02"))
		m.Sum(s.salt[:0])
		s.day = day
	}
	h := sha256.New()
	h.Write(s.salt[:])
	var ipb [16]byte
	ip := clientIP(remoteAddr)
	if ip.IsValid() {
		a := ip.As16()
		if !ip.Is4() && !ip.Is4In6() {
			clear(a[8:]) // the /64
		}
		ipb = a
		h.Write(ipb[:])
	} else {
		h.Write([]byte(remoteAddr))
	}
	h.Write([]byte{0})
	h.Write([]byte(ua))
	var sum [32]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}

func clientIP(remoteAddr string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(remoteAddr); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// String formats c as its JSON line without the newline, for logs and
// test failures.
func (c Click) String() string {
	b := c.AppendJSON(nil)
	return fmt.Sprintf("%s", b[:len(b)-1])
}
