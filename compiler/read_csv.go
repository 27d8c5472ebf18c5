package compiler

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"strings"
)

// readCSV reads CSV with a header row naming the fields (in any order and
// letter case): source, destination, permanent, statusCode (or status),
// caseSensitive (or sensitive), query (or preserveQueryParams), expires.
// Booleans are t, f, true or false in any case; an empty cell takes the
// default. Quoted fields may span lines; a rule's line is where its record
// starts.
func (m *manifestReader) readCSV(br *bufio.Reader) error {
	// csv.Reader buffers whole records without limit, so it reads through
	// csvLines, which blanks out lines longer than MaxLineBytes.
	lines := &csvLines{lr: lineReader{br: br, max: m.opt.MaxLineBytes}}
	cr := csv.NewReader(lines)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	// The header.
	var cols []ruleField // field of each column; fieldUnknown = ignored
	var names []string   // column names as written
	headerLine := 0
	for headerLine == 0 {
		rec, err := cr.Read()
		if err == io.EOF {
			m.csvFlushLong(lines, 1<<62)
			return lines.lr.err
		}
		if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
			m.csvFlushLong(lines, pe.StartLine)
			m.errorf(pe.StartLine, "invalid CSV header: %v", pe.Err)
			return nil
		} else if err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		m.csvFlushLong(lines, line)
		headerLine = line
		names = make([]string, len(rec))
		for i, n := range rec {
			names[i] = strings.TrimSpace(n)
		}
		cols = m.csvHeader(names, line)
		if cols == nil {
			return nil
		}
	}

	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return err // I/O error or input limit
			}
			m.csvFlushLong(lines, pe.StartLine)
			if lines.longIn(pe.StartLine, pe.Line) {
				continue // the truncated line explains the damage
			}
			if pe.Line != pe.StartLine {
				m.errorf(pe.StartLine, "invalid CSV: %v (line %d, column %d)", pe.Err, pe.Line, pe.Column)
			} else {
				m.errorf(pe.StartLine, "invalid CSV: %v (column %d)", pe.Err, pe.Column)
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		m.csvFlushLong(lines, line)
		last, _ := cr.FieldPos(len(rec) - 1)
		if lines.longIn(line, last+strings.Count(rec[len(rec)-1], "\n")) {
			continue
		}
		if csvEmpty(rec) {
			continue // spreadsheets export empty rows as ",,,"
		}
		if len(rec) != len(cols) {
			m.errorf(line, "row has %d of the %d fields named in the header on line %d", len(rec), len(cols), headerLine)
			continue
		}
		m.csvRecord(rec, cols, names, line)
	}
	m.csvFlushLong(lines, 1<<62)
	return lines.lr.err
}

// csvHeader maps the header's columns to fields. It returns nil when the
// header is unusable (no source or destination column).
func (m *manifestReader) csvHeader(names []string, line int) []ruleField {
	cols := make([]ruleField, len(names))
	var seen [numRuleFields]string
	var suggested [numRuleFields]bool // a misspelling already pointed at the field
	for i, name := range names {
		f, canon := lookupFieldFold(name)
		switch {
		case name == "":
			m.errorf(line, "header column %d has no name", i+1)
		case f == fieldUnknown:
			if i == 0 && (strings.HasPrefix(name, "/") || hasHTTPScheme([]byte(name))) {
				m.errorf(line, "missing header row: the first line must name the fields, like \"source,destination,permanent\"")
				return nil
			}
			if s := suggestField(name); s != "" {
				m.errorf(line, "unknown field %q in the header (did you mean %q? known fields: %s)", name, s, knownFieldList)
				suggested[suggestedField(name)] = true
			} else {
				m.errorf(line, "unknown field %q in the header (known fields: %s)", name, knownFieldList)
			}
		case seen[f] != "":
			m.errorf(line, "header names field %q twice (%q and %q)", canon, seen[f], name)
		default:
			seen[f] = name
			cols[i] = f
		}
	}
	ok := true
	for _, f := range []ruleField{fieldSource, fieldDestination} {
		if seen[f] == "" {
			name := "source"
			if f == fieldDestination {
				name = "destination"
			}
			if !suggested[f] {
				m.errorf(line, "header has no %q column", name)
			}
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return cols
}

// csvRecord turns one data record into a rule, or into problems. Cells
// are typed here (trimmed; booleans t, f, true or false; an empty cell is
// absent); finish resolves them as it does JSON fields.
func (m *manifestReader) csvRecord(rec []string, cols []ruleField, names []string, line int) {
	r := ruleRecord{line: line}
	for i, v := range rec {
		f := cols[i]
		switch f {
		case fieldSource:
			r.rule.Source = v
			continue
		case fieldDestination:
			r.rule.Destination = v
			continue
		case fieldUnknown:
			continue
		}
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		switch f {
		case fieldStatus:
			setStatus(m, &r, names[i], v)
		case fieldPermanent, fieldCaseSensitive, fieldQuery, fieldForce:
			b, ok := parseBool(v)
			if !ok {
				m.errorf(line, "invalid %s %q: want t, f, true or false", names[i], v)
				r.bad = true
				continue
			}
			r.setFlag(f, b)
		case fieldExpires:
			r.expires = v
		}
	}
	m.finish(&r, false)
}

// csvEmpty reports whether every field of a record is empty.
func csvEmpty(rec []string) bool {
	for _, f := range rec {
		if f != "" {
			return false
		}
	}
	return true
}

// csvFlushLong reports the over-long lines before line, in order.
func (m *manifestReader) csvFlushLong(lines *csvLines, line int) {
	for len(lines.long) > 0 && lines.long[0] < line {
		m.tooLong(lines.long[0])
		lines.long = lines.long[1:]
	}
}

// csvLines feeds csv.Reader whole lines from a lineReader, replacing any
// line longer than the limit by an empty one (csv.Reader skips it, and
// line numbers stay right) and remembering its number.
type csvLines struct {
	lr      lineReader
	pending []byte // rest of the current line, then a "\n" when needNL
	needNL  bool
	done    bool
	long    []int // numbers of the blanked lines not yet reported
}

func (c *csvLines) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case len(c.pending) > 0:
			k := copy(p[n:], c.pending)
			n += k
			c.pending = c.pending[k:]
		case c.needNL:
			p[n] = '\n'
			n++
			c.needNL = false
		case c.done:
			return c.end(n)
		default:
			line, ok := c.lr.next()
			if !ok {
				c.done = true
				return c.end(n)
			}
			if c.lr.tooLong {
				c.long = append(c.long, c.lr.n)
			}
			c.pending, c.needNL = line, true
		}
	}
	return n, nil
}

func (c *csvLines) end(n int) (int, error) {
	switch {
	case n > 0:
		return n, nil
	case c.lr.err != nil:
		return 0, c.lr.err
	}
	return 0, io.EOF
}

// longIn reports whether a blanked line lies within [from, to]. Blanked
// lines before from have already been reported and dropped from long.
func (c *csvLines) longIn(from, to int) bool {
	for _, l := range c.long {
		if l > to {
			return false
		}
		if l >= from {
			return true
		}
	}
	return false
}
