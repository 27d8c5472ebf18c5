package compiler

import (
	"fmt"
	"strings"
)

// vercelSource translates a vercel.json source, written in path-to-regexp
// syntax. A source without patterns is literal. A final "/:name*" (any
// number of trailing segments) becomes the prefix rule "/*", and ":name"
// in the destination becomes ":splat". Every other pattern (":name" alone,
// "(regex)", ":name(...)", modifiers, groups) is described in why.
func vercelSource(src, dst string) (source, destination, why string) {
	if vercelPatternAt(src) < 0 {
		return src, dst, ""
	}
	if strings.HasSuffix(src, "*") {
		if j := strings.LastIndex(src, "/:"); j >= 0 {
			name := src[j+2 : len(src)-1]
			if name != "" && vercelWord(name) && vercelPatternAt(src[:j]) < 0 {
				return src[:j] + "/*", vercelSplat(dst, name), ""
			}
		}
	}
	return src, dst, fmt.Sprintf("path pattern %q (only a final \"/:name*\" is supported)", src)
}

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

// vercelSplat replaces ":name" and ":name*" in dst by ":splat".
func vercelSplat(dst, name string) string {
	param := ":" + name
	if !strings.Contains(dst, param) {
		return dst
	}
	var b strings.Builder
	for {
		i := strings.Index(dst, param)
		if i < 0 {
			b.WriteString(dst)
			return b.String()
		}
		end := i + len(param)
		if end < len(dst) && vercelWordByte(dst[end]) { // ":names" is another parameter
			b.WriteString(dst[:end])
			dst = dst[end:]
			continue
		}
		b.WriteString(dst[:i])
		b.WriteString(":splat")
		if end < len(dst) && dst[end] == '*' {
			end++
		}
		dst = dst[end:]
	}
}
