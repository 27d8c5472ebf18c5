package compiler

import (
	"fmt"
	"strings"
)

// literalPatternHint warns when a source in a bulk-redirect file (CSV,
// JSON array, JSONL), where sources are literal paths, ends like a
// vercel.json pattern "/:name*": the author most likely meant a prefix rule.
func (m *manifestReader) literalPatternHint(line int, source string) {
	if !strings.HasSuffix(source, "*") {
		return
	}
	j := strings.LastIndex(source, "/:")
	if j < 0 || !vercelWord(source[j+2:len(source)-1]) || j+3 == len(source) {
		return
	}
	m.problems = append(m.problems, Problem{Pos: m.pos(line), Severity: Warning,
		Msg: fmt.Sprintf("source %q is a literal path here (bulk-redirect sources have no patterns): "+
			"for a prefix rule write %q and :splat in the destination", source, source[:j]+"/*")})
}

// vercelPatternAt returns the index of the first path-to-regexp syntax in
// s, or -1.
func vercelPatternAt(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ':':
			if i+1 < len(s) && vercelWordByte(s[i+1]) {
				return i
			}
		case '(', ')', '{', '}', '*', '+', '?', '\\':
			return i
		}
	}
	return -1
}

func vercelWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func vercelWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if !vercelWordByte(s[i]) {
			return false
		}
	}
	return true
}
