package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"path"
	"strings"

	"github.com/redirc/redirc/internal/inspect"
)

// htmlWriter writes one stub page per exact rule, at PATH/index.html, for
// hosts that serve files and nothing else (GitHub Pages, a plain bucket).
type htmlWriter struct {
	files map[string]bool // file names taken
	dirs  map[string]bool // directories implied by them
	pages []htmlPage
}

type htmlPage struct {
	name, dest string
	query      bool
}

// htmlFileName returns the file a static host serves for the canonical
// path p: its percent-decoded segments, then "index.html". ok is false when
// the decoded path has no safe file name (an encoded '/', a control byte,
// a backslash, an empty, "." or ".." segment).
func htmlFileName(p string) (string, bool) {
	dec, ok := decodePath(p)
	if !ok || strings.ContainsAny(dec, "\\\x00") {
		return "", false
	}
	dec = strings.TrimSuffix(dec[1:], "/")
	if dec == "" {
		return "index.html", true
	}
	for _, seg := range strings.Split(dec, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", false
		}
	}
	return dec + "/index.html", true
}

func (w *htmlWriter) add(e *exporter, r *inspect.Rule) (int, string) {
	if w.files == nil {
		w.files, w.dirs = map[string]bool{}, map[string]bool{}
	}
	switch {
	case r.Host != "":
		return 0, "host-scoped rule (a stub page lives on one site)"
	case r.Kind.IsPrefix():
		return 0, "prefix rule (a stub page answers one path)"
	case !statusOf(r).redirect():
		return 0, fmt.Sprintf("status %d (a stub page can only send the browser on)", r.Record.Status)
	}
	if query(r) && strings.Contains(r.Record.Dest, "#") {
		return 0, "query preservation with a destination that has a fragment"
	}
	name, ok := htmlFileName(r.Path)
	if !ok {
		return 0, "path with no safe file name (an encoded '/', a control byte, a backslash, an empty or dot segment)"
	}
	if w.files[name] || w.dirs[name] {
		return 0, "path whose stub page " + name + " another rule's page already takes"
	}
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if w.files[d] {
			return 0, "path whose stub page needs directory " + d + ", a page of another rule"
		}
	}
	w.files[name] = true
	for d := path.Dir(name); d != "." && !w.dirs[d]; d = path.Dir(d) {
		w.dirs[d] = true
	}
	w.pages = append(w.pages, htmlPage{name, r.Record.Dest, query(r)})
	return 1, ""
}

func (w *htmlWriter) finish(e *exporter) error {
	if err := e.limit("", 0, len(w.pages)); err != nil {
		return err
	}
	for _, p := range w.pages {
		if err := e.write(p.name, StubPage(p.dest, p.query)); err != nil {
			return err
		}
	}
	return nil
}

// StubPage returns an HTML page that sends the browser to dest: at once by
// script (location.replace, which keeps the stub out of the history, with
// the request's query string appended when keepQuery (after '&' when
// dest has a query; dest must then have no fragment), and its fragment
// when dest has none), by a zero-second meta refresh where scripts do not
// run, and by a link where neither does. It names dest as the canonical
// URL and asks robots not to index the stub. dest is escaped for every
// context it appears in: HTML attributes and text (html.EscapeString) and a
// script string (JSON with <, > and & escaped, so that no "</script>" can
// end the script early).
func StubPage(dest string, keepQuery bool) []byte {
	attr := html.EscapeString(dest)
	js, _ := json.Marshal(dest) // a string always marshals; HTML-safe escaping is on by default
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<title>Redirecting…</title>\n")
	fmt.Fprintf(&b, "<link rel=\"canonical\" href=\"%s\">\n", attr)
	b.WriteString("<meta name=\"robots\" content=\"noindex\">\n")
	b.WriteString("<script>location.replace(")
	b.Write(js)
	if keepQuery && strings.Contains(dest, "?") {
		b.WriteString("+(location.search&&\"&\"+location.search.slice(1))")
	} else if keepQuery {
		b.WriteString("+location.search")
	}
	if !strings.Contains(dest, "#") {
		b.WriteString("+location.hash")
	}
	b.WriteString(")</script>\n")
	fmt.Fprintf(&b, "<meta http-equiv=\"refresh\" content=\"0; url=%s\">\n", attr)
	fmt.Fprintf(&b, "</head><body>\n<p>This page has moved to <a href=\"%s\">%s</a>.</p>\n</body></html>\n", attr, attr)
	return b.Bytes()
}
