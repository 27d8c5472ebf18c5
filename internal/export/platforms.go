package export

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redirc/redirc/internal/inspect"
	"github.com/redirc/redirc/shardfmt"
)

// ordered sorts rules into the precedence redirc gives them, for formats
// where the first matching line wins: exact rules (host-scoped first),
// then prefix rules host-scoped first, longest first.
func ordered(rules []*inspect.Rule) {
	rank := func(r *inspect.Rule) int {
		switch {
		case !r.Kind.IsPrefix() && r.Host != "":
			return 0
		case !r.Kind.IsPrefix():
			return 1
		case r.Host != "":
			return 2
		}
		return 3
	}
	slices.SortStableFunc(rules, func(a, b *inspect.Rule) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		if a.Kind.IsPrefix() {
			return -cmp.Compare(strings.Count(a.Path, "/"), strings.Count(b.Path, "/"))
		}
		return 0
	})
}

// ---- Netlify _redirects ----

type netlifyWriter struct{ rules []*inspect.Rule }

// netlifyPath escapes what Netlify would read as a pattern: a ':' that
// begins a segment (a placeholder) and a '*' other than a prefix rule's
// final "/*" (a splat). redirc decodes %3A and %2A to the same key.
func netlifyPath(r *inspect.Rule) string {
	src := r.Source
	tail := ""
	if r.Kind.IsPrefix() {
		src, tail = strings.TrimSuffix(src, "*"), "*"
	}
	src = strings.ReplaceAll(src, "*", "%2A")
	return strings.ReplaceAll(src, "/:", "/%3A") + tail
}

func (w *netlifyWriter) add(e *exporter, r *inspect.Rule) (int, string) {
	switch {
	case r.CaseSensitive:
		return 0, "case-sensitive rule (redirc reads _redirects rules case-insensitively)"
	case !statusOf(r).redirect():
		return 0, fmt.Sprintf("status %d (Netlify redirects with 301, 302, 303, 307, 308)", r.Record.Status)
	case e.strict && !r.Kind.IsPrefix() && r.Path != "/":
		return 0, "strict trailing slash (Netlify matches /a and /a/ alike)"
	case query(r) && r.Record.Status != 301 && r.Record.Status != 302:
		return 0, "query preservation with a status other than 301 or 302 (Netlify passes the query on by itself, only for 200, 301 and 302)"
	case hasSpace(r.Record.Dest) || hasControl(r.Record.Dest):
		return 0, "destination with white space"
	case !splat(r) && strings.Contains(r.Record.Dest, ":splat"):
		return 0, "literal :splat in the destination of an exact rule"
	}
	w.rules = append(w.rules, r)
	return 1, ""
}

func (w *netlifyWriter) finish(e *exporter) error {
	// Netlify documents no hard cap (it recommends under 10,000 rules).
	if err := e.limit("", 0, len(w.rules)); err != nil {
		return err
	}
	ordered(w.rules)
	return e.file("_redirects", func(b *bufio.Writer) error {
		b.WriteString("# Netlify _redirects written by redirc export; first match wins.\n")
		for _, r := range w.rules {
			b.WriteString(netlifyPath(r))
			b.WriteByte(' ')
			b.WriteString(r.Record.Dest)
			b.WriteByte(' ')
			b.WriteString(strconv.Itoa(int(r.Record.Status)))
			if r.Record.Flags&shardfmt.FlagUnforced == 0 {
				// redirc answers the rule even where a file exists:
				// on Netlify that is a forced rule.
				b.WriteByte('!')
			}
			b.WriteByte('\n')
		}
		return nil
	})
}

// ---- Vercel bulk redirects ----

// Vercel's documented bulk-redirect limits.
const (
	vercelMaxRedirects = 1_000_000
	vercelMaxURL       = 2048
	vercelMaxFiles     = 100
)

// vercelMaxFileBytes is the largest file written (the CLI's upload limit
// is 50 MB); a variable so that tests can split small exports.
var vercelMaxFileBytes = 50 << 20

type vercelWriter struct {
	rules []*inspect.Rule
}

type vercelRule struct {
	Source        string `json:"source"`
	Destination   string `json:"destination"`
	StatusCode    int    `json:"statusCode"`
	CaseSensitive bool   `json:"caseSensitive,omitempty"`
	Query         bool   `json:"query,omitempty"`
}

func (w *vercelWriter) add(e *exporter, r *inspect.Rule) (int, string) {
	switch {
	case r.Host != "":
		return 0, "host-scoped rule (Vercel bulk redirects match the path of one project)"
	case r.Kind.IsPrefix():
		return 0, "prefix rule (Vercel bulk redirects have no wildcards)"
	case !statusOf(r).redirect():
		return 0, fmt.Sprintf("status %d (Vercel redirects with 301, 302, 303, 307, 308)", r.Record.Status)
	case len(r.Source) > vercelMaxURL:
		return 0, fmt.Sprintf("source longer than Vercel's %d characters", vercelMaxURL)
	case len(r.Record.Dest) > vercelMaxURL:
		return 0, fmt.Sprintf("destination longer than Vercel's %d characters", vercelMaxURL)
	}
	w.rules = append(w.rules, r)
	return 1, ""
}

func vercelJSON(r *inspect.Rule) []byte {
	line, _ := json.Marshal(vercelRule{r.Source, r.Record.Dest, int(r.Record.Status), r.CaseSensitive, query(r)}) // strings and scalars always marshal
	return line
}

// split returns the index of the first rule of each file: a file holds as
// many rules as fit in vercelMaxFileBytes ("[\n", ",\n" between rules,
// "\n]\n").
func (w *vercelWriter) split() []int {
	starts := []int{0}
	size := 0
	for i, r := range w.rules {
		n := len(vercelJSON(r)) + 2
		if size > 0 && size+n+3 > vercelMaxFileBytes {
			starts = append(starts, i)
			size = 0
		}
		size += n
	}
	return starts
}

func (w *vercelWriter) finish(e *exporter) error {
	if err := e.limit("Vercel's bulk redirects per project", vercelMaxRedirects, len(w.rules)); err != nil {
		return err
	}
	starts := w.split()
	if len(starts) > vercelMaxFiles {
		return &LimitError{Format: e.f, Limit: "Vercel's files per bulkRedirectsPath folder (of at most 50 MB each)", Max: vercelMaxFiles, Got: len(starts)}
	}
	for i, start := range starts {
		end := len(w.rules)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		err := e.file(fmt.Sprintf("redirects-%03d.json", i+1), func(b *bufio.Writer) error {
			b.WriteString("[")
			for j, r := range w.rules[start:end] {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteByte('\n')
				b.Write(vercelJSON(r))
			}
			b.WriteString("\n]\n")
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ---- Cloudflare Bulk Redirects ----

// Cloudflare's documented Bulk Redirects limits.
const (
	cloudflareMaxItems   = 1_000_000 // Enterprise default; Free 10,000, Pro 25,000, Business 50,000
	cloudflareMaxURL     = 32 << 10
	cloudflareMaxSubpath = 16 // '/' in a subpath-matching source path
)

type cloudflareWriter struct {
	host string
	rows [][]string
	seen map[string]bool // exact sources written
}

func (w *cloudflareWriter) add(e *exporter, r *inspect.Rule) (int, string) {
	host := r.Host
	if host == "" {
		host = w.host
	}
	switch {
	case host == "":
		return 0, "rule for any host (Cloudflare source URLs name a host: give one with --host)"
	case r.CaseSensitive:
		return 0, "case-sensitive rule (Cloudflare Bulk Redirects have no case option)"
	case r.Record.Status != 301 && r.Record.Status != 302 && r.Record.Status != 307 && r.Record.Status != 308:
		return 0, fmt.Sprintf("status %d (Cloudflare Bulk Redirects use 301, 302, 307, 308)", r.Record.Status)
	case len(r.Record.Dest) > cloudflareMaxURL || len(host)+len(r.Path)+1 > cloudflareMaxURL:
		return 0, "URL longer than Cloudflare's 32 KB"
	case strings.HasPrefix(r.Path, "//"):
		return 0, "path beginning with //"
	}
	qs := strconv.FormatBool(query(r))
	st := strconv.Itoa(int(r.Record.Status))
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	if !r.Kind.IsPrefix() {
		for _, p := range e.paths(r) {
			w.rows = append(w.rows, []string{host + p, r.Record.Dest, st, qs, "false", "false", "false"})
			w.seen[host+p] = true
		}
		return len(e.paths(r)), ""
	}
	if strings.Count(r.Path, "/") > cloudflareMaxSubpath {
		return 0, fmt.Sprintf("prefix with more than %d '/' (Cloudflare's subpath matching limit)", cloudflareMaxSubpath)
	}
	target, suffix := r.Record.Dest, false
	if splat(r) {
		// Cloudflare appends the rest of the path to the target; redirc
		// puts it where ":splat" is. Only a final "/:splat" is the same.
		if strings.Count(target, ":splat") != 1 || !strings.HasSuffix(target, "/:splat") || query(r) && strings.Contains(target, "?") {
			return 0, "\":splat\" other than once at the end of the destination (Cloudflare can only append the rest of the path)"
		}
		target, suffix = strings.TrimSuffix(target, ":splat"), true
		target = strings.TrimSuffix(target, "/")
	}
	src := host + r.Path
	if r.Path == "" {
		src += "/"
	}
	n := 1
	if suffix && r.Path != "" && !w.seen[src] {
		// The prefix's own path has an empty splat: redirc answers
		// "…/", where Cloudflare would append nothing to the trimmed
		// target. An exact item (which wins over subpath items) says it.
		w.rows = append(w.rows, []string{src, target + "/", st, qs, "false", "false", "false"})
		w.seen[src] = true
		n++
	}
	w.rows = append(w.rows, []string{src, target, st, qs, "false", "true", strconv.FormatBool(suffix)})
	return n, ""
}

func (w *cloudflareWriter) finish(e *exporter) error {
	if err := e.limit("Cloudflare's URL redirects per account (Enterprise; Free 10,000, Pro 25,000, Business 50,000)", cloudflareMaxItems, len(w.rows)); err != nil {
		return err
	}
	return e.file("bulk-redirects.csv", func(b *bufio.Writer) error {
		cw := csv.NewWriter(b)
		return cw.WriteAll(w.rows)
	})
}
