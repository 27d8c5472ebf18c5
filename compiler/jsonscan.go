package compiler

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonScanner parses one JSON object holding a rule, without allocating:
// encoding/json's reflection and map decoding cost several allocations per
// field, and its case-insensitive field matching would hide misspelled
// names. It accepts exactly the JSON that encoding/json accepts
// (FuzzReadJSONL checks this) and unquotes strings the same way.
type jsonScanner struct {
	b    []byte
	i    int
	vals []byte // unquoted string values of the current rule
	key  []byte // the current key, unquoted
	err  string // why the input is not valid JSON
}

// maxJSONDepth bounds nesting in skipped values, as encoding/json does.
const maxJSONDepth = 10000

func (p *jsonScanner) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonScanner) fail(msg string) bool {
	if p.err == "" {
		p.err = msg
	}
	return false
}

// object parses the whole input as one object, calling field for each
// member with its unquoted key, the kind of its value ('"' string, '0'
// number, 't' true, 'f' false, 'n' null, '{' object, '[' array) and the
// value's raw bytes. It reports whether the input is valid JSON.
func (p *jsonScanner) object(field func(key []byte, kind byte, v []byte)) bool {
	p.err = ""
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return p.fail("want an object")
	}
	p.i++
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return p.end()
	}
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return p.fail("want a string key")
		}
		kStart := p.i
		if !p.str() {
			return false
		}
		p.key = appendJSONUnquoted(p.key[:0], p.b[kStart+1:p.i-1])
		key := p.key
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return p.fail("want ':' after the key")
		}
		p.i++
		p.ws()
		if p.i >= len(p.b) {
			return p.fail("unexpected end")
		}
		kind, vStart := p.b[p.i], p.i
		if !p.value(0) {
			return false
		}
		if kind == '-' || '0' <= kind && kind <= '9' {
			kind = '0'
		}
		field(key, kind, p.b[vStart:p.i])
		p.ws()
		if p.i >= len(p.b) {
			return p.fail("unexpected end")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return p.end()
		default:
			return p.fail("want ',' or '}'")
		}
	}
}

// end checks that only white space follows.
func (p *jsonScanner) end() bool {
	p.ws()
	if p.i != len(p.b) {
		return p.fail("unexpected data after the object")
	}
	return true
}

// value skips one value, checking its syntax.
func (p *jsonScanner) value(depth int) bool {
	if depth > maxJSONDepth {
		return p.fail("nested too deeply")
	}
	if p.i >= len(p.b) {
		return p.fail("unexpected end")
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.str()
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		p.i++
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == closing {
			p.i++
			return true
		}
		for {
			p.ws()
			if c == '{' {
				if p.i >= len(p.b) || p.b[p.i] != '"' || !p.str() {
					return p.fail("want a string key")
				}
				p.ws()
				if p.i >= len(p.b) || p.b[p.i] != ':' {
					return p.fail("want ':' after the key")
				}
				p.i++
				p.ws()
			}
			if !p.value(depth + 1) {
				return false
			}
			p.ws()
			if p.i >= len(p.b) {
				return p.fail("unexpected end")
			}
			switch p.b[p.i] {
			case ',':
				p.i++
			case closing:
				p.i++
				return true
			default:
				return p.fail("want ',' or a closing bracket")
			}
		}
	case c == 't':
		return p.lit("true")
	case c == 'f':
		return p.lit("false")
	case c == 'n':
		return p.lit("null")
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	}
	return p.fail("invalid character")
}

func (p *jsonScanner) lit(s string) bool {
	if !bytes.HasPrefix(p.b[p.i:], []byte(s)) {
		return p.fail("invalid literal")
	}
	p.i += len(s)
	return true
}

// number skips -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonScanner) number() bool {
	b := p.b
	i := p.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > start
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		p.i = i
		return p.fail("invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			p.i = i
			return p.fail("invalid number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			p.i = i
			return p.fail("invalid number")
		}
	}
	p.i = i
	return true
}

// str skips a string, checking its escapes; p.b[p.i] is the opening quote.
func (p *jsonScanner) str() bool {
	b := p.b
	for i := p.i + 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			p.i = i + 1
			return true
		case c == '\\':
			i++
			if i >= len(b) {
				p.i = i
				return p.fail("unexpected end")
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if jsonHex4(b[i+1:]) < 0 {
					p.i = i
					return p.fail("invalid \\u escape")
				}
				i += 4
			default:
				p.i = i
				return p.fail("invalid escape")
			}
		case c < 0x20:
			p.i = i
			return p.fail("control character in string")
		}
	}
	p.i = len(b)
	return p.fail("unexpected end in string")
}

// jsonHex4 decodes the 4 hex digits at the start of s, or returns -1.
func jsonHex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// appendJSONUnquoted appends the unquoted form of a checked string body,
// as encoding/json decodes it: invalid UTF-8 and unpaired surrogates
// become U+FFFD.
func appendJSONUnquoted(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
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
				r := jsonHex4(s[i+1:])
				i += 4
				if r < 0 {
					r = utf8.RuneError
				} else if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
						r2 = jsonHex4(s[i+3:])
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
			default: // '"', '\\', '/'
				dst = append(dst, s[i])
			}
			i++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
		}
	}
	return dst
}
