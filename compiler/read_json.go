package compiler

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// readJSON reads a JSON array of rule objects (Vercel bulk redirects) or a
// vercel.json object, whose "redirects" array holds the rules and whose
// other keys are ignored. It streams with json.Decoder, so a large array is
// never held in memory whole, and finds each object's line from the
// decoder's input offsets. A syntax error stops reading: JSON offers no
// place to resume.
func (m *manifestReader) readJSON(br *bufio.Reader) error {
	in := &jsonInput{r: br, max: int64(m.opt.MaxLineBytes) + 4096}
	dec := json.NewDecoder(in)
	err := m.jsonTop(dec, in)
	if err == errJSONStop {
		return nil
	}
	return err
}

// errJSONStop means a problem has been recorded and reading stops.
var errJSONStop = errors.New("stop")

func (m *manifestReader) jsonTop(dec *json.Decoder, in *jsonInput) error {
	tok, err := dec.Token()
	if err == io.EOF {
		return nil // an empty file holds no rules
	}
	if err != nil {
		return m.jsonFail(dec, in, err)
	}
	in.mark = dec.InputOffset()
	switch tok {
	case json.Delim('['):
		err = m.jsonRules(dec, in, false)
	case json.Delim('{'):
		err = m.vercelJSON(dec, in)
	default:
		m.errorf(in.line(in.mark-1), "want a JSON array of rules or a vercel.json object with \"redirects\", not %s", jsonTokenKind(tok))
		return errJSONStop
	}
	if err != nil {
		return err
	}
	tok, err = dec.Token()
	switch {
	case err == io.EOF:
		return nil
	case err != nil:
		return m.jsonFail(dec, in, err)
	}
	m.problems = append(m.problems, Problem{Pos: m.pos(in.line(dec.InputOffset() - 1)), Severity: Error, Hint: HintFormatJSONL,
		Msg: jsonTokenKind(tok) + " after the top-level JSON value: a JSON file holds one array"})
	return errJSONStop
}

// jsonRules reads the elements of an array whose "[" has been read, and
// its "]".
func (m *manifestReader) jsonRules(dec *json.Decoder, in *jsonInput, vercel bool) error {
	var raw json.RawMessage // Decode reuses its capacity
	for dec.More() {
		if err := dec.Decode(&raw); err != nil {
			return m.jsonFail(dec, in, err)
		}
		end := dec.InputOffset()
		in.mark = end
		// Decode leaves the offset just after the value and raw holds
		// exactly the value, so the value starts len(raw) bytes back.
		line := in.line(end - int64(len(raw)))
		if len(raw) > m.opt.MaxLineBytes {
			return &LimitError{Pos: m.pos(line), Limit: OptionMaxLineBytes, Max: int64(m.opt.MaxLineBytes), Size: int64(len(raw)),
				kind: limitRuleObject, err: ErrLineTooLong}
		}
		m.jsonRule(raw, line, vercel)
	}
	if _, err := dec.Token(); err != nil { // "]"
		return m.jsonFail(dec, in, err)
	}
	in.mark = dec.InputOffset()
	return nil
}

// vercelJSON reads a vercel.json object whose "{" has been read.
func (m *manifestReader) vercelJSON(dec *json.Decoder, in *jsonInput) error {
	found := false
	objLine := in.line(in.mark - 1)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return m.jsonFail(dec, in, err)
		}
		in.mark = dec.InputOffset()
		key, _ := tok.(string)
		line := in.line(in.mark - 1)
		if key != "redirects" {
			if f, _ := lookupField([]byte(key)); f != fieldUnknown {
				m.errorf(line, "top-level object has a %q field: put rule objects in a JSON array, or in the \"redirects\" array of a vercel.json", key)
				return errJSONStop
			}
			if err := m.jsonSkip(dec, in); err != nil {
				return err
			}
			continue
		}
		found = true
		tok, err = dec.Token()
		if err != nil {
			return m.jsonFail(dec, in, err)
		}
		in.mark = dec.InputOffset()
		if tok != json.Delim('[') {
			m.errorf(line, "\"redirects\" must be an array of rule objects, not %s", jsonTokenKind(tok))
			if tok == json.Delim('{') {
				if err := m.jsonSkipRest(dec, in, 1); err != nil {
					return err
				}
			}
			continue
		}
		if err := m.jsonRules(dec, in, true); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // "}"
		return m.jsonFail(dec, in, err)
	}
	in.mark = dec.InputOffset()
	if !found {
		m.problems = append(m.problems, Problem{Pos: m.pos(objLine), Severity: Warning,
			Msg: "the JSON object has no \"redirects\" array: no rules read"})
	}
	return nil
}

// jsonSkip skips the next value token by token, so that a large value
// is never buffered whole.
func (m *manifestReader) jsonSkip(dec *json.Decoder, in *jsonInput) error {
	return m.jsonSkipRest(dec, in, 0)
}

// jsonSkipRest skips tokens until depth open containers are closed (or,
// with depth 0, one value).
func (m *manifestReader) jsonSkipRest(dec *json.Decoder, in *jsonInput, depth int) error {
	for {
		tok, err := dec.Token()
		if err != nil {
			return m.jsonFail(dec, in, err)
		}
		in.mark = dec.InputOffset()
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// jsonFail turns a decoder error into a problem (errJSONStop) or an error.
func (m *manifestReader) jsonFail(dec *json.Decoder, in *jsonInput, err error) error {
	if in.err != nil {
		return in.err
	}
	if errors.Is(err, errJSONTooLong) {
		return &LimitError{Pos: m.pos(in.line(in.mark)), Limit: OptionMaxLineBytes, Max: int64(m.opt.MaxLineBytes),
			kind: limitJSONValue, err: ErrLineTooLong}
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		off := dec.InputOffset()
		if se.Offset != off {
			// The error came from Decode, whose Offset counts only the
			// bytes its own scans consumed. Scan the buffered bytes from
			// the value's start again to place it.
			rest, _ := io.ReadAll(dec.Buffered())
			var se2 *json.SyntaxError
			if errors.As(json.Unmarshal(rest, new(json.RawMessage)), &se2) && se2.Offset > 0 {
				off += se2.Offset - 1
			}
		}
		m.errorf(in.line(off), "invalid JSON: %s", se.Error())
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		m.errorf(in.line(max(in.pos-1, 0)), "invalid JSON: unexpected end of input")
	default:
		return err
	}
	return errJSONStop
}

// jsonTokenKind names a json.Token for messages.
func jsonTokenKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			return "an array"
		case '{':
			return "an object"
		}
		return fmt.Sprintf("%q", string(t))
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

var errJSONTooLong = errors.New("JSON value too long")

// jsonInput counts lines for the decoder: it records where the newlines
// are, for line(), and refuses to read further than max bytes past mark,
// the start of the value being decoded, so one huge value cannot exhaust
// memory.
type jsonInput struct {
	r    io.Reader
	pos  int64   // bytes read so far
	nl   []int64 // offsets of the newlines not yet passed by line()
	base int     // newlines passed by line()
	mark int64
	max  int64
	err  error // first read error other than io.EOF
}

func (in *jsonInput) Read(p []byte) (int, error) {
	room := in.mark + in.max - in.pos
	if room <= 0 {
		return 0, errJSONTooLong
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := in.r.Read(p)
	for i := 0; i < n; {
		j := bytes.IndexByte(p[i:n], '\n')
		if j < 0 {
			break
		}
		in.nl = append(in.nl, in.pos+int64(i+j))
		i += j + 1
	}
	in.pos += int64(n)
	if err != nil && err != io.EOF && in.err == nil {
		in.err = err
	}
	return n, err
}

// line returns the 1-based line of the byte at offset off. Offsets must
// not decrease from call to call.
func (in *jsonInput) line(off int64) int {
	k := 0
	for k < len(in.nl) && in.nl[k] < off {
		k++
	}
	if k > 0 {
		// Keep the slice's capacity: only the read-ahead remains.
		in.base += k
		in.nl = append(in.nl[:0], in.nl[k:]...)
	}
	return in.base + 1
}

// readJSONL reads one JSON rule object per line; blank lines are skipped.
// A bad line is reported and reading goes on with the next.
func (m *manifestReader) readJSONL(br *bufio.Reader) error {
	lr := &lineReader{br: br, max: m.opt.MaxLineBytes}
	for {
		line, ok := lr.next()
		if !ok {
			return lr.err
		}
		if lr.tooLong {
			m.tooLong(lr.n)
			continue
		}
		if len(bytes.TrimLeft(line, " \t")) == 0 {
			continue
		}
		m.jsonRule(line, lr.n, false)
	}
}

// jsonRule reads one rule object from b, which holds it whole (and
// nothing but white space around it), checking the JSON types of its
// fields; finish resolves them as it does CSV cells. vercel selects
// vercel.json rules: path-to-regexp sources and "permanent" defaulting to
// true.
func (m *manifestReader) jsonRule(b []byte, line int, vercel bool) {
	p := &m.jp
	p.b, p.i, p.vals = b, 0, p.vals[:0]
	p.ws()
	if p.i < len(b) && b[p.i] != '{' {
		if json.Valid(b) {
			m.errorf(line, "rule must be a JSON object, not %s", jsonValueKind(b[p.i]))
			return
		}
	}
	var (
		seen           [numRuleFields]string // spelling used, "" = absent
		srcOff, srcEnd = -1, 0
		dstOff, dstEnd = -1, 0
		expOff, expEnd = -1, 0
		rec            = ruleRecord{line: line}
	)
	nProblems := len(m.problems)
	syntaxOK := p.object(func(key []byte, kind byte, v []byte) {
		f, spelling := lookupField(key)
		if f == fieldUnknown {
			switch string(key) {
			case "has":
				f, spelling = fieldHas, "has"
			case "missing":
				f, spelling = fieldMissing, "missing"
			default:
				m.errorf(line, "%s", unknownFieldMsg(string(key)))
				rec.bad = true
				switch suggestedField(string(key)) {
				case fieldSource:
					rec.noSource = true
				case fieldDestination:
					rec.noDest = true
				}
				return
			}
		}
		if prev := seen[f]; prev != "" {
			if prev == spelling {
				m.errorf(line, "field %q appears twice", spelling)
			} else {
				m.errorf(line, "fields %q and %q are the same field; give one", prev, spelling)
			}
			rec.bad = true
			return
		}
		seen[f] = spelling
		if kind == 'n' { // null: as if absent
			return
		}
		wrong := func(want string) {
			m.errorf(line, "%s must be %s, not %s", spelling, want, jsonValueKind(kind))
			rec.bad = true
			switch f {
			case fieldSource:
				rec.noSource = true
			case fieldDestination:
				rec.noDest = true
			}
		}
		switch f {
		case fieldSource, fieldDestination, fieldExpires:
			if kind != '"' {
				wrong("a string")
				return
			}
			off := len(p.vals)
			p.vals = appendJSONUnquoted(p.vals, v[1:len(v)-1])
			switch f {
			case fieldSource:
				srcOff, srcEnd = off, len(p.vals)
			case fieldDestination:
				dstOff, dstEnd = off, len(p.vals)
			default:
				expOff, expEnd = off, len(p.vals)
			}
		case fieldStatus:
			if kind != '0' {
				wrong("a number")
				return
			}
			setStatus(m, &rec, spelling, v)
		case fieldPermanent, fieldCaseSensitive, fieldQuery, fieldForce:
			if kind != 't' && kind != 'f' {
				wrong("true or false")
				return
			}
			rec.setFlag(f, kind == 't')
		case fieldHas, fieldMissing:
			rec.why = append(rec.why, fmt.Sprintf("%q conditions", spelling))
		}
	})
	if !syntaxOK {
		m.problems = m.problems[:nProblems] // field problems of a broken object are noise
		m.errorf(line, "invalid JSON: %s", jsonSyntaxMsg(b, p))
		return
	}

	s := string(p.vals) // one allocation for all strings of the rule
	if srcOff >= 0 {
		rec.rule.Source = s[srcOff:srcEnd]
	}
	if dstOff >= 0 {
		rec.rule.Destination = s[dstOff:dstEnd]
	}
	if expOff >= 0 {
		rec.expires = s[expOff:expEnd]
	}
	m.finish(&rec, vercel)
}

// jsonSyntaxMsg describes why b is not valid JSON, in encoding/json's
// words when it agrees.
func jsonSyntaxMsg(b []byte, p *jsonScanner) string {
	var se *json.SyntaxError
	if err := json.Unmarshal(b, new(json.RawMessage)); errors.As(err, &se) {
		return fmt.Sprintf("%s (column %d)", se.Error(), se.Offset)
	}
	return fmt.Sprintf("%s (column %d)", p.err, p.i+1)
}

// jsonValueKind names the kind of JSON value that starts with c.
func jsonValueKind(c byte) string {
	switch c {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
