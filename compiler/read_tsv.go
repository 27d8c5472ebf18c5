package compiler

import (
	"bufio"
	"bytes"
)

// readTSV reads MDN-style lines: FROM<TAB>TO[<TAB>STATUS]. Lines starting
// with "#" and blank lines are skipped. Only tabs separate fields: sources
// may contain spaces and ":" (which is not a placeholder here).
func (m *manifestReader) readTSV(br *bufio.Reader) error {
	lr := &lineReader{br: br, max: m.opt.MaxLineBytes}
	def := m.defaultStatus(301)
	for {
		line, ok := lr.next()
		if !ok {
			return lr.err
		}
		n := lr.n
		if lr.tooLong {
			m.tooLong(n)
			continue
		}
		if isBlankOrComment(line) {
			continue
		}
		tab := bytes.IndexByte(line, '\t')
		if tab < 0 {
			m.problems = append(m.problems, Problem{Pos: m.pos(n), Severity: Error, Hint: HintFormatNetlify,
				Msg: "no tab: TSV lines are SOURCE<TAB>DESTINATION[<TAB>STATUS]"})
			continue
		}
		from, rest := line[:tab], line[tab+1:]
		to, statusField, hasStatus := bytes.Cut(rest, []byte{'\t'})
		status := def
		if hasStatus {
			if bytes.IndexByte(statusField, '\t') >= 0 {
				m.errorf(n, "%d columns: TSV lines are SOURCE<TAB>DESTINATION[<TAB>STATUS]", bytes.Count(line, []byte{'\t'})+1)
				continue
			}
			if s := bytes.TrimSpace(statusField); len(s) > 0 {
				code, ok := parseStatusCode(s)
				if !ok {
					m.errorf(n, "invalid status %q: want a number, one of %s", s, redirectStatusList)
					continue
				}
				if !redirectStatus(code) {
					m.errorf(n, "status %d is not one of %s", code, redirectStatusList)
					continue
				}
				status = code
			}
		}
		if len(from) == 0 {
			m.errorf(n, "missing source before the tab")
			continue
		}
		if len(to) == 0 && status != 410 {
			m.errorf(n, "missing destination after the tab")
			continue
		}
		// One allocation holds both strings.
		s := string(line[:tab+1+len(to)])
		m.add(Rule{
			Source:      s[:tab],
			Destination: s[tab+1:],
			Status:      status,
			Pos:         Pos{File: m.name, Line: n},
		})
	}
}

// isBlankOrComment reports whether a line holds only spaces and tabs, or
// starts (after them) with "#".
func isBlankOrComment(line []byte) bool {
	for _, c := range line {
		switch c {
		case ' ', '\t':
			continue
		case '#':
			return true
		}
		return false
	}
	return true
}
