// Package export writes the rules of a build in the native redirect format
// of a hosting platform or web server: Netlify _redirects, Vercel bulk
// redirects (JSON), Cloudflare Bulk Redirects (CSV), an nginx map, an
// Apache RewriteMap, or static HTML stub pages for hosts with no redirect
// support at all.
//
// The rules come from internal/inspect (a build turned back into rules);
// what a format cannot express is reported per rule (Unsupported) and is an
// error unless Options.SkipUnsupported; a platform limit that the whole
// export exceeds is a *LimitError naming the limit.
package export

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redirc/redirc/internal/inspect"
	"github.com/redirc/redirc/shardfmt"
)

// Format names an export target.
type Format string

// The export formats.
const (
	Netlify    Format = "netlify"
	Vercel     Format = "vercel"
	Cloudflare Format = "cloudflare"
	Nginx      Format = "nginx"
	Apache     Format = "apache"
	HTML       Format = "html"
)

// Formats lists every Format, in the order help texts name them.
var Formats = []Format{Netlify, Vercel, Cloudflare, Nginx, Apache, HTML}

// Options control an export.
type Options struct {
	// SkipUnsupported leaves out the rules the format cannot express and
	// returns them as warnings, instead of failing.
	SkipUnsupported bool
	// Host is the host Cloudflare source URLs get for rules that apply to
	// any host (Cloudflare sources always name a host). Empty: such rules
	// are unsupported.
	Host string
	// MaxRules, when not zero, replaces the format's limit on the number
	// of entries (a plan's smaller quota, say).
	MaxRules int
	// Location is where the files will be installed, for formats whose
	// files name each other (Apache's RewriteMap path, nginx's include
	// hints). Empty: "OUT".
	Location string
	// Now is the time against which expiry is judged (zero: time.Now()):
	// a rule that has expired answers 410 Gone and is exported as such.
	Now time.Time
}

// Unsupported is one rule a format cannot express, and why.
type Unsupported struct {
	Rule   inspect.Rule
	Reason string
}

func (u Unsupported) String() string {
	s := u.Rule.Source
	if u.Rule.CaseSensitive {
		s += " (case-sensitive)"
	}
	return s + ": " + u.Reason
}

// UnsupportedError is returned when rules cannot be expressed and
// Options.SkipUnsupported is false. Rules lists every one.
type UnsupportedError struct {
	Format Format
	Rules  []Unsupported
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("export: %d rule(s) cannot be expressed in %s format; first: %s", len(e.Rules), e.Format, e.Rules[0])
}

// LimitError is returned when an export exceeds a documented limit of the
// platform that cannot be met by splitting the output.
type LimitError struct {
	Format Format
	// Limit names the limit, as the platform's documentation does.
	Limit string
	Max   int
	Got   int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("export: %s: %s is %d, the export needs %d", e.Format, e.Limit, e.Max, e.Got)
}

// ErrUnknownFormat is returned for a Format not in Formats.
var ErrUnknownFormat = errors.New("export: unknown format")

// Output receives the files of an export, written one at a time. Names are
// slash-separated and relative; Create is called once per name, and the
// file is closed before the next is created.
type Output interface {
	Create(name string) (io.WriteCloser, error)
}

// Dir is an Output writing under a directory, creating parent directories.
type Dir string

// Create creates (or truncates) name under d.
func (d Dir) Create(name string) (io.WriteCloser, error) {
	p := filepath.Join(string(d), filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	f, err := os.Create(p)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return f, nil
}

// MapOutput is an Output that keeps the files in memory.
type MapOutput map[string][]byte

// Create returns a writer whose bytes are stored under name when closed.
func (m MapOutput) Create(name string) (io.WriteCloser, error) {
	if _, dup := m[name]; dup {
		return nil, fmt.Errorf("export: %s written twice", name)
	}
	m[name] = nil
	return &mapFile{m: m, name: name}, nil
}

type mapFile struct {
	bytes.Buffer
	m    MapOutput
	name string
}

func (f *mapFile) Close() error {
	f.m[f.name] = f.Bytes()
	return nil
}

// Result describes an export.
type Result struct {
	// Files lists the names written, in order.
	Files []string
	// Rules is the number of rules exported; Entries the number of entries
	// written (more than Rules where one rule needs two, as "/a" and "/a/").
	Rules, Entries int
	// Skipped lists the rules left out (only with SkipUnsupported).
	Skipped []Unsupported
	// SkippedPatterns counts the build's pattern rules left out (only
	// with SkipUnsupported): no exporter writes them yet.
	SkippedPatterns int
}

// Export writes the rules of b in format f to out.
// A build with pattern rules (placeholders, regular expressions) is
// refused with an *inspect.PatternsError, as no exporter writes them yet;
// with SkipUnsupported they are left out and counted in
// Result.SkippedPatterns.
func Export(f Format, b *shardfmt.Build, out Output, opt Options) (*Result, error) {
	skipped := 0
	if p := b.Index.Patterns; p != nil {
		if !opt.SkipUnsupported {
			return nil, &inspect.PatternsError{Rules: p.Rules}
		}
		skipped = p.Rules
	}
	rules, err := inspect.Rules(b)
	if err != nil {
		return nil, err
	}
	res, err := ExportRules(f, rules, b.Index.StrictTrailingSlash, out, opt)
	if res != nil {
		res.SkippedPatterns = skipped
	}
	return res, err
}

// ExportRules writes rules (as inspect.Rules returns them, from a build
// compiled with strictTrailingSlash) in format f to out.
func ExportRules(f Format, rules []inspect.Rule, strictTrailingSlash bool, out Output, opt Options) (*Result, error) {
	var w writer
	switch f {
	case Netlify:
		w = &netlifyWriter{}
	case Vercel:
		w = &vercelWriter{}
	case Cloudflare:
		w = &cloudflareWriter{host: opt.Host}
	case Nginx:
		w = &nginxWriter{}
	case Apache:
		w = &apacheWriter{}
	case HTML:
		w = &htmlWriter{}
	default:
		return nil, fmt.Errorf("%w %q (want %s)", ErrUnknownFormat, f, formatList())
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.Location == "" {
		opt.Location = "OUT"
	}
	e := &exporter{f: f, strict: strictTrailingSlash, opt: opt, out: out}
	res := &Result{}
	var bad []Unsupported
	for i := range rules {
		r := &rules[i]
		if exp := r.Record.Expires; exp != 0 && opt.Now.Unix() >= int64(exp) {
			// What the build answers now, and for ever after.
			c := *r
			c.Record.Status, c.Record.Dest, c.Record.Flags, c.Record.Expires = 410, "", 0, 0
			r = &c
		}
		if why := e.common(r); why != "" {
			bad = append(bad, Unsupported{*r, why})
			continue
		}
		n, why := w.add(e, r)
		if why != "" {
			bad = append(bad, Unsupported{*r, why})
			continue
		}
		res.Rules++
		res.Entries += n
	}
	if len(bad) > 0 && !opt.SkipUnsupported {
		return nil, &UnsupportedError{Format: f, Rules: bad}
	}
	res.Skipped = bad
	if err := w.finish(e); err != nil {
		return nil, err
	}
	res.Files = e.files
	return res, nil
}

func formatList() string {
	s := make([]string, len(Formats))
	for i, f := range Formats {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

// writer is one format's encoder: add takes a rule (returning how many
// entries it wrote, or why it cannot), finish writes the files.
type writer interface {
	add(e *exporter, r *inspect.Rule) (entries int, unsupported string)
	finish(e *exporter) error
}

type exporter struct {
	f      Format
	strict bool
	opt    Options
	out    Output
	files  []string
}

// file creates name, lets fill write it through a buffer, and closes it.
func (e *exporter) file(name string, fill func(w *bufio.Writer) error) error {
	f, err := e.out.Create(name)
	if err != nil {
		return err
	}
	e.files = append(e.files, name)
	bw := bufio.NewWriterSize(f, 64<<10)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export: writing %s: %w", name, err)
	}
	return nil
}

// write writes a small file.
func (e *exporter) write(name string, data []byte) error {
	return e.file(name, func(w *bufio.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// limit checks a count against the format's limit (or Options.MaxRules).
func (e *exporter) limit(name string, max, got int) error {
	if e.opt.MaxRules > 0 {
		max, name = e.opt.MaxRules, "the entry limit given (--max-rules)"
	}
	if max > 0 && got > max {
		return &LimitError{Format: e.f, Limit: name, Max: max, Got: got}
	}
	return nil
}

// common reports what no format here can express: a future expiry.
func (e *exporter) common(r *inspect.Rule) string {
	if r.Record.Expires != 0 {
		return "expiry (no platform format has one; once expired, the rule exports as 410 Gone)"
	}
	return ""
}

// both reports whether an exact rule must be written for both "/a" and
// "/a/": the build matches them as one (not strict) and the platform does
// not.
func (e *exporter) both(r *inspect.Rule) bool {
	return !e.strict && !r.Kind.IsPrefix() && len(r.Path) > 1
}

// paths returns the exact paths to write for a rule: its path, and the
// path with a trailing '/' when both.
func (e *exporter) paths(r *inspect.Rule) []string {
	if e.both(r) {
		return []string{r.Path, r.Path + "/"}
	}
	return []string{r.Path}
}

func (r2 status) redirect() bool {
	return r2 == 301 || r2 == 302 || r2 == 303 || r2 == 307 || r2 == 308
}

type status int

func splat(r *inspect.Rule) bool { return r.Record.Flags&shardfmt.FlagSplat != 0 }
func query(r *inspect.Rule) bool { return r.Record.Flags&shardfmt.FlagQuery != 0 }
func hasSpace(s string) bool     { return strings.ContainsAny(s, " \t\r\n\v\f") }
func hasControl(s string) bool {
	return strings.IndexFunc(s, func(c rune) bool { return c < 0x20 || c == 0x7f }) >= 0
}
func statusOf(r *inspect.Rule) status { return status(r.Record.Status) }
