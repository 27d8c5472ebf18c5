package export

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/redirc/redirc/internal/inspect"
)

// apacheWriter writes a RewriteMap text file keyed by the lower-cased
// URL-path, whose values are "STATUS:Q:LOCATION" (Q is "q" to keep the
// query string, "-" to drop it), and the mod_rewrite rules that answer
// them: one RewriteCond/RewriteRule pair per status and query mode used.
type apacheWriter struct {
	lines []string
	modes map[string]bool // "301:q" and so on
}

func (w *apacheWriter) add(e *exporter, r *inspect.Rule) (int, string) {
	if w.modes == nil {
		w.modes = map[string]bool{}
	}
	dest := r.Record.Dest
	switch {
	case r.Host != "":
		return 0, "host-scoped rule (export the host's rules for its <VirtualHost> separately)"
	case r.Kind.IsPrefix():
		return 0, "prefix rule (the Apache export holds exact rules only)"
	case r.CaseSensitive:
		return 0, "case-sensitive rule (the Apache export looks keys up lower-cased)"
	case r.Record.Status != 410 && !statusOf(r).redirect():
		return 0, fmt.Sprintf("status %d", r.Record.Status)
	case hasSpace(dest) || hasControl(dest):
		return 0, "destination with white space (RewriteMap values are one word)"
	}
	path, ok := decodePath(r.Path)
	if !ok || hasSpace(path) || strings.Contains(path, "#") {
		return 0, "path with an encoded '/', white space, '#', \"//\" or a dot segment"
	}
	q := "-"
	if query(r) {
		q = "q"
	}
	mode := fmt.Sprintf("%d:%s", r.Record.Status, q)
	if r.Record.Status == 410 {
		mode, dest = "410:-", ""
	}
	w.modes[mode] = true
	ps := e.paths(&inspect.Rule{Kind: r.Kind, Path: path})
	for _, p := range ps {
		w.lines = append(w.lines, p+" "+mode+":"+dest)
	}
	return len(ps), ""
}

const apacheHeader = `# Apache redirects written by redirc export. In the server config or a
# <VirtualHost> (RewriteMap is not allowed in .htaccess), with mod_rewrite:
#
#     Include %s/redirc.conf
#
# and fix the RewriteMap path below if the files move. httpd re-reads the map when
# its modification time changes. Keys are URL-paths, lower-cased. Needs
# Apache 2.4.56 or later for the UnsafeAllow3F flag: a destination's '?' comes
# from the map, never from the request.
RewriteEngine On
RewriteMap redirc "txt:%s"
RewriteMap redirc_lc int:tolower
`

func (w *apacheWriter) finish(e *exporter) error {
	if err := e.limit("", 0, len(w.lines)); err != nil {
		return err
	}
	err := e.file("redirc.map", func(b *bufio.Writer) error {
		b.WriteString("# redirc export: URL-path STATUS:QUERY:LOCATION\n")
		for _, l := range w.lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		return nil
	})
	if err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, apacheHeader, e.opt.Location, path.Join(e.opt.Location, "redirc.map"))
	modes := make([]string, 0, len(w.modes))
	for m := range w.modes {
		modes = append(modes, m)
	}
	slices.Sort(modes)
	for _, m := range modes {
		fmt.Fprintf(&b, "RewriteCond ${redirc:${redirc_lc:$1}|-} ^%s:(.*)$\n", strings.ReplaceAll(m, "-", "\\-"))
		switch {
		case m == "410:-":
			b.WriteString("RewriteRule ^(.*)$ - [G]\n")
		case strings.HasSuffix(m, ":q"):
			fmt.Fprintf(&b, "RewriteRule ^(.*)$ %%1 [R=%s,NE,QSA,L,UnsafeAllow3F]\n", m[:3])
		default:
			fmt.Fprintf(&b, "RewriteRule ^(.*)$ %%1 [R=%s,NE,QSD,L,UnsafeAllow3F]\n", m[:3])
		}
	}
	return e.write("redirc.conf", b.Bytes())
}
