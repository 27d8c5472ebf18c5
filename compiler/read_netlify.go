package compiler

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// readNetlify reads a Netlify _redirects file. Each line is
//
//	from [key=value ...] to [status[!]] [Key=v1,v2 ...]
//
// with tokens separated by runs of spaces and tabs. Blank lines and lines
// starting with "#" are skipped, and a token starting with "#" ends the
// line ("#" inside the destination token is a fragment). The destination is
// the first token after from that starts with "/" or http(s)://. redirc
// honours exact rules, "/*" splats with ":splat", ":name" placeholders and
// "*" anywhere (SyntaxNetlify), "key=value" query matchers (":name"
// values capture), and statuses 301, 302, 303, 307, 308 and 410. Rules
// apply in file order (first match). As on Netlify, a 301 or 302 passes
// the request's query string on unless its destination has a query of its
// own (or the rule has query matchers), and a rule without "!" (force)
// yields to a file at the request path (Rule.Unforced, which matters to a
// server with a static fallback directory). Conditions and the 200
// (rewrite, proxy) and 404 statuses are reported as unsupported.
// As an extension, a 410 rule may omit the destination ("/old 410").
func (m *manifestReader) readNetlify(br *bufio.Reader) error {
	lr := &lineReader{br: br, max: m.opt.MaxLineBytes}
	var toks [][]byte // reused across lines
	def := m.defaultStatus(301)
	for {
		line, ok := lr.next()
		if !ok {
			return lr.err
		}
		if lr.tooLong {
			m.tooLong(lr.n)
			continue
		}
		toks = netlifyTokens(toks[:0], line)
		if len(toks) == 0 {
			continue
		}
		m.netlifyRule(lr.n, line, toks, def)
	}
}

// netlifyTokens appends the whitespace-separated tokens of line to toks,
// stopping at a token that starts with "#" (a comment).
func netlifyTokens(toks [][]byte, line []byte) [][]byte {
	i := 0
	for i < len(line) {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i == len(line) || line[i] == '#' {
			break
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		toks = append(toks, line[i:j])
		i = j
	}
	return toks
}

// netlifyIsDest reports whether a token is a destination: a path or an
// http(s) URL.
func netlifyIsDest(tok []byte) bool {
	return len(tok) > 0 && tok[0] == '/' || hasHTTPScheme(tok)
}

// hasHTTPScheme reports whether s starts with http:// or https://, in any case.
func hasHTTPScheme(s []byte) bool {
	return len(s) >= 7 && bytes.EqualFold(s[:7], []byte("http://")) ||
		len(s) >= 8 && bytes.EqualFold(s[:8], []byte("https://"))
}

// netlifyStatus parses "301" or "301!"; ok is false when tok is not of
// that shape.
func netlifyStatus(tok []byte) (code int, ok bool) {
	tok = bytes.TrimSuffix(tok, []byte("!"))
	return parseStatusCode(tok)
}

// netlifyRule reads one non-empty line already split into tokens.
func (m *manifestReader) netlifyRule(n int, line []byte, toks [][]byte, def int) {
	from := toks[0]
	path, err := netlifySourcePath(from)
	if err != "" {
		m.errorf(n, "%s", err)
		return
	}
	if bytes.Equal(path, []byte("/.netlify")) || bytes.HasPrefix(path, []byte("/.netlify/")) {
		m.errorf(n, "source %q is under /.netlify/, which Netlify reserves", from)
		return
	}

	// Find the destination: the first path or URL after from.
	di := -1
	for i := 1; i < len(toks); i++ {
		if netlifyIsDest(toks[i]) {
			di = i
			break
		}
	}
	var matchers, rest [][]byte
	var to []byte
	if di >= 0 {
		matchers, to, rest = toks[1:di], toks[di], toks[di+1:]
	} else {
		// No destination: only "from [matchers] 410" (an extension) or a
		// Netlify forward rule "from/* 200" can do without one.
		si := -1
		for i := 1; i < len(toks); i++ {
			if _, ok := netlifyStatus(toks[i]); ok {
				si = i
				break
			}
		}
		if si < 0 {
			for _, t := range toks[1:] {
				if bytes.IndexByte(t, '=') < 0 {
					m.errorf(n, "destination %q is neither a path starting with / nor an http(s) URL", t)
					return
				}
			}
			m.errorf(n, "missing destination after %q", from)
			return
		}
		code, _ := netlifyStatus(toks[si])
		switch {
		case code == 410:
		case code == 200 && bytes.HasSuffix(from, []byte("/*")):
			m.unsupported(n, fmt.Sprintf("status 200 forward rule %q is a rewrite; redirc only redirects", from))
			return
		default:
			m.errorf(n, "missing destination before status %q", toks[si])
			return
		}
		matchers, rest = toks[1:si], toks[si:]
	}

	// After the destination: an optional status, then conditions.
	status := def
	statusTok := []byte(nil)
	if len(rest) > 0 && bytes.IndexByte(rest[0], '=') < 0 {
		statusTok, rest = rest[0], rest[1:]
		code, ok := netlifyStatus(statusTok)
		if !ok {
			m.errorf(n, "invalid status %q: want a number such as 301, optionally followed by !", statusTok)
			return
		}
		status = code
	}
	for _, t := range rest {
		if bytes.IndexByte(t, '=') < 0 {
			m.errorf(n, "unexpected %q after the status: conditions are written Key=value", t)
			return
		}
	}

	// Everything is syntactically fine; now what redirc cannot honour.
	var why []string
	var query []QueryParam
	for _, t := range matchers {
		k, v, ok := bytes.Cut(t, []byte("="))
		if !ok || len(k) == 0 {
			why = append(why, fmt.Sprintf("query matcher %q", t))
			continue
		}
		query = append(query, QueryParam{Key: string(k), Value: string(v)})
	}
	for _, t := range rest {
		why = append(why, fmt.Sprintf("condition %q", t))
	}
	switch {
	case redirectStatus(status):
	case status == 200 && hasHTTPScheme(to):
		why = append(why, "status 200 with an absolute URL is a proxy; redirc only redirects")
	case status == 200:
		why = append(why, "status 200 is a rewrite; redirc only redirects")
	case status == 404:
		why = append(why, "status 404 serves a custom not-found page; redirc only redirects")
	case status < 100 || status > 599:
		m.errorf(n, "invalid status %q", statusTok)
		return
	default:
		why = append(why, fmt.Sprintf("status %d is not a redirect status (redirc serves %s)", status, redirectStatusList))
	}
	if len(why) > 0 {
		m.unsupported(n, strings.Join(why, "; "))
		return
	}

	var r Rule
	if to == nil {
		r.Source = string(from)
	} else if len(matchers) == 0 {
		// from and to lie in line with only blanks between: one allocation.
		start := cap(line) - cap(from)
		end := cap(line) - cap(to) + len(to)
		s := string(line[start:end])
		r.Source, r.Destination = s[:len(from)], s[len(s)-len(to):]
	} else {
		r.Source, r.Destination = string(from), string(to)
	}
	r.Status = status
	// Netlify passes the query string on to 301 and 302 destinations
	// (research-platforms.md §4.4), not where the rule writes its own,
	// nor where query matchers pick the parameters that go on.
	r.Query = (status == 301 || status == 302) && bytes.IndexByte(to, '?') < 0 && len(query) == 0
	r.Unforced = !bytes.HasSuffix(statusTok, []byte("!"))
	r.Pos = Pos{File: m.name, Line: n}
	r.QueryMatch = query
	if netlifyIsPattern(path) {
		r.Syntax = SyntaxNetlify
	}
	m.add(r)
}

// netlifySourcePath checks the shape of a Netlify "from" token, a path or
// an http(s) URL with a host, and returns its path.
func netlifySourcePath(from []byte) (path []byte, err string) {
	if len(from) > 0 && from[0] == '/' {
		return from, ""
	}
	if !hasHTTPScheme(from) {
		return nil, fmt.Sprintf("source %q is neither a path starting with / nor an http(s) URL", from)
	}
	rest := from[bytes.Index(from, []byte("://"))+3:]
	host := rest
	if i := bytes.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	if len(host) == 0 {
		return nil, fmt.Sprintf("source URL %q has no host", from)
	}
	if len(path) == 0 {
		path = []byte("/")
	}
	return path, ""
}

// netlifyIsPattern reports whether a source path needs Netlify's pattern
// syntax: a ":name" segment, or a "*" other than a final "/*" (which is a
// plain prefix rule).
func netlifyIsPattern(path []byte) bool {
	for i := 0; i < len(path); i++ {
		switch path[i] {
		case ':':
			if i > 0 && path[i-1] == '/' && i+1 < len(path) && isNameByte(path[i+1]) {
				return true
			}
		case '*':
			if i != len(path)-1 || i == 0 || path[i-1] != '/' {
				return true
			}
		}
	}
	return false
}

func isNameByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
