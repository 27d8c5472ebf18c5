package compiler

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// readCloudflare reads Cloudflare's bulk-redirect CSV: no header row, and
// per line the source URL, target URL, status (default 301), preserve
// query string, include subdomains, subpath matching and preserve path
// suffix (booleans, TRUE/FALSE in any case or empty). Trailing fields may
// be left out. Sources are "host/path" with an optional http(s) scheme,
// as Cloudflare requires; they match case-sensitively, as Cloudflare's
// list lookup does. Subpath matching makes a prefix rule ("/*"); preserve
// path suffix (Cloudflare's default: true) then appends the rest of the
// path. Include subdomains, a port, a query string or a fragment in the
// source are unsupported.
func (m *manifestReader) readCloudflare(br *bufio.Reader) error {
	lines := &csvLines{lr: lineReader{br: br, max: m.opt.MaxLineBytes}}
	cr := csv.NewReader(lines)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	def := m.defaultStatus(301)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			m.csvFlushLong(lines, 1<<62)
			return lines.lr.err
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return err
			}
			m.csvFlushLong(lines, pe.StartLine)
			if lines.longIn(pe.StartLine, pe.Line) {
				continue
			}
			m.errorf(pe.StartLine, "invalid CSV: %v", pe.Err)
			continue
		}
		line, _ := cr.FieldPos(0)
		m.csvFlushLong(lines, line)
		last, _ := cr.FieldPos(len(rec) - 1)
		if lines.longIn(line, last+strings.Count(rec[len(rec)-1], "\n")) {
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		m.cloudflareRule(line, rec, def)
	}
}

var cloudflareColumns = [...]string{"source URL", "target URL", "status", "preserve query string", "include subdomains", "subpath matching", "preserve path suffix"}

func (m *manifestReader) cloudflareRule(line int, rec []string, def int) {
	if len(rec) < 2 {
		m.errorf(line, "want at least a source URL and a target URL (Cloudflare's CSV has no header row)")
		return
	}
	if len(rec) > len(cloudflareColumns) {
		m.errorf(line, "%d fields: Cloudflare's CSV has at most %d (%s)", len(rec), len(cloudflareColumns), strings.Join(cloudflareColumns[:], ", "))
		return
	}
	f := make([]string, len(cloudflareColumns))
	for i, v := range rec {
		f[i] = strings.TrimSpace(v)
	}
	src, dst := f[0], f[1]
	status := def
	if f[2] != "" {
		c, ok := parseStatusCode(f[2])
		if !ok || !redirectStatus(c) || c == 410 {
			m.errorf(line, "invalid status %q: want 301, 302, 303, 307 or 308", f[2])
			return
		}
		status = c
	}
	var flags [4]bool
	defaults := [4]bool{false, false, false, true}
	for i := range flags {
		v := f[3+i]
		if v == "" {
			flags[i] = defaults[i]
			continue
		}
		b, ok := parseBool(v)
		if !ok {
			m.errorf(line, "invalid %s %q: want TRUE, FALSE or empty", cloudflareColumns[3+i], v)
			return
		}
		flags[i] = b
	}
	query, subdomains, subpath, suffix := flags[0], flags[1], flags[2], flags[3]
	if src == "" {
		m.errorf(line, "missing source URL")
		return
	}
	if dst == "" {
		m.errorf(line, "missing target URL")
		return
	}
	// The source: [scheme://]host/path, nothing else.
	rest := src
	if i := strings.Index(rest, "://"); i >= 0 {
		scheme := strings.ToLower(rest[:i])
		if scheme != "http" && scheme != "https" {
			m.errorf(line, "source URL %q: scheme must be http or https", src)
			return
		}
		rest = rest[i+3:]
	}
	host, path := rest, "/"
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	switch {
	case host == "":
		m.errorf(line, "source URL %q has no host (Cloudflare sources are host/path)", src)
		return
	case strings.ContainsAny(host, "@:"):
		m.unsupported(line, fmt.Sprintf("source URL %q with a port or user info", src))
		return
	case strings.ContainsAny(path, "?#"):
		m.unsupported(line, fmt.Sprintf("source URL %q with a query string or fragment (Cloudflare does not match them either)", src))
		return
	case subdomains:
		m.unsupported(line, "include subdomains (redirc matches one host per rule)")
		return
	}
	if strings.Contains(path, "*") {
		m.errorf(line, "source URL %q: Cloudflare has no wildcards (use subpath matching)", src)
		return
	}
	if !strings.HasPrefix(dst, "/") && !hasHTTPScheme([]byte(dst)) {
		m.errorf(line, "target URL %q is neither a path starting with / nor an http(s) URL", dst)
		return
	}
	r := Rule{Source: strings.ToLower(host) + path, Destination: dst, Status: status, Query: query, CaseSensitive: true, Pos: m.pos(line)}
	if subpath {
		// A subpath rule matches the path itself and everything under it.
		exact := r
		r.Source = strings.ToLower(host) + strings.TrimSuffix(path, "/") + "/*"
		if suffix {
			d := dst
			if i := strings.IndexAny(d, "?#"); i >= 0 {
				m.unsupported(line, fmt.Sprintf("preserve path suffix with a target %q that has a query string or fragment", dst))
				return // neither rule (add may hand rules on at once)
			}
			if strings.HasSuffix(d, "/") {
				r.Destination = d + ":splat"
			} else {
				r.Destination = d + "/:splat"
			}
		}
		m.add(exact)
	}
	m.add(r)
}
