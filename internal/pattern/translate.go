package pattern

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"

	"github.com/redirc/redirc/internal/urlnorm"
)

// Source is a translated pattern source: the expression, its skeleton and
// the names its destination may refer to.
type Source struct {
	Re   string
	Fold bool
	Segs []string
	Tail bool
	// names maps a placeholder name to its capture group; splat is the
	// group of Netlify's first '*' (0: none). optional marks groups that
	// may be empty (path-to-regexp's '*' and '?'), whose '/' before them
	// in a destination is dropped when they are.
	names    map[string]int
	splat    int
	optional map[int]bool
	syntax   byte // 'n' netlify/literal, 'p' path-to-regexp, 'r' regex
	// Groups is the number of capture groups of Re.
	Groups int
}

// litSubject returns the subject form of a literal piece of a source: its
// canonical form decoded (what AppendSubject makes of the same bytes in a
// request).
func litSubject(s string) string {
	return string(AppendSubject(nil, urlnorm.AppendPath(nil, s, false)))
}

// skel accumulates a skeleton while a source is translated.
type skel struct {
	segs    []string
	tail    bool
	fold    bool
	cur     strings.Builder // literal text of the current segment
	curAny  bool            // the current segment has a placeholder
	started bool            // the first '/' has been met
}

func (k *skel) lit(s string) {
	if !k.tail {
		k.cur.WriteString(s)
	}
}

// boundary ends the current segment (a '/' follows).
func (k *skel) boundary() {
	if k.tail {
		return
	}
	if !k.started {
		k.started = true
		k.cur.Reset()
		k.curAny = false
		return
	}
	switch {
	case k.curAny || strings.Contains(k.cur.String(), Any):
		// A literal NUL byte (a source with "%00") cannot be told from
		// the Any mark: index the segment as Any; the expression still
		// checks it.
		k.segs = append(k.segs, Any)
	case k.fold:
		k.segs = append(k.segs, FoldString(k.cur.String()))
	default:
		k.segs = append(k.segs, k.cur.String())
	}
	k.cur.Reset()
	k.curAny = false
	if len(k.segs) >= MaxSegs {
		k.tail = true
	}
}

func (k *skel) finish(exactEnd bool) (segs []string, tail bool) {
	if !k.tail {
		if k.cur.Len() > 0 || k.curAny {
			k.boundary()
		}
		if !exactEnd {
			k.tail = true
		}
	}
	for _, seg := range k.segs {
		if seg == "" {
			// An empty segment ("/", "/a//b") does not say how many
			// segments a request it matches has ("/" matches "//" too):
			// such a pattern is not indexed by its segments, but tried
			// for every request (FuzzPatternDiffRegex found "//" missing
			// the rule for "/").
			return nil, true
		}
	}
	return k.segs, k.tail
}

// Literal translates a plain path or "/*" prefix path (as the exact and
// prefix tiers match them: ASCII letters folded unless caseSensitive, a
// final '/' optional unless strict; a prefix matches its base and
// everything below it, the rest being the splat).
func Literal(path string, prefix, caseSensitive, strict bool) (*Source, error) {
	if path == "" || path[0] != '/' {
		return nil, fmt.Errorf("path %q does not begin with /", path)
	}
	s := &Source{names: map[string]int{}, syntax: 'n', Fold: !caseSensitive}
	k := &skel{fold: !caseSensitive}
	var re strings.Builder
	re.WriteString("^")
	base := path
	if prefix {
		base = strings.TrimSuffix(strings.TrimSuffix(path, "*"), "/")
	} else if !strict && len(base) > 1 {
		base = strings.TrimSuffix(base, "/")
	}
	sub := litSubject(base)
	for i, seg := range strings.Split(sub, "/") {
		if i == 0 {
			continue
		}
		re.WriteByte('/')
		k.boundary()
		k.lit(seg)
		writeASCIIFold(&re, seg, !caseSensitive)
	}
	switch {
	case prefix:
		if sub == "/" {
			s.Re = "^(?:/+(.*))?$"
			s.Segs, s.Tail = nil, true
		} else {
			re.WriteString("(?:/+(.*))?$")
			s.Re = re.String()
			s.Segs, s.Tail = k.finish(false)
			s.Tail = true
		}
		s.splat, s.Groups = 1, 1
		return s, nil
	case strict:
		re.WriteString("$")
	case sub == "/":
		re.WriteString("/?$") // "//" is "/" with a final '/'
	case strings.HasSuffix(sub, "/"):
		// "/a//": an exact key drops one final '/' of a request, so
		// only "/a//" itself has the key "/a/".
		re.WriteString("/$")
	default:
		re.WriteString("/?$")
	}
	s.Re = re.String()
	s.Segs, s.Tail = k.finish(true)
	return s, nil
}

// writeASCIIFold writes the expression matching s literally, with ASCII
// letters in either case when fold is set (and nothing else folded, as the
// exact tier folds).
func writeASCIIFold(b *strings.Builder, s string, fold bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case fold && 'a' <= c && c <= 'z':
			b.WriteString("[" + string(c) + string(c-'a'+'A') + "]")
		case fold && 'A' <= c && c <= 'Z':
			b.WriteString("[" + string(c+'a'-'A') + string(c) + "]")
		case c < 0x80:
			b.WriteString(regexp.QuoteMeta(string(c)))
		default:
			// a byte of a UTF-8 sequence (or an invalid byte): \x{..}
			// would name a rune, so match the byte's rune run whole.
			j := i
			for j < len(s) && s[j] >= 0x80 {
				j++
			}
			b.WriteString(regexp.QuoteMeta(s[i:j]))
			i = j - 1
		}
	}
}

func isWord(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func wordEnd(s string, i int) int {
	for i < len(s) && isWord(s[i]) {
		i++
	}
	return i
}

// Netlify translates a Netlify _redirects source path: ":name" is one
// whole segment, "*" matches the rest of the path from where it stands (a
// final "/*" also matches the path without it), and a final '/' is
// optional, as on Netlify. Case folds unless caseSensitive (Unicode
// simple folding, as regexp's (?i)).
func Netlify(path string, caseSensitive bool) (*Source, error) {
	if path == "" || path[0] != '/' {
		return nil, fmt.Errorf("path %q does not begin with /", path)
	}
	s := &Source{names: map[string]int{}, syntax: 'n', Fold: !caseSensitive}
	k := &skel{fold: !caseSensitive}
	var re strings.Builder
	if !caseSensitive {
		re.WriteString("(?i)")
	}
	re.WriteString("^")
	p := path
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	segs := strings.Split(p[1:], "/")
	groups := 0
	open := false // the expression ends in ".*": no end anchor needed
	for i, seg := range segs {
		last := i == len(segs)-1
		if last && seg == "*" && i > 0 {
			k.boundary() // the segment before "/*" is whole
			groups++
			if s.splat == 0 {
				s.splat = groups
			}
			re.WriteString("(?:/+(.*))?")
			k.tail = true
			open = true
			break
		}
		re.WriteByte('/')
		k.boundary()
		if len(seg) > 1 && seg[0] == ':' && wordEnd(seg, 1) == len(seg) {
			groups++
			if _, dup := s.names[seg[1:]]; dup {
				return nil, fmt.Errorf("placeholder %q appears twice", seg)
			}
			s.names[seg[1:]] = groups
			re.WriteString("([^/]+)")
			k.curAny = true
			continue
		}
		for j, piece := range strings.Split(seg, "*") {
			if j > 0 {
				groups++
				if s.splat == 0 {
					s.splat = groups
				}
				re.WriteString("(.*)")
				k.tail = true
				open = true
			}
			lit := litSubject(piece)
			k.lit(lit)
			if !caseSensitive {
				// Folded: the same matches under (?i), and the
				// expression is then the one shapeRe makes from
				// the skeleton, which Compile matches without
				// regexp.
				lit = FoldString(lit)
			}
			re.WriteString(regexp.QuoteMeta(lit))
		}
	}
	if open {
		re.WriteString("$")
	} else if p == "/" {
		re.WriteString("$")
	} else {
		re.WriteString("/?$")
	}
	s.Re = re.String()
	s.Groups = groups
	s.Segs, s.Tail = k.finish(true)
	if open {
		s.Tail = true
	}
	return s, nil
}

// PathToRegexp translates a vercel.json source as path-to-regexp (v6, as
// Vercel compiles it: strict, so "/a" and "/a/" differ) does: ":name"
// (one segment), ":name(re)", "(re)", the modifiers '?', '*' and '+'
// (a '/' or '.' before a parameter belongs to it), "{…}" groups and '\'
// escapes. Case folds unless caseSensitive.
func PathToRegexp(path string, caseSensitive bool) (*Source, error) {
	s := &Source{names: map[string]int{}, optional: map[int]bool{}, syntax: 'p', Fold: !caseSensitive}
	k := &skel{fold: !caseSensitive}
	var re strings.Builder
	if !caseSensitive {
		re.WriteString("(?i)")
	}
	re.WriteString("^")
	groups := 0
	var pending strings.Builder // literal text not yet written (a prefix may be taken from it)
	flushLit := func(s string) {
		for i := 0; i < len(s); i++ {
			if s[i] == '/' {
				re.WriteByte('/')
				k.boundary()
				continue
			}
			j := i
			for j < len(s) && s[j] != '/' {
				j++
			}
			lit := litSubject(s[i:j])
			k.lit(lit)
			re.WriteString(regexp.QuoteMeta(lit))
			i = j - 1
		}
	}
	flush := func() { flushLit(pending.String()); pending.Reset() }
	// param parses a parameter at path[i] (':' or '('), returning its
	// name ("" for unnamed), expression and the index after it.
	param := func(i int) (name, pat string, next int, err error) {
		if path[i] == ':' {
			e := wordEnd(path, i+1)
			if e == i+1 {
				return "", "", 0, fmt.Errorf("missing parameter name at byte %d", i)
			}
			name, i = path[i+1:e], e
		}
		pat = "[^/#?]+?"
		if i < len(path) && path[i] == '(' {
			depth, j := 1, i+1
			for ; j < len(path) && depth > 0; j++ {
				switch path[j] {
				case '\\':
					j++
				case '(':
					if j+1 < len(path) && path[j+1] != '?' {
						return "", "", 0, fmt.Errorf("capturing group inside pattern at byte %d", j)
					}
					depth++
				case ')':
					depth--
				}
			}
			if depth != 0 {
				return "", "", 0, fmt.Errorf("unbalanced pattern at byte %d", i)
			}
			pat = path[i+1 : j-1]
			if pat == "" {
				return "", "", 0, fmt.Errorf("missing pattern at byte %d", i)
			}
			if _, err := syntax.Parse(pat, syntax.Perl); err != nil {
				return "", "", 0, fmt.Errorf("pattern %q: %v", pat, err)
			}
			i = j
		}
		return name, pat, i, nil
	}
	addParam := func(name, prefix, suffix, pat string, mod byte) error {
		groups++
		if name != "" {
			if _, dup := s.names[name]; dup {
				return fmt.Errorf("parameter %q appears twice", name)
			}
			s.names[name] = groups
		}
		s.names[strconv.Itoa(groups)] = groups
		qp, qs := regexp.QuoteMeta(litSubject(prefix)), regexp.QuoteMeta(litSubject(suffix))
		switch mod {
		case 0:
			re.WriteString(qp + "(" + pat + ")" + qs)
			if pat == "[^/#?]+?" && !strings.Contains(suffix, "/") && (prefix == "/" || !strings.Contains(prefix, "/")) {
				if prefix == "/" {
					k.boundary()
				}
				k.curAny = true
				return nil
			}
		case '?':
			re.WriteString("(?:" + qp + "(" + pat + ")" + qs + ")?")
			s.optional[groups] = true
		case '*', '+':
			re.WriteString("(?:" + qp + "((?:" + pat + ")(?:" + qs + qp + "(?:" + pat + "))*)" + qs + ")")
			if mod == '*' {
				re.WriteString("?")
				s.optional[groups] = true
			}
		}
		k.tail = true
		return nil
	}
	for i := 0; i < len(path); {
		c := path[i]
		switch {
		case c == '\\' && i+1 < len(path):
			pending.WriteByte(path[i+1])
			i += 2
		case c == ':' && i+1 < len(path) && isWord(path[i+1]) || c == '(':
			name, pat, next, err := param(i)
			if err != nil {
				return nil, err
			}
			prefix := ""
			if ps := pending.String(); ps != "" && (ps[len(ps)-1] == '/' || ps[len(ps)-1] == '.') {
				prefix = ps[len(ps)-1:]
				pending.Reset()
				pending.WriteString(ps[:len(ps)-1])
			}
			flush()
			var mod byte
			if next < len(path) && strings.IndexByte("?*+", path[next]) >= 0 {
				mod = path[next]
				next++
			}
			if err := addParam(name, prefix, "", pat, mod); err != nil {
				return nil, err
			}
			i = next
		case c == '{':
			end := strings.IndexByte(path[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed '{' at byte %d", i)
			}
			inner := path[i+1 : i+end]
			next := i + end + 1
			var mod byte
			if next < len(path) && strings.IndexByte("?*+", path[next]) >= 0 {
				mod = path[next]
				next++
			}
			flush()
			// {prefix param suffix} or {literal}
			pi := strings.IndexAny(inner, ":(")
			if pi >= 0 && inner[pi] == ':' && (pi+1 >= len(inner) || !isWord(inner[pi+1])) {
				pi = -1
			}
			if pi < 0 {
				lit := regexp.QuoteMeta(litSubject(inner))
				switch mod {
				case 0:
					re.WriteString(lit)
					k.tail = true
				default:
					re.WriteString("(?:" + lit + ")" + string(mod))
					k.tail = true
				}
				i = next
				continue
			}
			sub := inner[pi:]
			name, pat, after, err := paramIn(sub)
			if err != nil {
				return nil, err
			}
			if err := addParam(name, inner[:pi], sub[after:], pat, mod); err != nil {
				return nil, err
			}
			i = next
		case c == '?' || c == '*' || c == '+' || c == ')' || c == '}':
			return nil, fmt.Errorf("unexpected %q at byte %d", c, i)
		default:
			pending.WriteByte(c)
			i++
		}
	}
	flush()
	re.WriteString("$")
	s.Re = re.String()
	s.Groups = groups
	s.Segs, s.Tail = k.finish(true)
	if _, err := syntax.Parse(s.Re, syntax.Perl); err != nil {
		return nil, err
	}
	return s, nil
}

// paramIn parses ":name", ":name(re)" or "(re)" at the start of s (inside
// a "{…}" group) and returns the index after it.
func paramIn(s string) (name, pat string, next int, err error) {
	i := 0
	if s[0] == ':' {
		e := wordEnd(s, 1)
		name, i = s[1:e], e
	}
	pat = "[^/#?]+?"
	if i < len(s) && s[i] == '(' {
		j := strings.LastIndexByte(s, ')')
		if j < i {
			return "", "", 0, fmt.Errorf("unbalanced pattern in group %q", s)
		}
		pat = s[i+1 : j]
		i = j + 1
	}
	return name, pat, i, nil
}

// Regex translates an RE2 expression (nginx, Apache), matched unanchored
// against the subject unless it anchors itself; it folds case unless
// caseSensitive. The skeleton comes from the literal text after a leading
// '^' (regexp/syntax).
func Regex(expr string, caseSensitive bool) (*Source, error) {
	re := expr
	if !caseSensitive {
		re = "(?i)" + re
	}
	// Parsed, not compiled: a valid RE2 syntax tree compiles (the build
	// is loaded with regexp.Compile, which would report the rare program
	// too large), and parsing is what the build needs: the groups and the
	// literal prefix.
	t, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return nil, err
	}
	s := &Source{Re: re, Tail: true, names: map[string]int{}, syntax: 'r', Groups: t.MaxCap()}
	for i, n := range t.CapNames() {
		if n == "host" {
			return nil, fmt.Errorf("a capture named \"host\": the name is kept for the request's host")
		}
		if n != "" {
			s.names[n] = i
		}
	}
	// "$0" is the whole match, as in nginx and Apache.
	for i := 0; i <= s.Groups; i++ {
		s.names[strconv.Itoa(i)] = i
	}
	s.Segs, s.Tail, s.Fold = regexSkeleton(t)
	return s, nil
}

// Template translates a destination for this source into a Spec.Dest
// template: Netlify ":name" and ":splat", path-to-regexp ":name" (with an
// optional modifier) and "$N", regex "$N", "$name" and "${name}" ("$0" the
// whole match, "$host" or "${host}" the request's host). query
// names the query conditions' captures (":name" values) by position.
func (s *Source) Template(dest string, query []QueryCond) (string, error) {
	qnames := map[string]int{}
	for i, q := range query {
		if strings.HasPrefix(q.Value, ":") && len(q.Value) > 1 {
			qnames[q.Value[1:]] = i
		}
	}
	var b strings.Builder
	for i := 0; i < len(dest); i++ {
		c := dest[i]
		switch {
		case c == '$' && s.syntax != 'n':
			// "$N", "$name", "${name}"
			j := i + 1
			var name string
			if j < len(dest) && dest[j] == '{' {
				e := strings.IndexByte(dest[j:], '}')
				if e < 0 {
					return "", fmt.Errorf("unclosed ${ at byte %d", i)
				}
				name, j = dest[j+1:j+e], j+e+1
			} else if j < len(dest) && '0' <= dest[j] && dest[j] <= '9' {
				name, j = dest[j:j+1], j+1
			} else {
				e := wordEnd(dest, j)
				name, j = dest[j:e], e
			}
			if name == "" {
				b.WriteString("$$")
				continue
			}
			if name == "host" && s.syntax == 'r' {
				b.WriteString("${host}") // the request's host (Spec.Dest)
				i = j - 1
				continue
			}
			g, ok := s.names[name]
			if !ok {
				if s.syntax == 'p' {
					b.WriteString("$$")
					continue
				}
				return "", fmt.Errorf("destination refers to $%s, which the source does not capture", name)
			}
			fmt.Fprintf(&b, "${%d}", g)
			i = j - 1
		case c == '$':
			b.WriteString("$$")
		case c == ':' && s.syntax != 'r' && i+1 < len(dest) && isWord(dest[i+1]):
			e := wordEnd(dest, i+1)
			name := dest[i+1 : e]
			g, ok := s.names[name]
			if s.syntax == 'n' && name == "splat" && s.splat > 0 {
				g, ok = s.splat, true
			}
			if !ok {
				if q, isQ := qnames[name]; isQ {
					fmt.Fprintf(&b, "${q%d}", q)
					i = e - 1
					continue
				}
				b.WriteString(dest[i:e])
				i = e - 1
				continue
			}
			mod := false
			if s.syntax == 'p' && e < len(dest) && (dest[e] == '*' || dest[e] == '+' || dest[e] == '?' && e+1 == len(dest)) {
				mod = true
				e++
			}
			str := b.String()
			if (mod || s.optional[g]) && strings.HasSuffix(str, "/") {
				b.Reset()
				b.WriteString(str[:len(str)-1])
				fmt.Fprintf(&b, "${/%d}", g)
			} else {
				fmt.Fprintf(&b, "${%d}", g)
			}
			i = e - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// HasCaptures reports whether the source captures anything a destination
// could use.
func (s *Source) HasCaptures() bool { return len(s.names) > 0 || s.splat > 0 }

// regexSkeleton reads a skeleton from a parsed expression: after a leading
// '^', literal text gives literal segments, a part that cannot match '/'
// (such as "([^/]+)") makes its segment Any, and a final '$' ends the
// skeleton exactly; anything else (an alternation, ".*", an optional part)
// ends it with a tail. fold is the literals' case folding (the walk stops
// where it changes).
func regexSkeleton(t *syntax.Regexp) (segs []string, tail, fold bool) {
	t = t.Simplify()
	if t.Op != syntax.OpConcat || len(t.Sub) < 2 || t.Sub[0].Op != syntax.OpBeginText {
		return nil, true, false
	}
	k := &skel{}
	first := true
	exact := false
walk:
	for _, sub := range t.Sub[1:] {
		switch {
		case sub.Op == syntax.OpLiteral:
			f := sub.Flags&syntax.FoldCase != 0
			if !first && f != fold {
				break walk
			}
			if first {
				fold, k.fold, first = f, f, false
			}
			for _, r := range sub.Rune {
				if r == '/' {
					k.boundary()
				} else {
					k.lit(string(r))
				}
			}
		case sub.Op == syntax.OpEndText:
			exact = true
			break walk
		case noSlash(sub):
			k.curAny = true
		default:
			break walk
		}
	}
	if !exact {
		k.tail = true
	}
	segs, tail = k.finish(exact)
	return segs, tail, fold
}

// noSlash reports whether a node can only match text without '/'.
func noSlash(t *syntax.Regexp) bool {
	switch t.Op {
	case syntax.OpEmptyMatch:
		return true
	case syntax.OpLiteral:
		for _, r := range t.Rune {
			if r == '/' {
				return false
			}
		}
		return true
	case syntax.OpCharClass:
		for i := 0; i+1 < len(t.Rune); i += 2 {
			if t.Rune[i] <= '/' && '/' <= t.Rune[i+1] {
				return false
			}
		}
		return true
	case syntax.OpCapture, syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat, syntax.OpConcat, syntax.OpAlternate:
		for _, s := range t.Sub {
			if !noSlash(s) {
				return false
			}
		}
		return true
	}
	return false
}
