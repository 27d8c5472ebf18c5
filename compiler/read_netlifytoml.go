package compiler

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// readNetlifyTOML reads the [[redirects]] tables of a netlify.toml file
// (also written as "redirects = [{…}, …]") and skips every other table.
// Each table's from, to, status, force, query and conditions (and
// Netlify's older names origin, destination, params, parameters) are
// turned into the _redirects line Netlify would read, so the two formats
// are checked by one set of rules (see readNetlify); headers, signed and
// rate_limit, which only proxies use, are unsupported. The TOML reader is
// a small one for this purpose: strings of the four kinds, integers,
// floats, booleans, dates, arrays and inline tables; errors name the line.
func (m *manifestReader) readNetlifyTOML(br *bufio.Reader) error {
	data, err := io.ReadAll(br)
	if err != nil {
		return err
	}
	p := &tomlParser{s: data, line: 1}
	doc, perr := p.document()
	if perr != nil {
		m.errorf(perr.line, "invalid TOML: %s", perr.msg)
		if len(doc) > 0 {
			doc = doc[:len(doc)-1] // the table being read when the error came
		}
	}
	def := m.defaultStatus(301)
	for _, t := range doc {
		m.netlifyTable(t, def)
	}
	return nil
}

// tomlRedirect is one [[redirects]] element as read.
type tomlRedirect struct {
	line int
	kv   []tomlKV
}

// netlifyTable turns one [[redirects]] table into a _redirects line.
func (m *manifestReader) netlifyTable(t tomlRedirect, def int) {
	var from, to, status string
	force := false
	var query, conds []string
	bad := false
	var why []string
	whyLine := t.line
	for _, kv := range t.kv {
		key := strings.Join(kv.key, ".")
		v := kv.val
		str := func() (string, bool) {
			if v.kind != 's' {
				m.errorf(kv.line, "%s must be a string", key)
				bad = true
				return "", false
			}
			return v.s, true
		}
		switch kv.key[0] {
		case "from", "origin":
			from, _ = str()
		case "to", "destination":
			to, _ = str()
		case "status":
			switch v.kind {
			case 'i':
				status = strconv.FormatInt(v.i, 10)
			case 's':
				status = v.s
			default:
				m.errorf(kv.line, "status must be a number")
				bad = true
			}
			if status == "" && !bad {
				m.errorf(kv.line, "status is empty")
				bad = true
			}
		case "force":
			if v.kind != 'b' {
				m.errorf(kv.line, "force must be true or false")
				bad = true
			}
			force = v.b
		case "query", "params", "parameters", "conditions":
			pairs, ok := tomlPairs(kv)
			if !ok {
				m.errorf(kv.line, "%s must be a table of strings (or, for conditions, arrays of strings)", key)
				bad = true
				continue
			}
			if kv.key[0] == "conditions" {
				conds = append(conds, pairs...)
			} else {
				query = append(query, pairs...)
			}
		case "headers", "signed", "sign", "signing", "rate_limit":
			if len(why) == 0 {
				whyLine = kv.line
			}
			why = append(why, fmt.Sprintf("%s (used by proxy rules)", kv.key[0]))
		default:
			m.errorf(kv.line, "unknown key %q in [[redirects]] (known: from, to, status, force, query, conditions, headers, signed)", key)
			bad = true
		}
	}
	if bad {
		return
	}
	if from == "" {
		m.errorf(t.line, "[[redirects]] without from")
		return
	}
	if len(why) > 0 {
		m.unsupported(whyLine, strings.Join(why, "; "))
		return
	}
	if strings.ContainsAny(from+to, " \t") {
		m.errorf(t.line, "from and to must not contain spaces (percent-encode them)")
		return
	}
	// The same rule as a _redirects line, from and to in one buffer as
	// netlifyRule wants them.
	var b []byte
	var spans [][2]int
	addTok := func(s string) {
		if len(b) > 0 {
			b = append(b, ' ')
		}
		spans = append(spans, [2]int{len(b), len(b) + len(s)})
		b = append(b, s...)
	}
	addTok(from)
	for _, q := range query {
		addTok(q)
	}
	if to != "" {
		addTok(to)
	}
	if status != "" {
		if force {
			status += "!"
		}
		addTok(status)
	} else if force && to != "" {
		addTok(strconv.Itoa(def) + "!")
	}
	for _, c := range conds {
		addTok(c)
	}
	toks := make([][]byte, len(spans))
	for i, sp := range spans {
		toks[i] = b[sp[0]:sp[1]]
	}
	m.netlifyRule(t.line, b, toks, def)
}

// tomlPairs renders a table as "key=value" tokens (arrays joined by ",").
func tomlPairs(kv tomlKV) ([]string, bool) {
	if kv.val.kind != 't' {
		return nil, false
	}
	var out []string
	for _, e := range kv.val.tbl {
		var v string
		switch e.val.kind {
		case 's':
			v = e.val.s
		case 'a':
			var parts []string
			for _, x := range e.val.arr {
				if x.kind != 's' {
					return nil, false
				}
				parts = append(parts, x.s)
			}
			v = strings.Join(parts, ",")
		default:
			return nil, false
		}
		out = append(out, strings.Join(e.key, ".")+"="+v)
	}
	return out, true
}

// tomlVal is a TOML value: kind 's' string, 'i' integer, 'f' float, 'b'
// boolean, 'd' date or time (kept as text), 'a' array, 't' table.
type tomlVal struct {
	kind byte
	s    string
	i    int64
	b    bool
	arr  []tomlVal
	tbl  []tomlKV
}

type tomlKV struct {
	key  []string
	val  tomlVal
	line int
}

type tomlErr struct {
	line int
	msg  string
}

type tomlParser struct {
	s    []byte
	i    int
	line int
}

func (p *tomlParser) errf(format string, args ...any) *tomlErr {
	return &tomlErr{line: p.line, msg: fmt.Sprintf(format, args...)}
}

// document reads the whole file and returns the [[redirects]] elements.
func (p *tomlParser) document() ([]tomlRedirect, *tomlErr) {
	var out []tomlRedirect
	// cur is where key/value lines go: the last redirects element (sub
	// names the sub-table path inside it), or nowhere (another table).
	cur := -1
	var sub []string
	seenTables := map[string]int{}
	for {
		p.skipSpaceNL()
		if p.i >= len(p.s) {
			return out, nil
		}
		c := p.s[p.i]
		if c == '[' {
			array := p.i+1 < len(p.s) && p.s[p.i+1] == '['
			p.i++
			if array {
				p.i++
			}
			p.skipSpace()
			key, err := p.key()
			if err != nil {
				return out, err
			}
			p.skipSpace()
			if !p.eat(']') || array && !p.eat(']') {
				return out, p.errf("table header not closed with %q", map[bool]string{true: "]]", false: "]"}[array])
			}
			if err := p.endLine(); err != nil {
				return out, err
			}
			name := strings.Join(key, ".")
			switch {
			case name == "redirects" && array:
				out = append(out, tomlRedirect{line: p.line})
				cur, sub = len(out)-1, nil
			case name == "redirects":
				return out, p.errf("[redirects] must be an array of tables: write [[redirects]]")
			case key[0] == "redirects":
				if cur < 0 {
					return out, p.errf("[%s] before any [[redirects]]", name)
				}
				sub = key[1:]
				out[cur].kv = append(out[cur].kv, tomlKV{key: sub, val: tomlVal{kind: 't'}, line: p.line})
			default:
				if !array {
					if l, dup := seenTables[name]; dup {
						return out, p.errf("table [%s] defined twice (first at line %d)", name, l)
					}
					seenTables[name] = p.line
				}
				cur, sub = -1, nil
			}
			continue
		}
		line := p.line
		key, err := p.key()
		if err != nil {
			return out, err
		}
		p.skipSpace()
		if !p.eat('=') {
			return out, p.errf("expected \"=\" after key %q", strings.Join(key, "."))
		}
		p.skipSpace()
		v, err := p.value(0)
		if err != nil {
			return out, err
		}
		if err := p.endLine(); err != nil {
			return out, err
		}
		switch {
		case cur >= 0 && len(sub) > 0:
			// A key of a sub-table: add it to the table kv last opened.
			last := &out[cur].kv[len(out[cur].kv)-1]
			last.val.tbl = append(last.val.tbl, tomlKV{key: key, val: v, line: line})
		case cur >= 0:
			out[cur].kv = append(out[cur].kv, tomlKV{key: key, val: v, line: line})
		case len(key) == 1 && key[0] == "redirects":
			// redirects = [{…}, …] at the top level.
			if v.kind != 'a' {
				return out, &tomlErr{line: line, msg: "redirects must be an array of tables"}
			}
			for _, e := range v.arr {
				if e.kind != 't' {
					return out, &tomlErr{line: line, msg: "redirects must be an array of tables, not of other values"}
				}
				out = append(out, tomlRedirect{line: line, kv: e.tbl})
			}
		}
	}
}

func (p *tomlParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *tomlParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// skipSpaceNL skips blanks, newlines and comments.
func (p *tomlParser) skipSpaceNL() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\r':
			p.i++
		case '\n':
			p.line++
			p.i++
		case '#':
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		default:
			return
		}
	}
}

// endLine expects only blanks and a comment before the end of the line.
func (p *tomlParser) endLine() *tomlErr {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '#' {
		for p.i < len(p.s) && p.s[p.i] != '\n' {
			p.i++
		}
	}
	if p.i < len(p.s) && p.s[p.i] == '\r' {
		p.i++
	}
	if p.i < len(p.s) && p.s[p.i] != '\n' {
		return p.errf("unexpected %q after a value", p.rest())
	}
	return nil
}

func (p *tomlParser) rest() string {
	e := p.i
	for e < len(p.s) && e-p.i < 20 && p.s[e] != '\n' {
		e++
	}
	return string(p.s[p.i:e])
}

func tomlBare(c byte) bool {
	return c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// key reads a dotted key.
func (p *tomlParser) key() ([]string, *tomlErr) {
	var parts []string
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, p.errf("expected a key")
		}
		switch c := p.s[p.i]; {
		case c == '"' || c == '\'':
			s, err := p.str()
			if err != nil {
				return nil, err
			}
			parts = append(parts, s)
		case tomlBare(c):
			j := p.i
			for p.i < len(p.s) && tomlBare(p.s[p.i]) {
				p.i++
			}
			parts = append(parts, string(p.s[j:p.i]))
		default:
			return nil, p.errf("expected a key, found %q", p.rest())
		}
		p.skipSpace()
		if !p.eat('.') {
			return parts, nil
		}
	}
}

// str reads a basic or literal string, single- or multi-line.
func (p *tomlParser) str() (string, *tomlErr) {
	q := p.s[p.i]
	multi := p.i+2 < len(p.s) && p.s[p.i+1] == q && p.s[p.i+2] == q
	if multi {
		p.i += 3
		if p.i < len(p.s) && p.s[p.i] == '\n' { // a newline right after the quotes is not content
			p.i++
			p.line++
		} else if p.i+1 < len(p.s) && p.s[p.i] == '\r' && p.s[p.i+1] == '\n' {
			p.i += 2
			p.line++
		}
	} else {
		p.i++
	}
	var b strings.Builder
	start := p.line
	for {
		if p.i >= len(p.s) {
			return "", &tomlErr{line: start, msg: "unterminated string"}
		}
		c := p.s[p.i]
		if c == q {
			if !multi {
				p.i++
				return b.String(), nil
			}
			if p.i+2 < len(p.s) && p.s[p.i+1] == q && p.s[p.i+2] == q {
				p.i += 3
				// Up to two more quotes belong to the string.
				for k := 0; k < 2 && p.i < len(p.s) && p.s[p.i] == q; k++ {
					b.WriteByte(q)
					p.i++
				}
				return b.String(), nil
			}
		}
		if c == '\n' {
			if !multi {
				return "", p.errf("newline in a single-line string")
			}
			p.line++
		}
		if c == '\\' && q == '"' {
			p.i++
			if p.i >= len(p.s) {
				return "", p.errf("unterminated string")
			}
			e := p.s[p.i]
			switch e {
			case 'b':
				b.WriteByte('\b')
			case 't':
				b.WriteByte('\t')
			case 'n':
				b.WriteByte('\n')
			case 'f':
				b.WriteByte('\f')
			case 'r':
				b.WriteByte('\r')
			case 'e':
				b.WriteByte(0x1b)
			case '"', '\\':
				b.WriteByte(e)
			case 'u', 'U':
				n := 4
				if e == 'U' {
					n = 8
				}
				if p.i+n >= len(p.s) {
					return "", p.errf("short \\%c escape", e)
				}
				r, err := strconv.ParseUint(string(p.s[p.i+1:p.i+1+n]), 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return "", p.errf("invalid \\%c escape", e)
				}
				b.WriteRune(rune(r))
				p.i += n
			case ' ', '\t', '\r', '\n':
				if !multi {
					return "", p.errf("invalid escape \"\\%c\"", e)
				}
				// A line-ending backslash trims the white space that follows.
				for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\r' || p.s[p.i] == '\n') {
					if p.s[p.i] == '\n' {
						p.line++
					}
					p.i++
				}
				continue
			default:
				return "", p.errf("invalid escape \"\\%c\"", e)
			}
			p.i++
			continue
		}
		b.WriteByte(c)
		p.i++
	}
}

// value reads any value; depth bounds nesting.
func (p *tomlParser) value(depth int) (tomlVal, *tomlErr) {
	if depth > 32 {
		return tomlVal{}, p.errf("values nested too deeply")
	}
	if p.i >= len(p.s) {
		return tomlVal{}, p.errf("expected a value")
	}
	switch c := p.s[p.i]; {
	case c == '"' || c == '\'':
		s, err := p.str()
		return tomlVal{kind: 's', s: s}, err
	case c == '[':
		p.i++
		v := tomlVal{kind: 'a'}
		for {
			p.skipSpaceNL()
			if p.eat(']') {
				return v, nil
			}
			e, err := p.value(depth + 1)
			if err != nil {
				return v, err
			}
			v.arr = append(v.arr, e)
			p.skipSpaceNL()
			if p.eat(']') {
				return v, nil
			}
			if !p.eat(',') {
				return v, p.errf("expected \",\" or \"]\" in an array, found %q", p.rest())
			}
		}
	case c == '{':
		p.i++
		v := tomlVal{kind: 't'}
		p.skipSpace()
		if p.eat('}') {
			return v, nil
		}
		for {
			line := p.line
			k, err := p.key()
			if err != nil {
				return v, err
			}
			p.skipSpace()
			if !p.eat('=') {
				return v, p.errf("expected \"=\" in an inline table")
			}
			p.skipSpace()
			e, err := p.value(depth + 1)
			if err != nil {
				return v, err
			}
			v.tbl = append(v.tbl, tomlKV{key: k, val: e, line: line})
			p.skipSpace()
			if p.eat('}') {
				return v, nil
			}
			if !p.eat(',') {
				return v, p.errf("expected \",\" or \"}\" in an inline table, found %q", p.rest())
			}
			p.skipSpace()
		}
	default:
		j := p.i
		for p.i < len(p.s) && (tomlBare(p.s[p.i]) || strings.IndexByte("+.:", p.s[p.i]) >= 0 ||
			p.s[p.i] == ' ' && p.i+1 < len(p.s) && p.s[p.i+1] >= '0' && p.s[p.i+1] <= '9' && p.i > j && p.s[p.i-1] >= '0' && p.s[p.i-1] <= '9') {
			p.i++
		}
		tok := string(p.s[j:p.i])
		switch {
		case tok == "true" || tok == "false":
			return tomlVal{kind: 'b', b: tok == "true"}, nil
		case tok == "":
			return tomlVal{}, p.errf("expected a value, found %q", p.rest())
		}
		clean := strings.ReplaceAll(tok, "_", "")
		if n, err := strconv.ParseInt(clean, 0, 64); err == nil && !strings.HasPrefix(strings.TrimLeft(clean, "+-"), "0") || clean == "0" || clean == "+0" || clean == "-0" {
			if clean == "0" || clean == "+0" || clean == "-0" {
				n = 0
			}
			return tomlVal{kind: 'i', i: n}, nil
		}
		if n, err := strconv.ParseInt(clean, 0, 64); err == nil && (strings.HasPrefix(clean, "0x") || strings.HasPrefix(clean, "0o") || strings.HasPrefix(clean, "0b")) {
			return tomlVal{kind: 'i', i: n}, nil
		}
		if _, err := strconv.ParseFloat(clean, 64); err == nil || tok == "inf" || tok == "nan" || tok == "+inf" || tok == "-inf" || tok == "+nan" || tok == "-nan" {
			return tomlVal{kind: 'f', s: tok}, nil
		}
		if len(tok) >= 8 && (tok[2] == ':' || len(tok) >= 10 && tok[4] == '-') {
			return tomlVal{kind: 'd', s: tok}, nil
		}
		return tomlVal{}, p.errf("invalid value %q", tok)
	}
}
