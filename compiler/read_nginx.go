package compiler

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// readNginx reads an nginx configuration and turns its redirects into
// ordered regex rules (Syntax SyntaxRegex, Order set) that give nginx's
// answer under first-match evaluation. What it honours:
//
//   - server blocks: server_name's exact names scope the rules to those
//     hosts; the default server (listen … default_server, else the first)
//     and rules outside any server apply to every other host. Wildcard
//     and regex names are unsupported.
//   - location =, prefix, ^~, ~ and ~* with "return 301|302|303|307|308
//     URL", "return URL" (302), "return 410" and "rewrite REGEX
//     REPLACEMENT permanent|redirect" (a replacement starting with
//     http(s):// or $scheme redirects with 302 without a flag). A
//     location that does not redirect still takes the requests it
//     matches (a Pass rule), as nginx would. Precedence is nginx's:
//     exact, then the longest prefix if it is ^~, then regexes in file
//     order, then the longest prefix.
//   - rewrite and return at server level (before any location), and
//     "if ($var) { return 301 $var; }" or "rewrite ^ $var permanent"
//     with "map $uri|$request_uri $var { … }": exact keys (matched
//     ignoring case) first, then regex keys (~, ~*) in order, then the
//     default if it is not empty.
//   - include, relative to the including file, with globs; a file of bare
//     map entries ("key value;") as if it were included in a map of $uri
//     used by "return 301".
//   - variables in a destination: $1..$9 and named captures of the
//     governing regex, $host, $scheme://$host (made a relative URL, so the
//     client keeps its scheme and host), $request_uri and $uri at the end
//     of the destination (the path matched, with the query string kept
//     for $request_uri), and $server_name in a named server.
//
// Everything else that redirects (if with other conditions, rewrite
// without a redirect flag, other variables, PCRE-only regex syntax) is
// reported as unsupported, naming the file and line.
func (m *manifestReader) readNginx(br *bufio.Reader) error {
	data, err := io.ReadAll(br)
	if err != nil {
		return err
	}
	n := &ngxReader{m: m, maps: map[string]*ngxMap{}, files: map[string]bool{m.name: true}}
	dirs, ok := n.parse(m.name, data)
	if !ok {
		return nil
	}
	dirs = n.expand(dirs, 0)
	n.read(dirs)
	return nil
}

// ngxTok is one token of an nginx file.
type ngxTok struct {
	s      string
	line   int
	quoted bool
	punct  byte // '{', '}' or ';' for punctuation, else 0
}

// ngxDir is one directive, with its block when it has one.
type ngxDir struct {
	name     string
	args     []ngxTok
	block    []*ngxDir
	hasBlock bool
	pos      Pos
}

// ngxReader holds the state of reading one nginx configuration.
type ngxReader struct {
	m     *manifestReader
	maps  map[string]*ngxMap
	files map[string]bool // files being read, against include cycles
	order int             // the last Order given out
	total int64           // bytes read from includes
}

// ngxMaxIncludeDepth bounds include nesting.
const ngxMaxIncludeDepth = 16

// problem records a problem at pos.
func (m *manifestReader) problemAt(pos Pos, sev Severity, format string, args ...any) {
	m.problems = append(m.problems, Problem{Pos: pos, Severity: sev, Msg: fmt.Sprintf(format, args...)})
}

// unsupportedAt is unsupported at a position in any file.
func (m *manifestReader) unsupportedAt(pos Pos, what string) {
	p := Problem{Pos: pos, Severity: Error, Msg: "unsupported: " + what}
	if m.opt.SkipUnsupported {
		p.Severity = Warning
		p.Msg += "; rule skipped"
	}
	m.problems = append(m.problems, p)
}

// lex splits an nginx file into tokens. ok is false after a syntax error,
// which it reports.
func (n *ngxReader) lex(file string, data []byte) (toks []ngxTok, ok bool) {
	line := 1
	i := 0
	for i < len(data) {
		c := data[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#':
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case c == '{' || c == '}' || c == ';':
			toks = append(toks, ngxTok{s: string(c), line: line, punct: c})
			i++
		case c == '"' || c == '\'':
			start := line
			var b strings.Builder
			i++
			for {
				if i >= len(data) {
					n.m.problemAt(Pos{File: file, Line: start}, Error, "unterminated quoted string")
					return nil, false
				}
				d := data[i]
				if d == c {
					i++
					break
				}
				if d == '\\' && i+1 < len(data) {
					b.WriteString(ngxUnescape(data[i+1]))
					if data[i+1] == '\n' {
						line++
					}
					i += 2
					continue
				}
				if d == '\n' {
					line++
				}
				b.WriteByte(d)
				i++
			}
			toks = append(toks, ngxTok{s: b.String(), line: start, quoted: true})
		default:
			var b strings.Builder
			for i < len(data) {
				d := data[i]
				if d == ' ' || d == '\t' || d == '\r' || d == '\n' || d == ';' || d == '{' || d == '}' || d == '\f' || d == '\v' {
					// "${name}" is a variable inside a word, not a block.
					if d == '{' && b.Len() > 0 && strings.HasSuffix(b.String(), "$") {
						end := i
						for end < len(data) && data[end] != '}' && data[end] != '\n' {
							end++
						}
						if end < len(data) && data[end] == '}' {
							b.Write(data[i : end+1])
							i = end + 1
							continue
						}
					}
					break
				}
				if d == '\\' && i+1 < len(data) && data[i+1] != '\n' {
					b.WriteString(ngxUnescape(data[i+1]))
					i += 2
					continue
				}
				b.WriteByte(d)
				i++
			}
			toks = append(toks, ngxTok{s: b.String(), line: line})
		}
	}
	return toks, true
}

// ngxUnescape gives what nginx makes of a backslash followed by c: the
// quotes, backslash and t, r, n are escapes; anything else keeps its
// backslash (as in a regex's "\d").
func ngxUnescape(c byte) string {
	switch c {
	case '"', '\'', '\\':
		return string(c)
	case 't':
		return "\t"
	case 'r':
		return "\r"
	case 'n':
		return "\n"
	}
	return "\\" + string(c)
}

// parse lexes and parses one file into directives.
func (n *ngxReader) parse(file string, data []byte) ([]*ngxDir, bool) {
	toks, ok := n.lex(file, data)
	if !ok {
		return nil, false
	}
	pos := 0
	dirs, ok := n.parseBlock(file, toks, &pos, 0)
	if ok && pos < len(toks) {
		n.m.problemAt(Pos{File: file, Line: toks[pos].line}, Error, "unexpected \"}\"")
		return nil, false
	}
	return dirs, ok
}

func (n *ngxReader) parseBlock(file string, toks []ngxTok, pos *int, depth int) ([]*ngxDir, bool) {
	var dirs []*ngxDir
	if depth > 64 {
		n.m.problemAt(Pos{File: file, Line: toks[*pos].line}, Error, "blocks nested too deeply")
		return nil, false
	}
	for *pos < len(toks) {
		t := toks[*pos]
		switch t.punct {
		case '}':
			return dirs, true
		case ';', '{':
			n.m.problemAt(Pos{File: file, Line: t.line}, Error, "unexpected %q", t.s)
			return nil, false
		}
		d := &ngxDir{name: t.s, pos: Pos{File: file, Line: t.line}}
		*pos++
		for {
			if *pos >= len(toks) {
				n.m.problemAt(d.pos, Error, "directive %q has no ending \";\" or \"}\"", d.name)
				return nil, false
			}
			a := toks[*pos]
			*pos++
			if a.punct == ';' {
				break
			}
			if a.punct == '{' {
				d.hasBlock = true
				b, ok := n.parseBlock(file, toks, pos, depth+1)
				if !ok {
					return nil, false
				}
				if *pos >= len(toks) {
					n.m.problemAt(d.pos, Error, "block of %q is not closed with \"}\"", d.name)
					return nil, false
				}
				*pos++ // the "}"
				d.block = b
				break
			}
			if a.punct == '}' {
				n.m.problemAt(Pos{File: file, Line: a.line}, Error, "unexpected \"}\" (missing \";\" after %q?)", d.name)
				return nil, false
			}
			d.args = append(d.args, a)
		}
		dirs = append(dirs, d)
	}
	if depth > 0 {
		return dirs, true // the caller reports the missing "}"
	}
	return dirs, true
}

// expand replaces include directives, in every block, by the directives
// of the files they name.
func (n *ngxReader) expand(dirs []*ngxDir, depth int) []*ngxDir {
	var out []*ngxDir
	for _, d := range dirs {
		if d.name != "include" || d.hasBlock {
			if d.hasBlock {
				d.block = n.expand(d.block, depth)
			}
			out = append(out, d)
			continue
		}
		if len(d.args) != 1 {
			n.m.problemAt(d.pos, Error, "include takes one file name")
			continue
		}
		if depth >= ngxMaxIncludeDepth {
			n.m.problemAt(d.pos, Error, "include %q: includes nested more than %d deep", d.args[0].s, ngxMaxIncludeDepth)
			continue
		}
		for _, file := range n.includeFiles(d) {
			if n.files[file] {
				n.m.problemAt(d.pos, Error, "include %q: %s includes itself", d.args[0].s, file)
				continue
			}
			data, err := n.readFile(file)
			if err != nil {
				n.m.problemAt(d.pos, Error, "include %q: %v", d.args[0].s, err)
				continue
			}
			sub, ok := n.parse(file, data)
			if !ok {
				continue
			}
			n.files[file] = true
			out = append(out, n.expand(sub, depth+1)...)
			delete(n.files, file)
		}
	}
	return out
}

// includeFiles resolves an include's argument relative to the including
// file, expanding a glob.
func (n *ngxReader) includeFiles(d *ngxDir) []string {
	name := d.args[0].s
	if !filepath.IsAbs(name) {
		name = filepath.Join(filepath.Dir(d.pos.File), name)
	}
	if !strings.ContainsAny(name, "*?[") {
		return []string{name}
	}
	var files []string
	var err error
	if fsys := n.m.opt.IncludeFS; fsys != nil {
		files, err = fs.Glob(fsys, filepath.ToSlash(name))
	} else {
		files, err = filepath.Glob(name)
	}
	if err != nil {
		n.m.problemAt(d.pos, Error, "include %q: %v", d.args[0].s, err)
	}
	sort.Strings(files)
	return files
}

func (n *ngxReader) readFile(name string) ([]byte, error) {
	var data []byte
	var err error
	if fsys := n.m.opt.IncludeFS; fsys != nil {
		data, err = fs.ReadFile(fsys, filepath.ToSlash(name))
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, err
	}
	n.total += int64(len(data))
	if n.total > n.m.opt.maxInput() {
		return nil, fmt.Errorf("included files exceed the input limit of %d bytes", n.m.opt.maxInput())
	}
	return data, nil
}

// ngxMap is one map block (or the implicit map of a file of bare entries).
type ngxMap struct {
	source string // "$uri" or "$request_uri"
	pos    Pos
	exact  []ngxMapEntry
	regex  []ngxMapEntry
	def    *ngxMapEntry
	bad    bool // an entry could not be read; already reported
}

type ngxMapEntry struct {
	key, value string
	caseless   bool // ~*
	pos        Pos
}

// ngxServer is a server block, or the implicit server of directives
// outside any.
type ngxServer struct {
	pos    Pos
	names  []string
	def    bool // the default server: its rules apply to any host
	tls    bool // listens with ssl (or on 443)
	pre    []*ngxDir
	locs   []*ngxLoc
	seenAt map[string]Pos // location keys, for duplicates
}

// ngxLoc is one location block.
type ngxLoc struct {
	mod  string // "=", "", "^~", "~", "~*"
	arg  string
	dir  *ngxDir
	body []*ngxDir
}

// read interprets a whole configuration.
func (n *ngxReader) read(dirs []*ngxDir) {
	top := &ngxServer{def: true}
	var servers []*ngxServer
	var bare *ngxMap
	var walk func(dirs []*ngxDir, inHTTP bool)
	walk = func(dirs []*ngxDir, inHTTP bool) {
		for _, d := range dirs {
			switch {
			case d.name == "http" && d.hasBlock:
				walk(d.block, true)
			case d.name == "map" && d.hasBlock:
				n.readMap(d)
			case d.name == "server" && d.hasBlock:
				servers = append(servers, n.readServer(d))
			case d.name == "location":
				n.addLocation(top, d)
			case d.name == "rewrite" || d.name == "return" || d.name == "if":
				top.pre = append(top.pre, d)
			case !d.hasBlock && len(d.args) == 1 && !inHTTP && (strings.HasPrefix(d.name, "/") || strings.HasPrefix(d.name, "~") || d.name == "default"):
				if bare == nil {
					bare = &ngxMap{source: "$uri", pos: d.pos}
				}
				n.mapEntry(bare, d)
			case d.hasBlock && ngxRedirects(d.block):
				n.m.unsupportedAt(d.pos, fmt.Sprintf("redirects inside a %q block", d.name))
			}
		}
	}
	walk(dirs, false)

	if bare != nil {
		const v = "$\x00bare" // a name no configuration can use
		n.maps[v] = bare
		top.pre = append([]*ngxDir{{name: "return", pos: bare.pos, args: []ngxTok{
			{s: strconv.Itoa(n.m.defaultStatus(301))}, {s: v}}}}, top.pre...)
	}

	// redirc does not tell http from https: where a name is served with
	// TLS, a plain-HTTP server for the same names (typically one that
	// redirects everything to https) is left out, else it would send
	// https requests round in a loop.
	tlsNames := map[string]Pos{}
	anyTLS := false
	for _, s := range servers {
		if s.tls {
			anyTLS = true
			for _, h := range s.names {
				if _, ok := tlsNames[h]; !ok {
					tlsNames[h] = s.pos
				}
			}
		}
	}
	if anyTLS {
		kept := servers[:0]
		for _, s := range servers {
			covered := !s.tls
			for _, h := range s.names {
				if _, ok := tlsNames[h]; !ok {
					covered = false
				}
			}
			if covered {
				n.m.problemAt(s.pos, Warning, "plain-HTTP server skipped: its names are served with TLS too, and redirc answers as the TLS server does (it does not see the scheme)")
				continue
			}
			kept = append(kept, s)
		}
		servers = kept
	}
	// A name served twice: nginx takes the first server and ignores it
	// in the others.
	seen := map[string]Pos{}
	for _, s := range servers {
		names := s.names[:0]
		for _, h := range s.names {
			if p, dup := seen[h]; dup {
				n.m.problemAt(s.pos, Warning, "server_name %q is also at %s: nginx ignores it here", h, p)
				continue
			}
			seen[h] = s.pos
			names = append(names, h)
		}
		s.names = names
	}
	// The default server: listen … default_server, else the first.
	defIdx := -1
	for i, s := range servers {
		if s.def {
			if defIdx >= 0 {
				n.m.problemAt(s.pos, Error, "a second default server (the first is at %s)", servers[defIdx].pos)
			} else {
				defIdx = i
			}
		}
	}
	if defIdx < 0 && len(servers) > 0 && len(top.locs) == 0 && len(top.pre) == 0 {
		defIdx = 0
		servers[0].def = true
	}
	for i, s := range servers {
		if i == defIdx {
			continue
		}
		s.def = false
		if len(s.names) == 0 {
			n.m.problemAt(s.pos, Warning, "server has no server_name and is not the default server: nginx never selects it; its rules are ignored")
			continue
		}
		for _, h := range s.names {
			n.emitServer(s, h)
		}
	}
	if defIdx >= 0 {
		n.emitServer(servers[defIdx], "")
	}
	if len(top.locs) > 0 || len(top.pre) > 0 {
		n.emitServer(top, "")
	}
}

// ngxRedirects reports whether a block holds a return or rewrite anywhere.
func ngxRedirects(dirs []*ngxDir) bool {
	for _, d := range dirs {
		if d.name == "return" || d.name == "rewrite" || ngxRedirects(d.block) {
			return true
		}
	}
	return false
}

func (n *ngxReader) readMap(d *ngxDir) {
	if len(d.args) != 2 {
		n.m.problemAt(d.pos, Error, "map takes a source and a variable: map $uri $new { … }")
		return
	}
	v := d.args[1].s
	if !strings.HasPrefix(v, "$") || len(v) < 2 {
		n.m.problemAt(d.pos, Error, "map variable %q does not start with $", v)
		return
	}
	mp := &ngxMap{source: d.args[0].s, pos: d.pos}
	for _, e := range d.block {
		n.mapEntry(mp, e)
	}
	n.maps[v] = mp
}

// mapEntry reads one line of a map block.
func (n *ngxReader) mapEntry(mp *ngxMap, d *ngxDir) {
	if d.hasBlock {
		n.m.problemAt(d.pos, Error, "unexpected block in a map")
		mp.bad = true
		return
	}
	switch {
	case d.name == "hostnames" && len(d.args) == 0:
		n.m.unsupportedAt(d.pos, "map hostnames (host masks)")
		mp.bad = true
		return
	case d.name == "volatile" && len(d.args) == 0:
		return
	}
	if len(d.args) != 1 {
		n.m.problemAt(d.pos, Error, "map entry %q needs exactly one value", d.name)
		mp.bad = true
		return
	}
	e := ngxMapEntry{key: d.name, value: d.args[0].s, pos: d.pos}
	switch {
	case d.name == "default":
		mp.def = &e
	case strings.HasPrefix(d.name, "~*"):
		e.key, e.caseless = d.name[2:], true
		mp.regex = append(mp.regex, e)
	case strings.HasPrefix(d.name, "~"):
		e.key = d.name[1:]
		mp.regex = append(mp.regex, e)
	default:
		e.key = strings.TrimPrefix(e.key, "\\") // "\~" is a literal "~"
		mp.exact = append(mp.exact, e)
	}
}

func (n *ngxReader) readServer(d *ngxDir) *ngxServer {
	s := &ngxServer{pos: d.pos}
	for _, c := range d.block {
		switch c.name {
		case "server_name":
			for _, a := range c.args {
				name := strings.ToLower(a.s)
				switch {
				case name == "" || name == "_": // no name: only the default server
				case strings.HasPrefix(name, "~") || strings.ContainsAny(name, "*") || strings.HasPrefix(name, "."):
					n.m.unsupportedAt(c.pos, fmt.Sprintf("server_name %q (only exact names scope rules)", a.s))
				case strings.Contains(name, "$"):
					n.m.unsupportedAt(c.pos, fmt.Sprintf("server_name %q with a variable", a.s))
				default:
					if !slices.Contains(s.names, name) {
						s.names = append(s.names, name)
					}
				}
			}
		case "listen":
			for i, a := range c.args {
				switch {
				case i > 0 && (a.s == "default_server" || a.s == "default"):
					s.def = true
				case i > 0 && (a.s == "ssl" || a.s == "quic"), i == 0 && (a.s == "443" || strings.HasSuffix(a.s, ":443")):
					s.tls = true
				}
			}
		case "location":
			n.addLocation(s, c)
		case "rewrite", "return", "if":
			s.pre = append(s.pre, c)
		case "map", "server", "http":
			if c.hasBlock {
				n.m.problemAt(c.pos, Error, "%q is not allowed inside a server block", c.name)
			}
		default:
			if c.hasBlock && ngxRedirects(c.block) {
				n.m.unsupportedAt(c.pos, fmt.Sprintf("redirects inside a %q block", c.name))
			}
		}
	}
	return s
}

func (n *ngxReader) addLocation(s *ngxServer, d *ngxDir) {
	if !d.hasBlock {
		n.m.problemAt(d.pos, Error, "location without a block")
		return
	}
	l := &ngxLoc{dir: d, body: d.block}
	switch {
	case len(d.args) == 2 && slices.Contains([]string{"=", "^~", "~", "~*"}, d.args[0].s) && !d.args[0].quoted:
		l.mod, l.arg = d.args[0].s, d.args[1].s
	case len(d.args) == 1 && strings.HasPrefix(d.args[0].s, "@") && !d.args[0].quoted:
		return // a named location is reached only by internal redirects
	case len(d.args) == 1 && !d.args[0].quoted && len(d.args[0].s) > 1 && (d.args[0].s[0] == '=' || d.args[0].s[0] == '~'):
		// "=/x", "~/re", "~*/re", "^~/x" written without a space.
		a := d.args[0].s
		switch {
		case strings.HasPrefix(a, "~*"):
			l.mod, l.arg = "~*", a[2:]
		default:
			l.mod, l.arg = a[:1], a[1:]
		}
	case len(d.args) == 1 && strings.HasPrefix(d.args[0].s, "^~") && !d.args[0].quoted && len(d.args[0].s) > 2:
		l.mod, l.arg = "^~", d.args[0].s[2:]
	case len(d.args) == 1:
		l.arg = d.args[0].s
	default:
		n.m.problemAt(d.pos, Error, "invalid location: want location [=|^~|~|~*] URI { … }")
		return
	}
	key := l.mod + " " + l.arg
	if l.mod == "^~" {
		key = " " + l.arg // "^~ /a" and "/a" are the same prefix
	}
	if s.seenAt == nil {
		s.seenAt = map[string]Pos{}
	}
	if p, dup := s.seenAt[key]; dup && l.mod != "~" && l.mod != "~*" {
		n.m.problemAt(d.pos, Error, "duplicate location %q (first at %s)", l.arg, p)
		return
	}
	s.seenAt[key] = d.pos
	s.locs = append(s.locs, l)
}

// ngxEmit collects the rules of one server for one host.
type ngxEmit struct {
	n     *ngxReader
	host  string // "" for any host
	names []string
	rules []Rule
}

func (e *ngxEmit) add(r Rule) {
	r.Syntax = SyntaxRegex
	r.Host = e.host
	r.Destination = patternDest(r.Destination)
	e.rules = append(e.rules, r)
}

// emitServer emits a server's rules for one host ("" for any host), in
// an order where the first match is nginx's answer.
func (n *ngxReader) emitServer(s *ngxServer, host string) {
	e := &ngxEmit{n: n, host: host, names: s.names}
	// 1. Server-level rewrite, return and if, in order (the rewrite
	// phase runs before a location is chosen).
	stop := false
	for _, d := range s.pre {
		if stop {
			n.m.problemAt(d.pos, Warning, "%q after an unconditional return is never reached", d.name)
			continue
		}
		stop = e.redirect(d, nil)
	}
	if !stop {
		n.emitLocations(e, s)
	}
	// Pass rules at the end change nothing; for a named server one
	// catch-all keeps the request from falling to the default server.
	for len(e.rules) > 0 && e.rules[len(e.rules)-1].Pass {
		e.rules = e.rules[:len(e.rules)-1]
	}
	if host != "" && !stop {
		e.add(Rule{Source: "^", Pass: true, CaseSensitive: true, Pos: s.pos})
	}
	for _, r := range e.rules {
		n.order++
		r.Order = n.order
		n.m.add(r)
	}
}

func (n *ngxReader) emitLocations(e *ngxEmit, s *ngxServer) {
	var exact, regex, prefix []*ngxLoc
	for _, l := range s.locs {
		switch l.mod {
		case "=":
			exact = append(exact, l)
		case "~", "~*":
			regex = append(regex, l)
		default:
			prefix = append(prefix, l)
		}
	}
	for _, l := range exact {
		e.location(l, "^"+regexp.QuoteMeta(l.arg)+"$", true, false)
	}
	// ^~ prefixes: only where no longer prefix location matches (nginx
	// takes the longest prefix first, and uses it at once only if it is
	// ^~), so the rule excludes every longer prefix that extends it.
	for _, l := range prefix {
		if l.mod != "^~" {
			continue
		}
		var longer []string
		for _, o := range prefix {
			if len(o.arg) > len(l.arg) && strings.HasPrefix(o.arg, l.arg) {
				longer = append(longer, o.arg[len(l.arg):])
			}
		}
		e.location(l, "^"+regexp.QuoteMeta(l.arg)+notPrefixes(longer), true, len(longer) > 0)
	}
	for _, l := range regex {
		e.location(l, l.arg, l.mod == "~", false)
	}
	// Plain prefixes, longest first: reached only when no regex matched,
	// and a longest ^~ prefix was taken above.
	plain := slices.Clone(prefix)
	sort.SliceStable(plain, func(i, j int) bool { return len(plain[i].arg) > len(plain[j].arg) })
	for _, l := range plain {
		if l.mod == "^~" {
			continue
		}
		e.location(l, "^"+regexp.QuoteMeta(l.arg), true, false)
	}
}

// notPrefixes returns a regex that matches, at its position, exactly
// where the rest of the text does not start with any of rs.
func notPrefixes(rs []string) string {
	type node struct {
		kids map[rune]*node
		end  bool
	}
	root := &node{kids: map[rune]*node{}}
	for _, r := range rs {
		nd := root
		for _, c := range r {
			k := nd.kids[c]
			if k == nil {
				k = &node{kids: map[rune]*node{}}
				nd.kids[c] = k
			}
			nd = k
		}
		nd.end = true
	}
	var gen func(nd *node) string
	gen = func(nd *node) string {
		if len(nd.kids) == 0 {
			return ""
		}
		keys := make([]rune, 0, len(nd.kids))
		for c := range nd.kids {
			keys = append(keys, c)
		}
		slices.Sort(keys)
		var b strings.Builder
		b.WriteString("(?:$|[^")
		for _, c := range keys {
			fmt.Fprintf(&b, `\x{%x}`, c)
		}
		b.WriteString("]")
		for _, c := range keys {
			k := nd.kids[c]
			if k.end {
				continue
			}
			fmt.Fprintf(&b, `|\x{%x}%s`, c, gen(k))
		}
		b.WriteString(")")
		return b.String()
	}
	return gen(root)
}

// ngxGov is the regex whose captures a destination may use.
type ngxGov struct {
	re            *regexp.Regexp
	src           string
	caseSensitive bool
}

// location emits the rules of one location: its rewrites and returns in
// order, or a Pass rule when it does not redirect. excl says re excludes
// longer prefixes (a ^~ location), which a rewrite's regex cannot.
func (e *ngxEmit) location(l *ngxLoc, re string, caseSensitive, excl bool) {
	n := e.n
	gov, ok := n.compile(l.dir.pos, re, caseSensitive, "location "+l.mod+" "+l.arg)
	if !ok {
		return
	}
	for _, d := range l.body {
		switch d.name {
		case "location":
			if ngxRedirects(d.block) {
				n.m.unsupportedAt(d.pos, "a location nested in a location")
			}
			continue
		case "return", "rewrite", "if":
		default:
			if d.hasBlock && ngxRedirects(d.block) {
				n.m.unsupportedAt(d.pos, fmt.Sprintf("redirects inside a %q block", d.name))
			}
			continue
		}
		if e.redirectIn(d, l, gov, excl) {
			return
		}
	}
	e.add(Rule{Source: gov.src, CaseSensitive: caseSensitive, Pass: true, Pos: l.dir.pos})
}

// redirectIn handles a return, rewrite or if inside location l. It
// reports whether the location ends there (an unconditional return).
func (e *ngxEmit) redirectIn(d *ngxDir, l *ngxLoc, gov *ngxGov, excl bool) bool {
	if d.name == "return" {
		return e.redirect(d, gov)
	}
	if d.name == "if" {
		if mp, ok := e.mapIf(d); ok {
			if l.mod == "" && l.arg == "/" {
				e.redirect(d, nil)
				return false
			}
			if mp != nil {
				e.n.m.unsupportedAt(d.pos, fmt.Sprintf("a map redirect inside location %s %s (only in location / or at server level)", l.mod, l.arg))
			}
			return false
		}
		e.redirect(d, nil) // reports what is unsupported
		return false
	}
	// rewrite: its regex must imply the location's match.
	if len(d.args) >= 1 {
		// location / takes every path a server-level rewrite would; a
		// rewrite repeating a case-sensitive location's regex matches
		// exactly where the location does.
		implied := l.mod == "" && l.arg == "/" || l.mod == "~" && d.args[0].s == l.arg
		if (l.mod == "" || l.mod == "^~") && !implied && !excl {
			if p, ok := anchoredLiteralPrefix(d.args[0].s); ok && strings.HasPrefix(p, l.arg) {
				implied = true
			}
		}
		if !implied {
			e.n.m.unsupportedAt(d.pos, fmt.Sprintf("rewrite %q inside location %s %s: redirc cannot combine the location's match with the rewrite's regex (move the rewrite to server level, or make its regex start with ^ and the location's prefix)", d.args[0].s, l.mod, l.arg))
			return false
		}
	}
	return e.redirect(d, nil)
}

// mapIf recognizes "if ($var)" and "if ($var != ”)" on a map variable.
// ok is false when the condition is something else.
func (e *ngxEmit) mapIf(d *ngxDir) (*ngxMap, bool) {
	cond := ngxIfCond(d)
	if cond == "" {
		return nil, false
	}
	mp := e.n.maps[cond]
	return mp, mp != nil
}

// ngxIfCond returns the variable of "if ($v)" or "if ($v != ”)", else "".
func ngxIfCond(d *ngxDir) string {
	var parts []string
	for _, a := range d.args {
		s := a.s
		if !a.quoted {
			s = strings.TrimPrefix(s, "(")
			s = strings.TrimSuffix(s, ")")
		}
		if s != "" || a.quoted {
			parts = append(parts, s)
		}
	}
	switch {
	case len(parts) == 1 && strings.HasPrefix(parts[0], "$"):
		return parts[0]
	case len(parts) == 3 && strings.HasPrefix(parts[0], "$") && parts[1] == "!=" && (parts[2] == "" || parts[2] == "0"):
		return parts[0]
	}
	return ""
}

// redirect emits the rule of a return, rewrite, or if on a map variable,
// at server level (gov nil) or in a location whose regex is gov. It
// reports whether nothing after it can run (an unconditional return).
func (e *ngxEmit) redirect(d *ngxDir, gov *ngxGov) bool {
	n := e.n
	switch d.name {
	case "if":
		cond := ngxIfCond(d)
		mp := n.maps[cond]
		if mp == nil {
			if ngxRedirects(d.block) {
				n.m.unsupportedAt(d.pos, fmt.Sprintf("if %s (only \"if ($map_variable)\" around a redirect to that variable)", ngxArgs(d.args)))
			}
			return false
		}
		for _, c := range d.block {
			switch {
			case c.name == "return" && len(c.args) == 2 && c.args[1].s == cond,
				c.name == "rewrite" && len(c.args) >= 2 && c.args[1].s == cond:
				e.redirect(c, nil)
			case c.name == "return" || c.name == "rewrite":
				n.m.unsupportedAt(c.pos, fmt.Sprintf("%s %s inside if (%s): only a redirect to the map's value", c.name, ngxArgs(c.args), cond))
			}
		}
		return false
	case "return":
		return e.ret(d, gov)
	case "rewrite":
		e.rewrite(d)
		return false
	}
	return false
}

func ngxArgs(a []ngxTok) string {
	s := make([]string, len(a))
	for i, t := range a {
		s[i] = t.s
		if t.quoted {
			s[i] = strconv.Quote(t.s)
		}
	}
	return strings.Join(s, " ")
}

// ret handles "return CODE [URL]" and "return URL".
func (e *ngxEmit) ret(d *ngxDir, gov *ngxGov) bool {
	n := e.n
	if len(d.args) == 0 || len(d.args) > 2 {
		n.m.problemAt(d.pos, Error, "return takes a code and a URL or text")
		return false
	}
	code, url := 302, ""
	if len(d.args) == 1 {
		if c, ok := parseStatusCode(d.args[0].s); ok {
			code = c
		} else {
			url = d.args[0].s
			if !ngxAbsolute(url) {
				n.m.problemAt(d.pos, Error, "return %q: a single argument must be a status code or a URL starting with http://, https:// or $scheme", url)
				return false
			}
		}
	} else {
		c, ok := parseStatusCode(d.args[0].s)
		if !ok {
			n.m.problemAt(d.pos, Error, "return %q: invalid status code", d.args[0].s)
			return false
		}
		code, url = c, d.args[1].s
	}
	where := gov
	if where == nil {
		where = &ngxGov{src: "^", caseSensitive: true}
	}
	switch {
	case code == 410:
		e.add(Rule{Source: where.src, CaseSensitive: where.caseSensitive, Status: 410, Pos: d.pos})
		return true
	case code >= 301 && code <= 308 && code != 304 && code != 305 && code != 306:
	default:
		if gov != nil {
			n.m.problemAt(d.pos, Warning, "return %d is not a redirect: requests this location matches get no redirect", code)
			e.add(Rule{Source: gov.src, CaseSensitive: gov.caseSensitive, Pass: true, Pos: d.pos})
		} else {
			n.m.unsupportedAt(d.pos, fmt.Sprintf("return %d at server level answers every request itself", code))
		}
		return true
	}
	if url == "" {
		n.m.problemAt(d.pos, Error, "return %d needs a URL", code)
		return false
	}
	// A map variable: the map's entries become the rules.
	if mp := n.maps[url]; mp != nil {
		if gov != nil && gov.src != "^/" {
			n.m.unsupportedAt(d.pos, "a map redirect inside a location other than location /")
			return false
		}
		e.mapRules(mp, code, false, d.pos)
		return false
	}
	r := Rule{Source: where.src, CaseSensitive: where.caseSensitive, Status: code, Pos: d.pos}
	dst, query, why := e.dest(url, where, true)
	if why != "" {
		n.m.unsupportedAt(d.pos, fmt.Sprintf("return %s: %s", ngxArgs(d.args), why))
		if gov != nil {
			e.add(Rule{Source: gov.src, CaseSensitive: gov.caseSensitive, Pass: true, Pos: d.pos})
		}
		return true
	}
	r.Source = e.wrapWhole(r.Source, dst)
	r.Destination, r.Query = dst, query
	e.add(r)
	return true
}

// ngxAbsolute reports whether nginx takes a return/rewrite target as a
// redirect by its look.
func ngxAbsolute(s string) bool {
	return hasHTTPScheme([]byte(s)) || strings.HasPrefix(s, "$scheme")
}

// rewrite handles "rewrite REGEX REPLACEMENT [flag]".
func (e *ngxEmit) rewrite(d *ngxDir) {
	n := e.n
	if len(d.args) < 2 || len(d.args) > 3 {
		n.m.problemAt(d.pos, Error, "rewrite takes a regex, a replacement and an optional flag")
		return
	}
	flag := ""
	if len(d.args) == 3 {
		flag = d.args[2].s
	}
	code := 0
	switch flag {
	case "permanent":
		code = 301
	case "redirect":
		code = 302
	case "", "last", "break":
		if ngxAbsolute(d.args[1].s) {
			code = 302
		}
	default:
		n.m.problemAt(d.pos, Error, "rewrite flag %q: want last, break, redirect or permanent", flag)
		return
	}
	if code == 0 {
		n.m.unsupportedAt(d.pos, fmt.Sprintf("rewrite %s without redirect or permanent is an internal rewrite; redirc only redirects", ngxArgs(d.args)))
		return
	}
	repl := d.args[1].s
	if mp := n.maps[repl]; mp != nil {
		if !ngxMatchesAll(d.args[0].s) {
			n.m.unsupportedAt(d.pos, fmt.Sprintf("rewrite %s to a map variable: only \"rewrite ^ %s\"", d.args[0].s, repl))
			return
		}
		e.mapRules(mp, code, true, d.pos)
		return
	}
	gov, ok := n.compile(d.pos, d.args[0].s, true, "rewrite "+d.args[0].s)
	if !ok {
		return
	}
	query := true // nginx appends the request's arguments…
	if strings.HasSuffix(repl, "?") {
		repl, query = repl[:len(repl)-1], false // …unless the replacement ends in "?"
	}
	dst, q, why := e.dest(repl, gov, true)
	if why != "" {
		n.m.unsupportedAt(d.pos, fmt.Sprintf("rewrite %s: %s", ngxArgs(d.args), why))
		return
	}
	e.add(Rule{Source: e.wrapWhole(gov.src, dst), CaseSensitive: true, Status: code, Destination: dst, Query: query || q, Pos: d.pos})
}

// ngxMatchesAll reports whether a rewrite regex matches every path.
func ngxMatchesAll(re string) bool {
	switch re {
	case "^", "^.*", "^(.*)", "^(.*)$", "^.*$", "", ".*", "^/", "/":
		return true
	}
	return false
}

// mapRules emits the rules of a redirect to a map's value.
func (e *ngxEmit) mapRules(mp *ngxMap, code int, rewrite bool, at Pos) {
	n := e.n
	if mp.source != "$uri" && mp.source != "$request_uri" && mp.source != "$document_uri" {
		n.m.unsupportedAt(mp.pos, fmt.Sprintf("map on %s (only $uri and $request_uri)", mp.source))
		return
	}
	raw := mp.source == "$request_uri"
	for _, en := range mp.exact {
		if raw && strings.Contains(en.key, "?") {
			n.m.unsupportedAt(en.pos, fmt.Sprintf("map key %q with a query string", en.key))
			continue
		}
		gov := &ngxGov{src: "^" + regexp.QuoteMeta(en.key) + "$"}
		dst, query, why := e.dest(en.value, gov, false)
		if why != "" {
			n.m.unsupportedAt(en.pos, fmt.Sprintf("map value %q: %s", en.value, why))
			continue
		}
		if dst == "" {
			continue // an empty value: no redirect
		}
		r := Rule{Status: code, Destination: dst, Query: query || rewrite && !strings.HasSuffix(en.value, "?"), Pos: en.pos}
		if rewrite && strings.HasSuffix(r.Destination, "?") {
			r.Destination = r.Destination[:len(r.Destination)-1]
		}
		if strings.HasPrefix(en.key, "/") && !strings.HasSuffix(en.key, "*") && !strings.ContainsAny(en.key, "?#") && !strings.Contains(dst, "$") {
			// A plain path: an exact rule, which builds without the
			// pattern tier. Map strings match ignoring case.
			r.Source = en.key
			if e.host != "" {
				r.Source = e.host + en.key
			}
			e.rules = append(e.rules, r) // Syntax stays SyntaxPath
			continue
		}
		r.Source = e.wrapWhole(gov.src, dst)
		e.add(r)
	}
	for _, en := range mp.regex {
		gov, ok := n.compile(en.pos, en.key, !en.caseless, "map key ~"+en.key)
		if !ok {
			continue
		}
		dst, query, why := e.dest(en.value, gov, false)
		if why != "" {
			n.m.unsupportedAt(en.pos, fmt.Sprintf("map value %q: %s", en.value, why))
			continue
		}
		if dst == "" {
			// An empty value stops the map here: no redirect.
			e.add(Rule{Source: gov.src, CaseSensitive: gov.caseSensitive, Pass: true, Pos: en.pos})
			continue
		}
		e.add(Rule{Source: e.wrapWhole(gov.src, dst), CaseSensitive: gov.caseSensitive, Status: code, Destination: dst,
			Query: query || rewrite && !strings.HasSuffix(en.value, "?"), Pos: en.pos})
	}
	if mp.def != nil && mp.def.value != "" {
		gov := &ngxGov{src: "^", caseSensitive: true}
		dst, query, why := e.dest(mp.def.value, gov, false)
		if why != "" {
			n.m.unsupportedAt(mp.def.pos, fmt.Sprintf("map default %q: %s", mp.def.value, why))
			return
		}
		e.add(Rule{Source: e.wrapWhole("^", dst), CaseSensitive: true, Status: code, Destination: dst, Query: query, Pos: mp.def.pos})
	}
}

// compile checks a regex: RE2 must accept it, and "host" is no capture
// name (the destination's ${host} is the request's host).
func (n *ngxReader) compile(pos Pos, re string, caseSensitive bool, what string) (*ngxGov, bool) {
	expr := re
	if !caseSensitive {
		expr = "(?i)" + re
	}
	c, err := regexp.Compile(expr)
	if err != nil {
		msg := err.Error()
		if se, ok := err.(*syntax.Error); ok {
			msg = string(se.Code) + " " + strconv.Quote(se.Expr)
		}
		n.m.unsupportedAt(pos, fmt.Sprintf("%s: the regex is not RE2 syntax (%s); lookaround and backreferences have no RE2 equivalent", what, msg))
		return nil, false
	}
	if slices.Contains(c.SubexpNames(), "host") {
		n.m.unsupportedAt(pos, fmt.Sprintf("%s: a capture named \"host\" (the name is kept for the request's host)", what))
		return nil, false
	}
	return &ngxGov{re: c, src: re, caseSensitive: caseSensitive}, true
}

// wholeMatch marks, in a destination under construction, where the whole
// path goes ($uri, $request_uri): "$0" once the regex is widened to the
// whole path by wrapWhole.
const wholeMatch = "${0}"

// wrapWhole widens re to match the whole path when dst uses the whole
// match, keeping what it matches and its captures: an unanchored search
// for re is a match of "^.*?(?:re)" at the start, which "(?s:.*)$"
// extends to the end.
func (e *ngxEmit) wrapWhole(re, dst string) string {
	if !strings.Contains(dst, wholeMatch) {
		return re
	}
	return wrapWholeRegex(re)
}

func wrapWholeRegex(re string) string {
	if strings.HasPrefix(re, "^") {
		return "^(?:" + re[1:] + ")(?s:.*)$"
	}
	return "^(?s:.*?)(?:" + re + ")(?s:.*)$"
}

// dest translates an nginx destination into the rule model: variables
// become ${N}, ${name}, ${host} and ${0}. query reports whether the
// request's query string must follow ($request_uri). why, when not
// empty, says what cannot be honoured.
func (e *ngxEmit) dest(s string, gov *ngxGov, _ bool) (dst string, query bool, why string) {
	if strings.HasPrefix(s, "$scheme://$host/") || s == "$scheme://$host" {
		s = strings.TrimPrefix(s, "$scheme://$host")
		if s == "" {
			s = "/"
		}
	} else if strings.HasPrefix(s, "$scheme://${host}") {
		s = strings.TrimPrefix(s, "$scheme://${host}")
		if s == "" {
			s = "/"
		}
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		name, n := ngxVar(s[i:])
		if n == 0 {
			return "", false, fmt.Sprintf("a lone \"$\" at byte %d", i)
		}
		i += n
		switch {
		case name != "" && name[0] >= '0' && name[0] <= '9':
			k, _ := strconv.Atoi(name)
			if gov == nil || gov.re == nil || k > gov.re.NumSubexp() || k == 0 {
				return "", false, fmt.Sprintf("$%s refers to no capture", name)
			}
			fmt.Fprintf(&b, "${%d}", k)
		case name == "host":
			if e.host != "" {
				b.WriteString(e.host)
			} else {
				b.WriteString("${host}")
			}
		case name == "server_name":
			if len(e.names) == 0 {
				return "", false, "$server_name in a server without server_name"
			}
			b.WriteString(e.names[0])
		case name == "request_uri" || name == "uri" || name == "document_uri":
			if i != len(s) {
				return "", false, fmt.Sprintf("$%s followed by more text (only at the end of the destination)", name)
			}
			b.WriteString(wholeMatch)
			query = name == "request_uri"
		case name == "scheme":
			return "", false, "$scheme other than in \"$scheme://$host/…\""
		case gov != nil && gov.re != nil && gov.re.SubexpIndex(name) > 0:
			fmt.Fprintf(&b, "${%s}", name)
		default:
			return "", false, fmt.Sprintf("variable $%s (supported: $1..$9, named captures, $host, $scheme://$host, $request_uri and $uri at the end, $server_name)", name)
		}
	}
	dst = b.String()
	if dst != "" && !strings.HasPrefix(dst, "/") && !hasHTTPScheme([]byte(dst)) && !strings.HasPrefix(dst, "${") {
		return "", false, fmt.Sprintf("destination %q is neither a path starting with / nor an http(s) URL", s)
	}
	return dst, query, ""
}

// ngxVar reads the variable at the start of s ("$name", "${name}",
// "$1"), returning its name and length; n is 0 when there is none.
func ngxVar(s string) (name string, n int) {
	if len(s) < 2 {
		return "", 0
	}
	if s[1] == '{' {
		end := strings.IndexByte(s, '}')
		if end < 3 {
			return "", 0
		}
		return s[2:end], end + 1
	}
	if s[1] >= '0' && s[1] <= '9' {
		return s[1:2], 2
	}
	j := 1
	for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
		j++
	}
	if j == 1 {
		return "", 0
	}
	return s[1:j], j
}

// anchoredLiteralPrefix returns the literal text a regex requires at the
// start of the string ("^/old" gives "/old"); ok is false when the regex
// is not anchored at the start.
func anchoredLiteralPrefix(re string) (string, bool) {
	t, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return "", false
	}
	subs := []*syntax.Regexp{t}
	if t.Op == syntax.OpConcat {
		subs = t.Sub
	}
	if len(subs) == 0 || subs[0].Op != syntax.OpBeginText {
		return "", false
	}
	var b strings.Builder
	for _, s := range subs[1:] {
		if s.Op != syntax.OpLiteral || s.Flags&syntax.FoldCase != 0 {
			break
		}
		b.WriteString(string(s.Rune))
	}
	return b.String(), true
}

// patternDest writes a destination's capture references as the pattern
// tier reads them: "${N}" as "$N" and "${name}" as "$name" where no word
// character follows ("${host}" and "${0}" stay as they are).
func patternDest(d string) string {
	if !strings.Contains(d, "${") {
		return d
	}
	var b strings.Builder
	for i := 0; i < len(d); i++ {
		if d[i] == '$' && i+1 < len(d) && d[i+1] == '$' {
			b.WriteString("$$")
			i++
			continue
		}
		if d[i] != '$' || i+1 >= len(d) || d[i+1] != '{' {
			b.WriteByte(d[i])
			continue
		}
		end := strings.IndexByte(d[i:], '}')
		if end < 0 {
			b.WriteString(d[i:])
			break
		}
		name := d[i+2 : i+end]
		next := i + end + 1
		wordNext := next < len(d) && (d[next] == '_' || d[next] >= 'a' && d[next] <= 'z' || d[next] >= 'A' && d[next] <= 'Z' || d[next] >= '0' && d[next] <= '9')
		isDigit := len(name) == 1 && name[0] >= '1' && name[0] <= '9'
		switch {
		case name == "host" || name == "0":
			b.WriteString(d[i:next])
		case isDigit:
			b.WriteString("$" + name)
		case !wordNext && len(name) > 0 && !(name[0] >= '0' && name[0] <= '9'):
			b.WriteString("$" + name)
		default:
			b.WriteString(d[i:next])
		}
		i = next - 1
	}
	return b.String()
}
