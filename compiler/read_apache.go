package compiler

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// readApache reads an Apache .htaccess or configuration file. It honours
// mod_alias's Redirect, RedirectPermanent, RedirectTemp and RedirectMatch
// and mod_rewrite's RewriteRule with [R], [R=3xx], [L], [G], [NC], [NE],
// [QSA] and [QSD] (directive names in any case), line continuations with
// a final "\", RewriteBase, and RewriteCond on %{HTTP_HOST} equal to a
// name (the rule is scoped to that host). Rules become regex rules in
// Apache's order: mod_rewrite's rules first, then mod_alias's, each in
// file order. In a file named like ".htaccess" RewriteRule patterns see
// the path without its leading "/", as in a per-directory context at the
// document root; elsewhere they see the whole path. Other conditions,
// containers (<Directory>, <VirtualHost>, <If>…), internal rewrites and
// variables other than %{HTTP_HOST} and a final %{REQUEST_URI} are
// reported as unsupported.
func (m *manifestReader) readApache(br *bufio.Reader) error {
	a := &apacheReader{m: m, perDir: strings.Contains(strings.ToLower(m.name), "htaccess"), base: "/", engine: false}
	lr := &lineReader{br: br, max: m.opt.MaxLineBytes}
	var joined []byte
	startLine := 0
	for {
		line, ok := lr.next()
		if !ok {
			if len(joined) > 0 {
				a.directive(startLine, string(joined))
			}
			break
		}
		if lr.tooLong {
			m.tooLong(lr.n)
			joined = joined[:0]
			continue
		}
		if len(joined) == 0 {
			startLine = lr.n
		}
		if t := bytes.TrimRight(line, " \t"); len(t) > 0 && t[len(t)-1] == '\\' {
			joined = append(joined, t[:len(t)-1]...)
			joined = append(joined, ' ')
			continue
		}
		joined = append(joined, line...)
		a.directive(startLine, string(joined))
		joined = joined[:0]
	}
	if lr.err != nil {
		return lr.err
	}
	a.finish()
	return nil
}

type apacheReader struct {
	m      *manifestReader
	perDir bool
	base   string // RewriteBase
	engine bool   // RewriteEngine on
	conds  []apacheCond
	// containers open, innermost last; skip counts those whose contents
	// do not apply (<IfModule !…>) or cannot be honoured.
	containers []apacheContainer
	rewrite    []apacheRule
	alias      []apacheRule
	passes     bool // a RewriteRule "- [L]" was read
}

type apacheContainer struct {
	name string
	skip bool   // contents ignored, as Apache would
	bad  string // contents cannot be honoured: why
}

type apacheCond struct {
	line       int
	test, pat  string
	flags      string
	hosts      []string // the host names the condition allows, when it is a host test
	unsupBlame string
}

type apacheRule struct {
	r     Rule
	hosts []string // scoped to these hosts; nil for any
}

// apacheFields splits an Apache directive line into arguments: white
// space separates them, double quotes group them, and a backslash
// escapes the next character inside quotes.
func apacheFields(s string) ([]string, bool) {
	var out []string
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			break
		}
		var b strings.Builder
		if s[i] == '"' {
			i++
			for {
				if i >= len(s) {
					return nil, false
				}
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if s[i] == '"' {
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != '\t' {
				b.WriteByte(s[i])
				i++
			}
		}
		out = append(out, b.String())
	}
	return out, true
}

func (a *apacheReader) directive(line int, s string) {
	m := a.m
	t := strings.TrimSpace(s)
	if t == "" || t[0] == '#' {
		return
	}
	if strings.HasPrefix(t, "</") {
		name := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(t, "</"), ">"))
		if len(a.containers) == 0 || a.containers[len(a.containers)-1].name != name {
			m.errorf(line, "%s closes no open <%s>", t, name)
			return
		}
		a.containers = a.containers[:len(a.containers)-1]
		return
	}
	if strings.HasPrefix(t, "<") {
		if !strings.HasSuffix(t, ">") {
			m.errorf(line, "container %q does not end with \">\"", t)
			return
		}
		f := strings.Fields(t[1 : len(t)-1])
		if len(f) == 0 {
			m.errorf(line, "empty container")
			return
		}
		c := apacheContainer{name: strings.ToLower(f[0])}
		switch c.name {
		case "ifmodule", "ifdefine", "ifversion", "ifdirective", "iffile", "ifsection":
			if len(f) > 1 && strings.HasPrefix(f[1], "!") && c.name == "ifmodule" {
				c.skip = true // the modules redirc emulates are there
			}
		default:
			c.bad = fmt.Sprintf("redirects inside <%s> (the container's condition cannot be honoured)", f[0])
		}
		a.containers = append(a.containers, c)
		return
	}
	args, ok := apacheFields(t)
	if !ok {
		m.errorf(line, "unterminated quoted argument")
		return
	}
	name := strings.ToLower(args[0])
	args = args[1:]
	switch name {
	case "redirect", "redirectpermanent", "redirecttemp", "redirectmatch",
		"rewriterule", "rewritecond", "rewritebase", "rewriteengine":
	default:
		return // not about redirects
	}
	for _, c := range a.containers {
		if c.skip {
			return
		}
	}
	for _, c := range a.containers {
		if c.bad != "" && name != "rewriteengine" && name != "rewritebase" {
			m.unsupported(line, c.bad)
			if name != "rewritecond" {
				a.conds = nil
			}
			return
		}
	}
	switch name {
	case "rewriteengine":
		if len(args) != 1 {
			m.errorf(line, "RewriteEngine takes on or off")
			return
		}
		a.engine = strings.EqualFold(args[0], "on")
	case "rewritebase":
		if len(args) != 1 || !strings.HasPrefix(args[0], "/") {
			m.errorf(line, "RewriteBase takes a URL-path starting with /")
			return
		}
		a.base = args[0]
		if !strings.HasSuffix(a.base, "/") {
			a.base += "/"
		}
	case "rewritecond":
		a.cond(line, args)
	case "rewriterule":
		a.rule(line, args)
	case "redirectmatch":
		a.redirect(line, args, true, 0)
	case "redirectpermanent":
		a.redirect(line, args, false, 301)
	case "redirecttemp":
		a.redirect(line, args, false, 302)
	default:
		a.redirect(line, args, false, 0)
	}
}

// apacheStatus parses mod_alias's status argument.
func apacheStatus(s string) (int, bool) {
	switch strings.ToLower(s) {
	case "permanent":
		return 301, true
	case "temp":
		return 302, true
	case "seeother":
		return 303, true
	case "gone":
		return 410, true
	}
	return parseStatusCode(s)
}

// redirect reads Redirect, RedirectPermanent, RedirectTemp (fixed != 0)
// and RedirectMatch.
func (a *apacheReader) redirect(line int, args []string, match bool, fixed int) {
	m := a.m
	dname := "Redirect"
	if match {
		dname = "RedirectMatch"
	}
	code := 302
	if fixed != 0 {
		code = fixed
	} else if len(args) > 0 {
		if c, ok := apacheStatus(args[0]); ok {
			code, args = c, args[1:]
		}
	}
	if len(args) == 0 || len(args) > 2 {
		m.errorf(line, "%s takes [status] URL-path URL", dname)
		return
	}
	src, dst := args[0], ""
	if len(args) == 2 {
		dst = args[1]
	}
	switch {
	case code == 410:
		if dst != "" {
			m.errorf(line, "%s gone takes no URL", dname)
			return
		}
	case code >= 300 && code <= 399:
		if !redirectStatus(code) {
			m.unsupported(line, fmt.Sprintf("%s status %d (redirc serves %s)", dname, code, redirectStatusList))
			return
		}
		if dst == "" {
			m.errorf(line, "%s %d needs a URL", dname, code)
			return
		}
	default:
		m.unsupported(line, fmt.Sprintf("%s status %d is not a redirect", dname, code))
		return
	}
	r := Rule{Status: code, CaseSensitive: true, Syntax: SyntaxRegex, Pos: m.pos(line)}
	var re string
	if match {
		re = src
	} else {
		if !strings.HasPrefix(src, "/") {
			m.errorf(line, "%s URL-path %q does not start with /", dname, src)
			return
		}
		// mod_alias matches whole path segments and appends the rest.
		if strings.HasSuffix(src, "/") {
			re = "^" + regexp.QuoteMeta(src) + "((?s:.*))$"
		} else {
			re = "^" + regexp.QuoteMeta(src) + "(/(?s:.*))?$"
		}
	}
	c, why := apacheCompile(re, true)
	if why != "" {
		m.unsupported(line, fmt.Sprintf("%s %s: %s", dname, src, why))
		return
	}
	if dst != "" {
		if !strings.HasPrefix(dst, "/") && !hasHTTPScheme([]byte(dst)) {
			m.errorf(line, "%s target %q is neither a path starting with / nor an http(s) URL", dname, dst)
			return
		}
		if match {
			d, why := apachePregsub(dst, c)
			if why != "" {
				m.unsupported(line, fmt.Sprintf("%s target %q: %s", dname, dst, why))
				return
			}
			dst = d
			if strings.Contains(dst, "${0}") {
				re = wrapWholeRegex(re)
			}
		} else {
			dst = strings.ReplaceAll(dst, "$", "$$") + "${1}"
		}
		// mod_alias passes the query string on unless the target has one.
		r.Query = !strings.Contains(dst, "?")
	}
	r.Source, r.Destination = re, dst
	a.alias = append(a.alias, apacheRule{r: r})
}

// apacheCompile checks a regex against RE2.
func apacheCompile(re string, caseSensitive bool) (*regexp.Regexp, string) {
	expr := re
	if !caseSensitive {
		expr = "(?i)" + re
	}
	c, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Sprintf("the regex is not RE2 syntax (%v); lookaround and backreferences have no RE2 equivalent", err)
	}
	for _, n := range c.SubexpNames() {
		if n == "host" {
			return nil, "a capture named \"host\" (the name is kept for the request's host)"
		}
	}
	return c, ""
}

// apachePregsub translates a RedirectMatch target (ap_pregsub): "$N" is
// a capture, "&" the whole match, and a backslash escapes the next byte.
func apachePregsub(s string, re *regexp.Regexp) (string, string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			if s[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(s[i])
			}
		case c == '&':
			b.WriteString("${0}")
		case c == '$' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			k := int(s[i+1] - '0')
			if k > re.NumSubexp() {
				return "", fmt.Sprintf("$%d refers to no capture", k)
			}
			fmt.Fprintf(&b, "${%d}", k)
			i++
		case c == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ""
}

// cond reads a RewriteCond; it applies to the next RewriteRule.
func (a *apacheReader) cond(line int, args []string) {
	if len(args) < 2 || len(args) > 3 {
		a.m.errorf(line, "RewriteCond takes a test string, a condition and optional [flags]")
		return
	}
	c := apacheCond{line: line, test: args[0], pat: args[1]}
	if len(args) == 3 {
		c.flags = strings.ToLower(strings.Trim(args[2], "[]"))
	}
	if strings.EqualFold(c.test, "%{HTTP_HOST}") {
		h := ""
		switch {
		case strings.HasPrefix(c.pat, "="):
			h = c.pat[1:]
		case strings.HasPrefix(c.pat, "^") && strings.HasSuffix(c.pat, "$") && !strings.HasSuffix(c.pat, `\$`):
			h = strings.ReplaceAll(c.pat[1:len(c.pat)-1], `\.`, ".")
		}
		okFlags := true
		for _, f := range strings.Split(c.flags, ",") {
			switch strings.TrimSpace(f) {
			case "", "nc", "nocase", "or", "ornext":
			default:
				okFlags = false
			}
		}
		if h != "" && okFlags && strings.Trim(strings.ToLower(h), "abcdefghijklmnopqrstuvwxyz0123456789.-") == "" {
			c.hosts = []string{strings.ToLower(h)}
		}
	}
	if c.hosts == nil {
		c.unsupBlame = fmt.Sprintf("RewriteCond %s %s (only %%{HTTP_HOST} equal to a name can be honoured)", c.test, c.pat)
	}
	a.conds = append(a.conds, c)
}

// rule reads a RewriteRule.
func (a *apacheReader) rule(line int, args []string) {
	m := a.m
	conds := a.conds
	a.conds = nil
	if len(args) < 2 || len(args) > 3 {
		m.errorf(line, "RewriteRule takes a pattern, a substitution and optional [flags]")
		return
	}
	pat, sub := args[0], args[1]
	var flags []string
	if len(args) == 3 {
		f := args[2]
		if !strings.HasPrefix(f, "[") || !strings.HasSuffix(f, "]") {
			m.errorf(line, "RewriteRule flags %q are not in [brackets]", f)
			return
		}
		for _, x := range strings.Split(f[1:len(f)-1], ",") {
			if x = strings.TrimSpace(x); x != "" {
				flags = append(flags, x)
			}
		}
	}
	if !a.engine {
		m.problems = append(m.problems, Problem{Pos: m.pos(line), Severity: Warning,
			Msg: "RewriteRule while RewriteEngine is not on: Apache ignores it, and so does redirc"})
		return
	}
	code, last, nc, ne, qsa, qsd, gone := 0, false, false, false, false, false, false
	for _, f := range flags {
		lf := strings.ToLower(f)
		switch {
		case lf == "r" || lf == "redirect":
			code = 302
		case strings.HasPrefix(lf, "r=") || strings.HasPrefix(lf, "redirect="):
			v := lf[strings.IndexByte(lf, '=')+1:]
			c, ok := parseStatusCode(v)
			if !ok {
				switch v {
				case "permanent":
					c, ok = 301, true
				case "temp":
					c, ok = 302, true
				case "seeother":
					c, ok = 303, true
				}
			}
			if !ok {
				m.errorf(line, "RewriteRule flag %q: invalid status", f)
				return
			}
			code = c
		case lf == "l" || lf == "last" || lf == "end":
			last = true
		case lf == "nc" || lf == "nocase":
			nc = true
		case lf == "ne" || lf == "noescape":
			ne = true
		case lf == "qsa" || lf == "qsappend":
			qsa = true
		case lf == "qsd" || lf == "qsdiscard":
			qsd = true
		case lf == "g" || lf == "gone":
			gone = true
		case lf == "ns" || lf == "nosubreq" || lf == "dpi" || lf == "discardpath" || strings.HasPrefix(lf, "e=") || strings.HasPrefix(lf, "env=") ||
			strings.HasPrefix(lf, "co=") || strings.HasPrefix(lf, "cookie=") || strings.HasPrefix(lf, "t=") || strings.HasPrefix(lf, "type=") ||
			strings.HasPrefix(lf, "h=") || strings.HasPrefix(lf, "handler="):
			// no effect on the redirect
		default:
			m.unsupported(line, fmt.Sprintf("RewriteRule flag %q", f))
			return
		}
	}
	if code != 0 && !redirectStatus(code) {
		m.unsupported(line, fmt.Sprintf("RewriteRule status %d (redirc serves %s)", code, redirectStatusList))
		return
	}
	// Conditions: host names only.
	var hosts []string
	for i, c := range conds {
		if c.unsupBlame != "" {
			m.unsupported(c.line, c.unsupBlame+" for the RewriteRule at line "+strconv.Itoa(line))
			return
		}
		if i > 0 && !strings.Contains(conds[i-1].flags, "or") {
			m.unsupported(c.line, "two host conditions that must both hold")
			return
		}
		hosts = append(hosts, c.hosts...)
	}
	negate := strings.HasPrefix(pat, "!")
	re := pat
	if negate {
		m.unsupported(line, fmt.Sprintf("RewriteRule with a negated pattern %q", pat))
		return
	}
	if a.perDir {
		re2, why := perDirRegex(pat)
		if why != "" {
			m.unsupported(line, fmt.Sprintf("RewriteRule %s: %s", pat, why))
			return
		}
		re = re2
	}
	c, why := apacheCompile(re, !nc)
	if why != "" {
		m.unsupported(line, fmt.Sprintf("RewriteRule %s: %s", pat, why))
		return
	}
	r := Rule{Syntax: SyntaxRegex, CaseSensitive: !nc, Pos: m.pos(line)}
	switch {
	case gone:
		r.Status = 410
	case sub == "-":
		if !last {
			return // no substitution and no stop: changes nothing
		}
		r.Pass = true
		a.passes = true
	default:
		if code == 0 {
			if !hasHTTPScheme([]byte(sub)) {
				m.unsupported(line, fmt.Sprintf("RewriteRule %s %s without [R] is an internal rewrite; redirc only redirects", pat, sub))
				return
			}
			code = 302 // an absolute URL redirects
		}
		if !last {
			m.problems = append(m.problems, Problem{Pos: m.pos(line), Severity: Warning,
				Msg: "RewriteRule with [R] but without [L]: Apache would go on applying later rules to the target; redirc redirects here"})
		}
		r.Status = code
		d, query, why := a.subst(sub, c, ne)
		if why != "" {
			m.unsupported(line, fmt.Sprintf("RewriteRule substitution %q: %s", sub, why))
			return
		}
		switch {
		case qsd:
			query = false
		case qsa:
			query = true
		}
		r.Destination, r.Query = d, query
		if strings.Contains(d, "${0}") {
			re = wrapWholeRegex(re)
		}
	}
	r.Source = re
	a.rewrite = append(a.rewrite, apacheRule{r: r, hosts: hosts})
}

// perDirRegex turns a per-directory pattern, which sees the path without
// its leading "/", into one matched against the whole path, keeping its
// captures and what it matches.
func perDirRegex(pat string) (string, string) {
	body, anchored := pat, false
	if strings.HasPrefix(pat, "^") {
		body, anchored = pat[1:], true
	}
	if hasCaret(body) {
		return "", "\"^\" other than at the start"
	}
	if anchored {
		return "^/" + body, ""
	}
	return "^/(?s:.*?)(?:" + body + ")", ""
}

// hasCaret reports whether a regex has a "^" anchor (outside character
// classes and escapes).
func hasCaret(re string) bool {
	inClass := false
	for i := 0; i < len(re); i++ {
		switch c := re[i]; {
		case c == '\\':
			i++
		case inClass && c == ']':
			inClass = false
		case !inClass && c == '[':
			inClass = true
			if i+1 < len(re) && re[i+1] == '^' {
				i++
			}
			if i+1 < len(re) && re[i+1] == ']' {
				i++
			}
		case !inClass && c == '^':
			return true
		}
	}
	return false
}

// subst translates a RewriteRule substitution.
func (a *apacheReader) subst(s string, re *regexp.Regexp, ne bool) (dst string, query bool, why string) {
	if !strings.HasPrefix(s, "/") && !hasHTTPScheme([]byte(s)) && !strings.HasPrefix(s, "%{") {
		if !a.perDir {
			return "", false, "a relative substitution outside .htaccess"
		}
		s = a.base + s
	}
	var b strings.Builder
	inQuery := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			if s[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(s[i])
			}
		case c == '$' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			k := int(s[i+1] - '0')
			if k > re.NumSubexp() {
				return "", false, fmt.Sprintf("$%d refers to no capture", k)
			}
			fmt.Fprintf(&b, "${%d}", k)
			i++
		case c == '$' && i+1 < len(s) && s[i+1] == '{':
			return "", false, "RewriteMap lookups"
		case c == '$':
			b.WriteString("$$")
		case c == '%' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			return "", false, fmt.Sprintf("%%%c refers to a RewriteCond capture", s[i+1])
		case c == '%' && i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", false, "unterminated %{"
			}
			v := strings.ToUpper(s[i+2 : i+end])
			i += end
			switch v {
			case "HTTP_HOST", "SERVER_NAME":
				if v == "SERVER_NAME" {
					return "", false, "%{SERVER_NAME}"
				}
				b.WriteString("${host}")
			case "REQUEST_URI":
				if i != len(s)-1 {
					return "", false, "%{REQUEST_URI} followed by more text"
				}
				b.WriteString("${0}")
			default:
				return "", false, fmt.Sprintf("%%{%s} (supported: %%{HTTP_HOST}, and %%{REQUEST_URI} at the end)", v)
			}
		case c == '?' && !inQuery:
			inQuery = true
			b.WriteByte(c)
		case c == '#' && !ne && !inQuery:
			b.WriteString("%23") // mod_rewrite escapes the path without [NE]
		default:
			b.WriteByte(c)
		}
	}
	dst = b.String()
	if strings.HasPrefix(dst, "${host}") {
		return "", false, "a substitution starting with %{HTTP_HOST} has no scheme"
	}
	switch {
	case strings.HasSuffix(dst, "?"):
		return dst[:len(dst)-1], false, "" // a final "?" drops the query string
	case inQuery:
		return dst, false, ""
	}
	return dst, true, ""
}

// finish emits the rules in Apache's order: mod_rewrite's, then
// mod_alias's. Where RewriteCond scopes rules to hosts, each such host
// gets the whole ordered list (so that host-scoped rules, tried first,
// keep their place among the others), and other hosts the unscoped rules.
func (a *apacheReader) finish() {
	all := append(a.rewrite, a.alias...)
	if a.passes && len(a.alias) > 0 {
		for _, r := range a.rewrite {
			if r.r.Pass {
				a.m.problems = append(a.m.problems, Problem{Pos: r.r.Pos, Severity: Warning,
					Msg: "this RewriteRule \"- [L]\" also stops the Redirect and RedirectMatch rules in redirc (Apache would still apply them)"})
			}
		}
	}
	var hosts []string
	seen := map[string]bool{}
	for _, r := range all {
		for _, h := range r.hosts {
			if !seen[h] {
				seen[h] = true
				hosts = append(hosts, h)
			}
		}
	}
	order := 0
	emit := func(r Rule, host string) {
		order++
		r.Order = order
		r.Host = host
		r.Destination = patternDest(r.Destination)
		a.m.add(r)
	}
	for _, h := range hosts {
		for _, r := range all {
			if r.hosts == nil || containsString(r.hosts, h) {
				emit(r.r, h)
			}
		}
	}
	for _, r := range all {
		if r.hosts == nil {
			emit(r.r, "")
		}
	}
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// sniffConf tells an Apache configuration from an nginx one by its first
// directive: Apache's are words without a final ";" or "{".
func sniffConf(b []byte) Format {
	for _, line := range bytes.Split(b, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		if t[0] == '<' {
			return FormatApache
		}
		f := bytes.Fields(t)
		switch strings.ToLower(string(f[0])) {
		case "redirect", "redirectmatch", "redirectpermanent", "redirecttemp",
			"rewriteengine", "rewriterule", "rewritecond", "rewritebase", "options", "errordocument":
			if last := t[len(t)-1]; last != ';' && last != '{' {
				return FormatApache
			}
		}
		return FormatNginx
	}
	return FormatNginx
}
