package export

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/redirc/redirc/internal/inspect"
)

// decodePath percent-decodes a canonical path into the bytes nginx's $uri
// and Apache's URL-path hold. ok is false when the result would not be the
// same path: an encoded '/', a control byte, or "//" and dot segments,
// which both servers merge or resolve before matching.
func decodePath(p string) (string, bool) {
	if strings.Contains(p, "%2F") || strings.Contains(p, "//") {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' && i+2 < len(p) {
			c = unhex(p[i+1])<<4 | unhex(p[i+2])
			i += 2
		}
		if c < 0x20 || c == 0x7f {
			return "", false
		}
		b.WriteByte(c)
	}
	s := b.String()
	for _, seg := range strings.Split(s, "/") {
		if seg == "." || seg == ".." {
			return "", false
		}
	}
	return s, true
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

// nginxQuote writes s as an nginx double-quoted string: nginx unescapes
// \" and \\ (and \t \r \n) inside quotes and keeps any other backslash.
func nginxQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ---- nginx ----

// nginx answers with four chained maps, tried in redirc's order: exact
// host-scoped ($host$uri), exact any-host ($uri), prefix host-scoped and
// prefix any-host (regular expressions, longest first). Each map's value
// is "STATUS LOCATION"; the server block returns it.
type nginxWriter struct {
	maps     [4][]string // entries of each map
	statuses map[int]bool
}

func (w *nginxWriter) add(e *exporter, r *inspect.Rule) (int, string) {
	if w.statuses == nil {
		w.statuses = map[int]bool{}
	}
	dest := r.Record.Dest
	switch {
	case r.CaseSensitive:
		return 0, "case-sensitive rule (nginx map strings match ignoring case)"
	case r.Record.Status != 410 && !statusOf(r).redirect():
		return 0, fmt.Sprintf("status %d", r.Record.Status)
	case strings.ContainsAny(dest, "$") || hasControl(dest) || hasSpace(dest):
		return 0, "destination with '$' or white space (nginx would read a variable)"
	case query(r) && strings.ContainsAny(dest, "?#"):
		return 0, "query preservation with a destination that has a query or fragment"
	}
	path, ok := decodePath(r.Path)
	if !ok {
		return 0, "path with an encoded '/', a control byte, \"//\" or a dot segment (nginx normalizes $uri)"
	}
	val := "410"
	if r.Record.Status != 410 {
		val = fmt.Sprintf("%d %s", r.Record.Status, dest)
		if splat(r) {
			val = strings.ReplaceAll(val, ":splat", "$1")
		}
		if query(r) {
			val += "$is_args$args"
		}
	}
	w.statuses[int(r.Record.Status)] = true
	m := 1
	if r.Host != "" {
		m = 0
	}
	if !r.Kind.IsPrefix() {
		for _, p := range e.paths(&inspect.Rule{Kind: r.Kind, Path: path}) {
			w.maps[m] = append(w.maps[m], nginxQuote(r.Host+p)+" "+nginxQuote(val)+";")
		}
		return len(e.paths(r)), ""
	}
	re := "~*^" + regexp.QuoteMeta(r.Host+path) + "(?:/+(.*))?$"
	w.maps[m+2] = append(w.maps[m+2], fmt.Sprintf("%d %s %s;", strings.Count(path, "/"), nginxQuote(re), nginxQuote(val)))
	return 1, ""
}

const nginxHeader = `# nginx redirects written by redirc export.
#
# In the http {} block:   include %[1]s/redirc-maps.conf;
# In a server {} block:   include %[1]s/redirc-server.conf;
# Large maps may need map_hash_max_size and map_hash_bucket_size raised
# (nginx says so at start); matching uses $uri, so the query string is not
# matched, and map strings match ignoring case.
`

func (w *nginxWriter) finish(e *exporter) error {
	n := 0
	for _, m := range w.maps {
		n += len(m)
	}
	if err := e.limit("", 0, n); err != nil {
		return err
	}
	keys := [4]string{"$host$uri", "$uri", "$host$uri", "$uri"}
	name := func(i int) string { return fmt.Sprintf("$redirc_%d", i) }
	// The chain starts at the first non-empty map; each falls back to the next.
	var used []int
	for i := range w.maps {
		if len(w.maps[i]) > 0 {
			used = append(used, i)
		}
	}
	err := e.file("redirc-maps.conf", func(b *bufio.Writer) error {
		fmt.Fprintf(b, nginxHeader, e.opt.Location)
		for j, i := range used {
			entries := w.maps[i]
			if i >= 2 {
				// Longest prefix first: regexes are tried in file order.
				slices.SortStableFunc(entries, func(a, b string) int {
					var na, nb int
					fmt.Sscan(a, &na)
					fmt.Sscan(b, &nb)
					return nb - na
				})
				for k, s := range entries {
					entries[k] = s[strings.IndexByte(s, ' ')+1:]
				}
			}
			fmt.Fprintf(b, "map %s %s {\n", keys[i], name(i))
			if j+1 < len(used) {
				fmt.Fprintf(b, "    default %s;\n", name(used[j+1]))
			} else {
				b.WriteString("    default \"\";\n")
			}
			for _, s := range entries {
				b.WriteString("    ")
				b.WriteString(s)
				b.WriteByte('\n')
			}
			b.WriteString("}\n")
		}
		return nil
	})
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("# Answers the redirects of redirc-maps.conf; include in a server {} block.\n")
	if len(used) > 0 {
		v := name(used[0])
		sts := make([]int, 0, len(w.statuses))
		for s := range w.statuses {
			sts = append(sts, s)
		}
		slices.Sort(sts)
		for _, s := range sts {
			if s == 410 {
				fmt.Fprintf(&b, "if (%s = \"410\") {\n    return 410;\n}\n", v)
				continue
			}
			fmt.Fprintf(&b, "if (%s ~ \"^%d (.*)$\") {\n    return %d $1;\n}\n", v, s, s)
		}
	}
	return e.write("redirc-server.conf", b.Bytes())
}
