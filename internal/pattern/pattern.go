// Package pattern is the one definition of how a pattern rule matches and
// what it answers: the subject a request path is matched as (Subject), a
// pattern compiled to an RE2 program and a destination template (Compile,
// Pattern), and the index that finds the few patterns a path can match
// without trying the others (Index). The compiler translates Netlify,
// path-to-regexp and regex sources into Specs (translate.go), stores them in
// the build (shardfmt's pattern file), and the runtime compiles them back
// with Compile at load and looks them up through an Index.
package pattern

import (
	"bytes"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/redirc/redirc/internal/urlnorm"
)

// Any marks a skeleton segment that matches any one path segment.
const Any = "\x00"

// MaxSegs bounds the skeleton's length.
const MaxSegs = 64

// Spec is a pattern as stored in a build: everything Compile needs.
type Spec struct {
	// Rank orders the patterns of a build: the lowest rank that matches
	// answers. Ranks are unique.
	Rank int
	// Host, when not empty, is the canonical host the pattern is scoped to.
	Host string
	// Re is the RE2 expression (Go regexp syntax, Perl flags) matched
	// against the request's Subject.
	Re string
	// Fold says the skeleton's literal segments are compared case-folded
	// (the expression matches them case-insensitively).
	Fold bool
	// Segs is the skeleton: literal segments (or Any) every path the
	// expression matches begins with, one per path segment.
	Segs []string
	// Tail says paths with more segments than Segs may match; without it
	// a matching path has exactly len(Segs) segments (a final '/' aside).
	Tail bool
	// Query lists query-string conditions: Key must be present and, if
	// Value does not begin with ':', equal Value.
	Query []QueryCond
	// Dest is the destination template: literal text with "${N}" for
	// capture group N of Re (0: the whole match), "${qN}" for the value of
	// Query[N], "${/N}" for group N preceded by a '/' that is dropped when
	// the group is empty, "${host}" for the request's canonical host (see
	// ExpandHost) and "$$" for a '$'. Empty for 410 and for a pass.
	Dest string
	// Status is the HTTP status, or 0 for a pass: a pattern that, when it
	// is the first to match, answers "no redirect" (see Pass). Flags are
	// shardfmt record flags
	// (FlagQuery appends the request's query string); Expires, when not
	// zero, is the Unix time after which the pattern answers 410.
	Status  int
	Flags   uint16
	Expires uint32
}

// QueryCond is one query-string condition of a pattern.
type QueryCond struct {
	Key   string
	Value string
}

// Pattern is a compiled Spec.
type Pattern struct {
	// What MatchInto reads comes first, together (the cache lines of a
	// pattern a lookup has not touched yet cost most of a hit):
	//
	// fast says Re is exactly shapeRe(Segs, Fold, Tail): the skeleton is
	// the whole pattern, matched by matchShape without regexp. shape is
	// the skeleton in one string: its segments joined by '/', Any as
	// itself.
	fast bool
	cond bool // Host or Query set
	// fold, tail and nsegs are Spec.Fold, Spec.Tail and len(Spec.Segs).
	fold, tail bool
	nsegs      int
	shape      string
	// segs, when not nil, is Re as a sequence regexp need not run (see
	// segProgram): matched by matchSegs. groups is Re's capture count.
	segs   []segItem
	groups int
	// Then what Expand reads:
	tmpl []part
	// references in tmpl to captures, to query values and to the host
	groupRefs, queryRefs, hostRefs int

	Spec
	re atomic.Pointer[regexp.Regexp] // compiled when first needed (Regexp)
}

// shapeRe returns the expression of a pattern that is exactly its
// skeleton: the segments (Any is one non-empty segment, captured), then
// with tail the rest of the path after one or more '/' (captured: a
// splat), without it an optional final '/'. Netlify sources without a
// '*' inside a segment have this form.
func shapeRe(segs []string, fold, tail bool) string {
	var b strings.Builder
	if fold {
		b.WriteString("(?i)")
	}
	b.WriteString("^")
	for _, s := range segs {
		b.WriteByte('/')
		if s == Any {
			b.WriteString("([^/]+)")
		} else {
			b.WriteString(regexp.QuoteMeta(s))
		}
	}
	switch {
	case tail:
		b.WriteString("(?:/+(.*))?$")
	case len(segs) == 0:
		b.WriteString("/$")
	default:
		b.WriteString("/?$")
	}
	return b.String()
}

// isShape reports whether a spec's expression is its skeleton's shapeRe.
func isShape(s Spec) bool {
	return len(s.Segs) <= 8 && s.Re == shapeRe(s.Segs, s.Fold, s.Tail)
}

// matchShape is Regexp().FindSubmatchIndex for a fast pattern.
func (p *Pattern) matchShape(dst []int, sub []byte) []int {
	if len(sub) == 0 || sub[0] != '/' {
		return nil
	}
	var stack [16]int
	caps := stack[:0]
	end := 0
	segs := p.nsegs > 0
	for shape := p.shape; segs; {
		// the next segment of shape (a loop: segments are short, and
		// strings.Cut's call of IndexByte costs more than it saves)
		k := 0
		for k < len(shape) && shape[k] != '/' {
			k++
		}
		seg := shape[:k]
		if k < len(shape) {
			shape = shape[k+1:]
		} else {
			segs = false
		}
		if end >= len(sub) || sub[end] != '/' {
			return nil
		}
		end++
		start := end
		for end < len(sub) && sub[end] != '/' {
			end++
		}
		if seg == Any {
			if end == start {
				return nil
			}
			caps = append(caps, start, end)
		} else if !segEqual(sub[start:end], seg, p.fold) {
			return nil
		}
	}
	rest := sub[end:]
	switch {
	case p.tail:
		if len(rest) == 0 {
			caps = append(caps, -1, -1)
			break
		}
		if rest[0] != '/' {
			return nil
		}
		j := end
		for j < len(sub) && sub[j] == '/' {
			j++
		}
		caps = append(caps, j, len(sub))
	case p.nsegs == 0:
		if string(rest) != "/" {
			return nil
		}
	default:
		if len(rest) > 1 || len(rest) == 1 && rest[0] != '/' {
			return nil
		}
	}
	m := dst[:0]
	if cap(m) < 2+len(caps) {
		m = make([]int, 0, 2+len(caps))
	}
	m = append(m, 0, len(sub))
	return append(m, caps...)
}

// segEqual compares a request segment with a literal skeleton segment
// (folded with AppendFold when fold), as (?i) would.
func segEqual(a []byte, lit string, fold bool) bool {
	if !fold {
		return string(a) == lit
	}
	j := 0
	for i := 0; i < len(a); {
		c := a[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			if j >= len(lit) || lit[j] != c {
				return false
			}
			i++
			j++
			continue
		}
		r, n := utf8.DecodeRune(a[i:])
		i += n
		var buf [utf8.UTFMax]byte
		e := utf8.EncodeRune(buf[:], minFold(r))
		if j+e > len(lit) || lit[j:j+e] != string(buf[:e]) {
			return false
		}
		j += e
	}
	return j == len(lit)
}

// part is one piece of a destination template.
type part struct {
	lit   string
	group int  // capture group, or -1
	query int  // query condition, or -1
	slash bool // lit ends in a '/' dropped when the group is empty
	host  bool // the request's host follows lit
	// path says the group follows a scheme and host ("https://h${0}"):
	// it is given a leading '/' if it has none, so that it can only be
	// the path.
	path bool
}

// Compile checks and compiles a Spec. Every error describes what is wrong
// with the spec; callers wrap it.
func Compile(s Spec) (*Pattern, error) {
	if !utf8.ValidString(s.Re) {
		return nil, fmt.Errorf("expression is not UTF-8")
	}
	if isShape(s) {
		// The skeleton is the whole pattern: matchShape matches it,
		// and the expression (valid by construction) is compiled only
		// if Regexp is asked for. 100,000 compiled expressions are
		// hundreds of MB the garbage collector would walk.
		groups := 0
		for _, seg := range s.Segs {
			if seg == Any {
				groups++
			}
		}
		if s.Tail {
			groups++
		}
		return check(s, groups)
	}
	// Parsed here, compiled when first matched (Regexp): a build of
	// 100,000 regexes would otherwise hold all their programs, which
	// the garbage collector walks on every cycle, though a server uses
	// few of them. syntax.Parse enforces RE2's size and nesting limits,
	// so a parsed expression compiles.
	t, err := syntax.Parse(s.Re, syntax.Perl)
	if err != nil {
		return nil, err
	}
	p, err := check(s, t.MaxCap())
	if err != nil {
		return nil, err
	}
	if t.MaxCap() <= maxSegGroups {
		p.segs, p.groups = segProgram(t), t.MaxCap()
	}
	return p, nil
}

// Prepare checks a Spec whose expression is known to be valid RE2 with
// groups capture groups (a Source's Re and Groups) without compiling it:
// Regexp compiles it when first called. The compiler uses it, as it needs
// few of the expressions it writes.
func Prepare(s Spec, groups int) (*Pattern, error) { return check(s, groups) }

func check(s Spec, groups int) (*Pattern, error) {
	if len(s.Segs) > MaxSegs {
		return nil, fmt.Errorf("skeleton of %d segments, at most %d", len(s.Segs), MaxSegs)
	}
	for _, seg := range s.Segs {
		if seg != Any && strings.ContainsAny(seg, "/\x00") {
			return nil, fmt.Errorf("skeleton segment %q", seg)
		}
		if s.Fold && seg != Any && FoldString(seg) != seg {
			return nil, fmt.Errorf("skeleton segment %q is not case-folded", seg)
		}
	}
	switch s.Status {
	case 0:
		if s.Dest != "" || s.Expires != 0 {
			return nil, fmt.Errorf("a pass (status 0) with a destination or an expiry")
		}
	case 301, 302, 303, 307, 308:
		if s.Dest == "" {
			return nil, fmt.Errorf("status %d without a destination", s.Status)
		}
	case 410:
		if s.Dest != "" {
			return nil, fmt.Errorf("status 410 with a destination")
		}
	default:
		return nil, fmt.Errorf("status %d", s.Status)
	}
	for _, q := range s.Query {
		if q.Key == "" {
			return nil, fmt.Errorf("empty query key")
		}
	}
	tmpl, err := parseTemplate(s.Dest, groups, len(s.Query))
	if err != nil {
		return nil, err
	}
	p := &Pattern{Spec: s, tmpl: tmpl}
	p.fast = isShape(s)
	p.cond = s.Host != "" || len(s.Query) > 0
	p.fold, p.tail, p.nsegs = s.Fold, s.Tail, len(s.Segs)
	if p.fast {
		p.shape = strings.Join(s.Segs, "/")
	}
	for _, pt := range tmpl {
		if pt.group >= 0 {
			p.groupRefs++
		}
		if pt.query >= 0 {
			p.queryRefs++
		}
		if pt.host {
			p.hostRefs++
		}
	}
	return p, nil
}

func parseTemplate(d string, groups, queries int) ([]part, error) {
	var parts []part
	var lit strings.Builder
	var out strings.Builder // the template so far, with "h" for the host
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c != '$' {
			lit.WriteByte(c)
			out.WriteByte(c)
			continue
		}
		if i+1 < len(d) && d[i+1] == '$' {
			lit.WriteByte('$')
			out.WriteByte('$')
			i++
			continue
		}
		end := strings.IndexByte(d[i:], '}')
		if i+1 >= len(d) || d[i+1] != '{' || end < 0 {
			return nil, fmt.Errorf("template %q: bad '$' at byte %d", d, i)
		}
		ref := d[i+2 : i+end]
		i += end
		p := part{group: -1, query: -1}
		switch {
		case ref == "host":
			p.host = true
		case strings.HasPrefix(ref, "q"):
			n, err := strconv.Atoi(ref[1:])
			if err != nil || n < 0 || n >= queries {
				return nil, fmt.Errorf("template %q: bad query reference %q", d, ref)
			}
			p.query = n
		case strings.HasPrefix(ref, "/"):
			n, err := strconv.Atoi(ref[1:])
			if err != nil || n < 1 || n > groups {
				return nil, fmt.Errorf("template %q: bad group reference %q", d, ref)
			}
			p.group, p.slash = n, true
			lit.WriteByte('/')
			out.WriteByte('/')
		default:
			n, err := strconv.Atoi(ref)
			if err != nil || n < 0 || n > groups {
				return nil, fmt.Errorf("template %q: bad group reference %q", d, ref)
			}
			p.group = n
		}
		p.lit = lit.String()
		if p.group >= 0 && !p.slash {
			p.path = inHost(out.String())
		}
		out.WriteString("h")
		lit.Reset()
		parts = append(parts, p)
	}
	if lit.Len() > 0 || len(parts) == 0 {
		parts = append(parts, part{lit: lit.String(), group: -1, query: -1})
	}
	return parts, nil
}

// inHost reports whether a template so far ends inside an absolute URL's
// scheme and host (no '/', '?' or '#' after "://").
func inHost(s string) bool {
	i := strings.Index(s, "://")
	return i >= 0 && !strings.ContainsAny(s[i+3:], "/?#")
}

// never matches nothing.
var never = regexp.MustCompile(`[^\x00-\x{10FFFF}]`)

// Regexp returns the compiled expression, compiling it on first use (safe
// for concurrent use: racing callers may both compile, one result stays).
func (p *Pattern) Regexp() *regexp.Regexp {
	if re := p.re.Load(); re != nil {
		return re
	}
	re, err := regexp.Compile(p.Re) // parsed by Compile or written by a translator
	if err != nil {
		re = never // defence in depth: a lookup must not panic
	}
	if !p.re.CompareAndSwap(nil, re) {
		return p.re.Load()
	}
	return re
}

// queryOK reports whether rawQuery satisfies the pattern's conditions.
func (p *Pattern) queryOK(rawQuery string) bool {
	for _, q := range p.Query {
		v, ok := queryValue(rawQuery, q.Key)
		if !ok {
			return false
		}
		if !strings.HasPrefix(q.Value, ":") && v != q.Value {
			return false
		}
	}
	return true
}

// queryValue returns the raw value of the first parameter key of rawQuery.
// It does not allocate.
func queryValue(rawQuery, key string) (string, bool) {
	for rawQuery != "" {
		var kv string
		kv, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k == key {
			return v, true
		}
	}
	return "", false
}

// Match reports whether the pattern matches a request: host is the
// canonical request host (nil for none), subject the request's Subject.
// On a match it returns the capture positions (allocated).
func (p *Pattern) Match(host, subject []byte, rawQuery string) ([]int, bool) {
	return p.MatchInto(nil, host, subject, rawQuery)
}

// MatchInto is Match writing the capture positions of a skeleton-shaped
// pattern into dst when it has room (regexp allocates its own).
func (p *Pattern) MatchInto(dst []int, host, subject []byte, rawQuery string) ([]int, bool) {
	if p.cond {
		if p.Host != "" && string(host) != p.Host {
			return nil, false
		}
		if len(p.Query) > 0 && !p.queryOK(rawQuery) {
			return nil, false
		}
	}
	if p.Status == 0 && !p.fast {
		// A pass needs no captures: Match does not allocate them.
		if p.Regexp().Match(subject) {
			return passMatch, true
		}
		return nil, false
	}
	var m []int
	if p.fast {
		m = p.matchShape(dst, subject)
	} else if p.segs != nil {
		m = p.matchSegs(dst, subject)
	} else {
		m = p.Regexp().FindSubmatchIndex(subject)
	}
	return m, m != nil
}

// Expand is ExpandHost without a request host: a pattern whose
// destination uses "${host}" gives "".
func (p *Pattern) Expand(subject []byte, m []int, rawQuery string, appendQuery bool) string {
	loc, _ := p.ExpandHost(nil, subject, m, rawQuery, appendQuery)
	return loc
}

// ExpandHost returns the Location for a match m of subject ("" for a 410
// pattern and for a pass); appendQuery appends rawQuery as the FlagQuery
// rule asks. host is the request's canonical host (urlnorm.AppendHost),
// which "${host}" stands for: when the destination uses it and host is not
// a valid host name (ValidHost: empty, or holding anything but letters,
// digits, '-', '_' and dots between labels, or an IPv6 literal), ok is
// false and there is no Location: the caller answers "no redirect", so a
// hostile Host header never reaches a Location.
func (p *Pattern) ExpandHost(host, subject []byte, m []int, rawQuery string, appendQuery bool) (loc string, ok bool) {
	if p.Status == 410 || p.Status == 0 {
		return "", true
	}
	if p.hostRefs > 0 && !ValidHost(host) {
		return "", false
	}
	// One buffer big enough for every capture escaped (3 bytes per byte),
	// the host and the query: the Location is its only allocation
	// besides the capture positions.
	b := make([]byte, 0, len(p.Dest)+3*len(subject)*p.groupRefs+len(host)*p.hostRefs+3*len(rawQuery)*(p.queryRefs+1)+2)
	for _, pt := range p.tmpl {
		switch {
		case pt.group >= 0:
			s, e := m[2*pt.group], m[2*pt.group+1]
			lit := pt.lit
			if pt.slash && (s < 0 || s == e) {
				lit = lit[:len(lit)-1]
			}
			b = append(b, lit...)
			if pt.path && (s < 0 || e <= s || subject[s] != '/') {
				b = append(b, '/')
			}
			if s >= 0 && e > s {
				b = urlnorm.AppendPath(b, unsafe.String(&subject[s], e-s), false)
			}
		case pt.query >= 0:
			b = append(b, pt.lit...)
			v, _ := queryValue(rawQuery, p.Query[pt.query].Key)
			b = urlnorm.AppendPath(b, v, false)
		case pt.host:
			b = append(b, pt.lit...)
			b = append(b, host...)
		default:
			b = append(b, pt.lit...)
		}
	}
	if appendQuery && rawQuery != "" {
		b = appendRawQuery(b, rawQuery)
	}
	if len(b) == 0 {
		return "", true
	}
	loc = unsafe.String(&b[0], len(b)) // b is not written again
	if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
		loc = "/" + strings.TrimLeft(loc, "/\\")
	}
	return loc, true
}

// appendRawQuery appends a query string to loc before any fragment, as
// the exact tier's answers do.
func appendRawQuery(loc []byte, rawQuery string) []byte {
	var frag []byte
	if i := bytes.IndexByte(loc, '#'); i >= 0 {
		frag = append(frag, loc[i:]...) // rare: a copy is fine
		loc = loc[:i]
	}
	if bytes.IndexByte(loc, '?') >= 0 {
		loc = append(loc, '&')
	} else {
		loc = append(loc, '?')
	}
	for i := 0; i < len(rawQuery); i++ {
		c := rawQuery[i]
		if c <= ' ' || c >= 0x7f || c == '#' {
			loc = append(loc, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
		} else {
			loc = append(loc, c)
		}
	}
	return append(loc, frag...)
}

// AppendSubject appends the subject patterns are matched against for a
// canonical, case-preserving request path (urlnorm.AppendPath): the path
// with every escape decoded except %2F, which stays "%2F" so that it never
// becomes a segment separator.
func AppendSubject(dst []byte, canon []byte) []byte {
	for i := 0; i < len(canon); i++ {
		c := canon[i]
		if c == '%' && i+2 < len(canon) && !(canon[i+1] == '2' && canon[i+2] == 'F') {
			dst = append(dst, unhex(canon[i+1])<<4|unhex(canon[i+2]))
			i += 2
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// Subject returns the subject of a request path (any form): its canonical
// form decoded by AppendSubject.
func Subject(path string) string {
	return string(AppendSubject(nil, urlnorm.AppendPath(nil, path, false)))
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// AppendFold appends s with every rune replaced by the smallest rune of its
// simple case-folding orbit (the orbit regexp's (?i) matches), so that two
// strings that match each other case-insensitively fold to the same bytes.
// Invalid UTF-8 bytes become U+FFFD, as regexp reads them.
func AppendFold(dst []byte, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		i += n
		dst = utf8.AppendRune(dst, minFold(r))
	}
	return dst
}

// FoldString is AppendFold for a string.
func FoldString(s string) string { return string(AppendFold(nil, []byte(s))) }

func minFold(r rune) rune {
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

// QuoteLiteral returns the expression matching s literally.
func QuoteLiteral(s string) string { return regexp.QuoteMeta(s) }

// parsePerl parses an expression with the flags Compile uses.
func parsePerl(re string) (*syntax.Regexp, error) {
	return syntax.Parse(re, syntax.Perl)
}
