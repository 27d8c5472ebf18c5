package shorten

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Row is one link asked for in an input file.
type Row struct {
	URL     string
	Alias   string
	Expires string
	Status  int // 0: the default status
	Tags    string
	Pos     Pos
}

// Pos is a place in an input file.
type Pos struct {
	File string
	Line int
}

// String formats p as file:line.
func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Problem is one refusal, tied to the input line it is about.
type Problem struct {
	Pos Pos
	Msg string
}

// String formats p as "file:line: message".
func (p Problem) String() string { return p.Pos.String() + ": " + p.Msg }

// ProblemsError is returned when any input row is refused; nothing is
// written then.
type ProblemsError []Problem

// Error lists the problems, one per line.
func (e ProblemsError) Error() string {
	var b strings.Builder
	for i, p := range e {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// MaxURLLength is the longest URL accepted (the compiler's default limit
// on destinations).
const MaxURLLength = 8 << 10

var inputColumns = map[string]bool{"url": true, "alias": true, "expires": true, "status": true, "tags": true}

// ReadInputFile reads an input CSV file; see ReadInput.
func ReadInputFile(name string) ([]Row, []Problem, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("reading input: %w", err)
	}
	defer f.Close()
	return ReadInput(name, f)
}

// ReadInput reads input rows from CSV with a header naming the columns
// (any order, any letter case): url (required), and optionally alias,
// expires (RFC 3339), status (301, 302, 303, 307 or 308) and tags (free
// text kept in the state file). Unknown columns are refused, so a typo
// cannot silently drop data. Rows with problems are left out and reported.
func ReadInput(name string, r io.Reader) ([]Row, []Problem, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	var probs []Problem
	bad := func(line int, format string, args ...any) {
		probs = append(probs, Problem{Pos{name, line}, fmt.Sprintf(format, args...)})
	}
	hdr, err := cr.Read()
	if err == io.EOF {
		bad(1, "empty input: want a header row with a url column")
		return nil, probs, nil
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad(pe.StartLine, "invalid CSV header: %v", pe.Err)
			return nil, probs, nil
		}
		return nil, nil, fmt.Errorf("reading %s: %w", name, err)
	}
	hline, _ := cr.FieldPos(0)
	col := map[string]int{}
	for i, h := range hdr {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !inputColumns[h] {
			bad(hline, "unknown column %q (want url, alias, expires, status, tags)", h)
			continue
		}
		if _, dup := col[h]; dup {
			bad(hline, "column %q appears twice", h)
		}
		col[h] = i
	}
	if _, ok := col["url"]; !ok {
		bad(hline, "no url column in the header")
	}
	if len(probs) > 0 {
		return nil, probs, nil
	}
	get := func(rec []string, c string) string {
		if i, ok := col[c]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var rows []Row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad(pe.StartLine, "invalid CSV: %v", pe.Err)
				continue
			}
			return nil, nil, fmt.Errorf("reading %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		row := Row{URL: get(rec, "url"), Alias: get(rec, "alias"), Expires: get(rec, "expires"), Tags: get(rec, "tags"), Pos: Pos{name, line}}
		if len(rec) > len(hdr) {
			bad(line, "%d fields, but the header has %d", len(rec), len(hdr))
			continue
		}
		if err := ValidateURL(row.URL); err != nil {
			bad(line, "%v", err)
			continue
		}
		if s := get(rec, "status"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || !validStatus(n) {
				bad(line, "status %q: want 301, 302, 303, 307 or 308", s)
				continue
			}
			row.Status = n
		}
		if row.Expires != "" {
			if _, err := time.Parse(time.RFC3339, row.Expires); err != nil {
				bad(line, "expires %q: want an RFC 3339 time such as 2026-12-31T23:59:59Z", row.Expires)
				continue
			}
		}
		if row.Alias != "" {
			row.Alias = strings.TrimPrefix(row.Alias, "/")
			if err := ValidateAlias(row.Alias); err != nil {
				bad(line, "%v", err)
				continue
			}
		}
		rows = append(rows, row)
	}
	return rows, probs, nil
}

// ValidateURL checks a long URL: an absolute http or https URL with a
// host, no spaces or control characters, at most MaxURLLength bytes.
func ValidateURL(s string) error {
	if s == "" {
		return fmt.Errorf("empty url")
	}
	if len(s) > MaxURLLength {
		return fmt.Errorf("url is %d bytes long; at most %d are allowed", len(s), MaxURLLength)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("url %q contains a space or control character at byte %d (percent-encode it)", s, i)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("url %q: %v", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url %q: want an absolute http or https URL", s)
	}
	if u.Host == "" || u.User != nil {
		return fmt.Errorf("url %q: want a host and no user info", s)
	}
	return nil
}
