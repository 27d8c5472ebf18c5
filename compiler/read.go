package compiler

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Format names a manifest format.
type Format string

// The manifest formats Read understands.
const (
	// FormatAuto picks the format from the file name (see DetectFormat).
	FormatAuto Format = ""
	// FormatCSV is CSV with a header row naming the fields.
	FormatCSV Format = "csv"
	// FormatJSON is a JSON array of rule objects, or a vercel.json object
	// whose "redirects" array holds them.
	FormatJSON Format = "json"
	// FormatJSONL is one JSON rule object per line.
	FormatJSONL Format = "jsonl"
	// FormatNetlify is a Netlify _redirects file.
	FormatNetlify Format = "netlify"
	// FormatTSV is FROM<TAB>TO[<TAB>STATUS] lines, as in MDN's _redirects.txt.
	FormatTSV Format = "tsv"
	// FormatNginx is an nginx configuration: server blocks, location
	// blocks with return and rewrite, map blocks and their include files,
	// or a file of bare map entries (see readNginx).
	FormatNginx Format = "nginx"
	// FormatApache is an Apache .htaccess or configuration file: Redirect,
	// RedirectPermanent, RedirectTemp, RedirectMatch and RewriteRule.
	FormatApache Format = "apache"
	// FormatCloudflare is Cloudflare's bulk-redirect CSV, without a header:
	// source, target, status, preserve query string, include subdomains,
	// subpath matching, preserve path suffix.
	FormatCloudflare Format = "cloudflare"
	// FormatNetlifyTOML is a netlify.toml file; its [[redirects]] tables
	// are read and every other table is skipped.
	FormatNetlifyTOML Format = "netlify-toml"
)

// formatList names every Format for messages.
const formatList = "csv, json, jsonl, netlify, tsv, nginx, apache, cloudflare or netlify-toml"

// Limits that apply when ReadOptions leaves them zero.
const (
	DefaultMaxLineBytes  = 64 << 10
	DefaultMaxInputBytes = 1 << 30
)

// zstdMaxWindow bounds the memory a zstd stream may ask the decoder for.
// 128 MiB (window log 27) is what `zstd --long` and `--ultra -22` use;
// anything larger is refused rather than allocated.
const zstdMaxWindow = 128 << 20

var (
	// ErrUnknownFormat is returned when a manifest's format cannot be told
	// from its name or is not one of the Format constants.
	ErrUnknownFormat = errors.New("compiler: unknown manifest format")
	// ErrInputTooLarge is returned when a manifest, after decompression, is
	// larger than ReadOptions.MaxInputBytes.
	ErrInputTooLarge = errors.New("compiler: manifest larger than the input limit")
	// ErrLineTooLong is returned when a JSON rule object, or any single
	// token or run of white space in a JSON file, is larger than
	// ReadOptions.MaxLineBytes. (In line-based formats a long line is a
	// Problem and reading goes on.)
	ErrLineTooLong = errors.New("compiler: manifest value longer than the line limit")
)

// ReadOptions control how a manifest is read. The zero value reads the
// format named by the file with each format's defaults.
type ReadOptions struct {
	// Format is the manifest format; FormatAuto takes it from the file name.
	Format Format
	// DefaultStatus is the status of rules that give neither a status nor
	// "permanent". 0 means the format's default: 301 for Netlify and TSV,
	// 307 for CSV, JSON arrays and JSONL (Vercel bulk redirects), 308 for
	// vercel.json redirects (where "permanent" defaults to true).
	DefaultStatus int
	// SkipUnsupported turns constructs redirc cannot honour (Netlify
	// rewrites, proxies and conditions; vercel.json has/missing) into
	// warnings; the rule is skipped either way.
	SkipUnsupported bool
	// MaxLineBytes limits one line (one rule object in JSON). 0 means
	// DefaultMaxLineBytes. A longer line is a Problem and reading goes on
	// with the next line; in JSON, where there is no next line to resync
	// on, it stops reading with ErrLineTooLong.
	MaxLineBytes int
	// MaxInputBytes limits the decompressed input. 0 means
	// DefaultMaxInputBytes. Reading more stops with ErrInputTooLarge, which
	// refuses decompression bombs early.
	MaxInputBytes int64

	// IncludeFS, when not nil, is where the files an nginx "include"
	// names are read from, by slash-separated paths relative to the
	// including file's name; nil reads the operating system's files.
	IncludeFS fs.FS
}

// DetectFormat tells a manifest's format from its file name, ignoring a
// ".gz" or ".zst" suffix. A known extension wins (".csv", or Cloudflare
// when the base name contains "cloudflare"; ".json"; ".jsonl" or
// ".ndjson"; ".tsv" or ".txt"; ".conf" is nginx; ".toml" is
// netlify.toml; ".htaccess" is Apache), so MDN's "_redirects.txt" is TSV;
// otherwise a base name starting with "_redirects" is Netlify. Read looks
// into a ".conf" file found this way and reads it as Apache when its
// directives are Apache's (see sniffConf).
func DetectFormat(name string) (Format, error) {
	base := strings.ToLower(filepath.Base(name))
	base = strings.TrimSuffix(base, ".gz")
	base = strings.TrimSuffix(base, ".zst")
	switch filepath.Ext(base) {
	case ".csv":
		if strings.Contains(base, "cloudflare") {
			return FormatCloudflare, nil
		}
		return FormatCSV, nil
	case ".conf":
		return FormatNginx, nil
	case ".toml":
		return FormatNetlifyTOML, nil
	case ".htaccess":
		return FormatApache, nil
	case ".json":
		return FormatJSON, nil
	case ".jsonl", ".ndjson":
		return FormatJSONL, nil
	case ".tsv", ".txt":
		return FormatTSV, nil
	}
	if strings.HasPrefix(base, "_redirects") {
		return FormatNetlify, nil
	}
	if base == "htaccess" {
		return FormatApache, nil
	}
	return FormatAuto, fmt.Errorf("%w: cannot tell the format of %q from its name "+
		"(expected .csv, .json, .jsonl, .ndjson, .tsv, .txt, .conf, .toml, .htaccess or _redirects, optionally .gz or .zst)", ErrUnknownFormat, name)
}

// ReadFile reads the manifest in the named file, decompressing it first
// when the name ends in ".gz" (gzip) or ".zst" (zstd). See Read.
func ReadFile(name string, opt ReadOptions) ([]Rule, []Problem, error) {
	return readFile(name, opt, nil)
}

// readFile is ReadFile handing each rule to sink, when not nil, instead of
// collecting it (see read).
func readFile(name string, opt ReadOptions, sink func(Rule) error) ([]Rule, []Problem, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err // *PathError names the file
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, nil, fmt.Errorf("%s: %w", name, ErrIsDirectory)
	}
	var r io.Reader = f
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".gz"):
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: gzip: %w", name, err)
		}
		defer zr.Close()
		r = decodeErrors{r: zr, codec: "gzip"}
	case strings.HasSuffix(lower, ".zst"):
		window := uint64(zstdMaxWindow)
		if lim := opt.maxInput(); lim < int64(window) {
			window = uint64(max(lim, 1<<20))
		}
		zr, err := zstd.NewReader(bufio.NewReaderSize(f, 64<<10),
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(window),
			zstd.WithDecoderMaxMemory(window))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: zstd: %w", name, err)
		}
		defer zr.Close()
		r = decodeErrors{r: zr, codec: "zstd", window: int64(window)}
	}
	return read(name, r, opt, sink)
}

// Read parses one manifest from r, which must already be decompressed;
// name is used for format detection and in every Pos. It returns the rules
// it could read, in file order, and every problem it found, each with the
// line it is about. Rules with errors are left out. err is reserved for
// I/O failures and for limits that stop reading; the rules and problems
// found before are returned with it.
//
// Readers check syntax and fields only: they resolve each rule's Status,
// but leave paths, destinations, duplicates and prefix rules ("/*" kept in
// Source as written) to the compiler.
func Read(name string, r io.Reader, opt ReadOptions) ([]Rule, []Problem, error) {
	return read(name, r, opt, nil)
}

// read is Read handing each rule to sink, when not nil, instead of
// collecting it: the streaming build reads in bounded memory that way. An
// error from sink stops reading (the input stops delivering bytes) and is
// returned.
func read(name string, r io.Reader, opt ReadOptions, sink func(Rule) error) ([]Rule, []Problem, error) {
	format := opt.Format
	sniff := false
	if format == FormatAuto {
		f, err := DetectFormat(name)
		if err != nil {
			return nil, nil, err
		}
		format = f
		sniff = f == FormatNginx
	}
	switch format {
	case FormatCSV, FormatJSON, FormatJSONL, FormatNetlify, FormatTSV,
		FormatNginx, FormatApache, FormatCloudflare, FormatNetlifyTOML:
	default:
		return nil, nil, fmt.Errorf("%s: %w %q (want %s)", name, ErrUnknownFormat, string(format), formatList)
	}
	if opt.DefaultStatus != 0 && !redirectStatus(opt.DefaultStatus) {
		return nil, nil, fmt.Errorf("%s: default status %d is not one of %s", name, opt.DefaultStatus, redirectStatusList)
	}
	m := &manifestReader{name: name, opt: opt, sink: sink, firstMatch: format == FormatNetlify || format == FormatNetlifyTOML}
	if sink == nil {
		if n := ruleCountHint(r, format); n > 0 {
			m.rules = make([]Rule, 0, n)
		}
	}
	m.opt.MaxLineBytes = opt.maxLine()
	limited := &inputLimiter{r: r, max: opt.maxInput(), stop: &m.sinkErr}
	br := bufio.NewReaderSize(limited, 64<<10)
	// A UTF-8 byte order mark (Excel writes one into CSV) is not content.
	bom := 0
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
		bom = 3
	}
	if head, _ := br.Peek(binarySniffBytes); len(head) > 0 {
		if err := sniffBinary(name, head, bom); err != nil {
			return nil, nil, err
		}
	}
	if sniff {
		if b, _ := br.Peek(64 << 10); sniffConf(b) == FormatApache {
			format = FormatApache
		}
	}
	var err error
	switch format {
	case FormatCSV:
		err = m.readCSV(br)
	case FormatJSON:
		err = m.readJSON(br)
	case FormatJSONL:
		err = m.readJSONL(br)
	case FormatNetlify:
		err = m.readNetlify(br) // add sets FirstMatch: Netlify applies rules in file order
	case FormatTSV:
		err = m.readTSV(br)
	case FormatNginx:
		err = m.readNginx(br)
	case FormatApache:
		err = m.readApache(br)
	case FormatCloudflare:
		err = m.readCloudflare(br)
	case FormatNetlifyTOML:
		err = m.readNetlifyTOML(br) // add sets FirstMatch, as for Netlify
	}
	var le *LimitError
	switch {
	case m.sinkErr != nil:
		err = m.sinkErr
	case err == nil:
	case errors.As(err, &le):
		if le.Pos.File == "" {
			le.Pos.File = name
		}
		err = le
	case errors.Is(err, ErrInputTooLarge):
		err = &LimitError{Pos: Pos{File: name}, Limit: OptionMaxInputBytes, Max: limited.max, kind: limitInput, err: ErrInputTooLarge}
	default:
		err = fmt.Errorf("%s: %w", name, err)
	}
	return m.rules, m.problems, err
}

// decodeErrors names the codec in a decompressor's errors ("unexpected
// EOF" alone does not say the .gz is truncated) and turns zstd's refusal
// of large windows into a LimitError.
type decodeErrors struct {
	r      io.Reader
	codec  string
	window int64 // the largest zstd window allowed
}

func (d decodeErrors) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	switch {
	case err == nil || err == io.EOF:
	case errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded):
		err = &LimitError{Limit: OptionMaxInputBytes, Max: d.window, kind: limitZstdWindow, err: err}
	default:
		err = fmt.Errorf("%s: %w", d.codec, err)
	}
	return n, err
}

func (o ReadOptions) maxLine() int {
	if o.MaxLineBytes <= 0 {
		return DefaultMaxLineBytes
	}
	return o.MaxLineBytes
}

func (o ReadOptions) maxInput() int64 {
	if o.MaxInputBytes <= 0 {
		return DefaultMaxInputBytes
	}
	return o.MaxInputBytes
}

// manifestReader holds what one Read call has found so far.
type manifestReader struct {
	name     string
	opt      ReadOptions
	rules    []Rule
	problems []Problem
	jp       jsonScanner // reused for every JSON rule object
	// sink, when not nil, takes each rule instead of rules; its first
	// error is sinkErr, which stops the input (inputLimiter.stop).
	sink    func(Rule) error
	sinkErr error
	// firstMatch marks every rule FirstMatch (Netlify, netlify.toml).
	firstMatch bool
}

// maxRuleCountHint caps the preallocation from ruleCountHint (2M rules,
// 192 MiB), so that a file of comment lines cannot ask for gigabytes.
const maxRuleCountHint = 1 << 21

// ruleCountHint estimates how many rules r holds when r can be read at
// offsets (files, bytes.Reader, strings.Reader) without disturbing Read:
// it counts lines, or objects in JSON. Sizing the rule slice once
// measured 1M TSV lines in 100 ms instead of 160-390 ms growing it, where
// copying 96-byte rules under the garbage collector's write barriers
// dominated.
func ruleCountHint(r io.Reader, format Format) int {
	ra, ok := r.(io.ReaderAt)
	if !ok {
		return 0
	}
	var size int64
	switch s := r.(type) {
	case interface{ Size() int64 }:
		size = s.Size()
	case interface{ Stat() (os.FileInfo, error) }:
		fi, err := s.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return 0
		}
		size = fi.Size()
	default:
		return 0
	}
	sep := byte('\n')
	if format == FormatJSON {
		sep = '{' // JSON may be pretty-printed, or all on one line
	}
	buf := make([]byte, 256<<10)
	n := 0
	for off := int64(0); off < size && n < maxRuleCountHint; {
		k, err := ra.ReadAt(buf, off)
		n += bytes.Count(buf[:k], []byte{sep})
		off += int64(k)
		if err != nil || k == 0 {
			break
		}
	}
	return min(n+1, maxRuleCountHint)
}

// add appends a rule. It doubles the slice when full: append grows large
// slices by only 1.25x, and with 96-byte rules the repeated copying and
// clearing took half the time of reading 1M TSV lines.
func (m *manifestReader) add(r Rule) {
	if m.firstMatch {
		r.FirstMatch = true
	}
	if m.sink != nil {
		if m.sinkErr == nil {
			m.sinkErr = m.sink(r)
		}
		return
	}
	if len(m.rules) == cap(m.rules) {
		grown := make([]Rule, len(m.rules), max(2*cap(m.rules), 256))
		copy(grown, m.rules)
		m.rules = grown
	}
	m.rules = append(m.rules, r)
}

func (m *manifestReader) pos(line int) Pos { return Pos{File: m.name, Line: line} }

// errorf records an error at line.
func (m *manifestReader) errorf(line int, format string, args ...any) {
	m.problems = append(m.problems, Problem{Pos: m.pos(line), Severity: Error, Msg: fmt.Sprintf(format, args...)})
}

// unsupported records a construct redirc cannot honour: an error, or a
// warning with SkipUnsupported. Either way the rule is not returned.
func (m *manifestReader) unsupported(line int, what string) {
	p := Problem{Pos: m.pos(line), Severity: Error, Msg: "unsupported: " + what}
	if m.opt.SkipUnsupported {
		p.Severity = Warning
		p.Msg += "; rule skipped"
	}
	m.problems = append(m.problems, p)
}

// tooLong records a line longer than MaxLineBytes.
func (m *manifestReader) tooLong(line int) {
	m.problems = append(m.problems, Problem{Pos: m.pos(line), Severity: Error, Hint: HintMaxLineBytes,
		Msg: fmt.Sprintf("line is longer than %d bytes; skipped", m.opt.MaxLineBytes)})
}

// inputLimiter fails with ErrInputTooLarge once more than max bytes
// have been read, so a decompression bomb is refused after max bytes
// instead of filling memory or disk.
type inputLimiter struct {
	r      io.Reader
	n, max int64
	stop   *error // when not nil and set, reading stops with it
}

func (l *inputLimiter) Read(p []byte) (int, error) {
	if l.stop != nil && *l.stop != nil {
		return 0, *l.stop
	}
	if l.n > l.max {
		return 0, ErrInputTooLarge
	}
	if room := l.max + 1 - l.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return n, ErrInputTooLarge
	}
	return n, err
}

// lineReader splits input into lines without allocating per line. Lines
// longer than max are reported (tooLong) with their content dropped, so
// one huge line cannot exhaust memory and reading goes on after it.
type lineReader struct {
	br      *bufio.Reader
	max     int
	n       int    // number of the line last returned, 1-based
	long    []byte // accumulates a line longer than br's buffer
	tooLong bool   // the line last returned was longer than max
	err     error  // first read error other than io.EOF
}

// next returns the next line without its "\n" or "\r\n"; the slice is valid
// until the next call. ok is false at the end of input or after a read
// error (see err). When tooLong is set the line is returned empty.
func (lr *lineReader) next() (line []byte, ok bool) {
	if lr.err != nil {
		return nil, false
	}
	lr.tooLong = false
	lr.long = lr.long[:0]
	got := false // any byte of this line seen
	for {
		frag, err := lr.br.ReadSlice('\n')
		got = got || len(frag) > 0
		switch {
		case err == nil:
			if len(lr.long) > 0 {
				lr.long = append(lr.long, frag...)
				frag = lr.long
			}
		case err == bufio.ErrBufferFull:
			if !lr.tooLong {
				if len(lr.long)+len(frag) > lr.max+2 {
					lr.tooLong = true
					lr.long = lr.long[:0]
				} else {
					lr.long = append(lr.long, frag...)
				}
			}
			continue
		default:
			if err != io.EOF {
				lr.err = err
				return nil, false
			}
			if !got {
				return nil, false
			}
			if len(lr.long) > 0 {
				lr.long = append(lr.long, frag...)
				frag = lr.long
			}
		}
		lr.n++
		if lr.tooLong {
			return nil, true
		}
		frag = bytes.TrimSuffix(frag, []byte("\n"))
		frag = bytes.TrimSuffix(frag, []byte("\r"))
		if len(frag) > lr.max {
			lr.tooLong = true
			return nil, true
		}
		return frag, true
	}
}
