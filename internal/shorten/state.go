package shorten

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Link is one code in the state file. A Link is never deleted: when its
// URL leaves the input it is marked Gone and answers 410, and its code is
// never given to another URL.
type Link struct {
	Code    string
	URL     string
	Status  int
	Expires string // RFC 3339 as written in the input, or ""
	Tags    string
	Origin  Origin
	Counter uint64 // the counter value of a counter code
	Gone    bool
}

// Origin says how a code was made.
type Origin string

// The origins of codes.
const (
	OriginHash    Origin = "hash"
	OriginCounter Origin = "counter"
	OriginAlias   Origin = "alias"
)

// Block is a range of counter values reserved for one writer, so that
// writers working in parallel (on different branches) draw counter codes
// from disjoint ranges.
type Block struct {
	Writer      string
	First, Last uint64 // inclusive
}

// State is the content of a state file: every code ever issued, the next
// free counter value and the reserved counter blocks.
type State struct {
	Links  []Link // sorted by Code when written
	Next   uint64 // next counter value not in any block
	Blocks []Block
}

// stateHeader is the CSV header of a state file.
var stateHeader = []string{"code", "url", "status", "expires", "tags", "origin", "state"}

// The state file: comment lines first, then CSV.
//
//	# redirc shorten state v1 ...            (comments, ignored)
//	#counter next=N                          (only once a counter code exists)
//	#block writer=NAME first=A last=B        (one per reserved block)
//	code,url,status,expires,tags,origin,state
//	aB3xYz,https://example.com/,302,,launch,hash,active
//	q7,https://example.com/old,302,,,counter:40,gone
//
// Rows are sorted by code (byte order), so concurrent additions on two
// branches touch different lines and merge cleanly in git.
const stateMagic = "# redirc shorten state v1"

// ReadState reads the state file at path. A missing file is an empty
// state. Errors name path:line.
func ReadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &State{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state: %w", err)
	}
	return ParseState(path, data)
}

// ParseState parses the bytes of a state file; name is used in errors.
func ParseState(name string, data []byte) (*State, error) {
	st := &State{}
	line := 0
	rest := data
	for len(rest) > 0 && rest[0] == '#' {
		line++
		i := bytes.IndexByte(rest, '\n')
		var l []byte
		if i < 0 {
			l, rest = rest, nil
		} else {
			l, rest = rest[:i], rest[i+1:]
		}
		l = bytes.TrimRight(l, "\r")
		if err := st.directive(string(l)); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if len(bytes.TrimSpace(rest)) == 0 {
		return st, nil
	}
	cr := csv.NewReader(bytes.NewReader(rest))
	cr.FieldsPerRecord = len(stateHeader)
	hdr, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s:%d: state header: %w", name, line+1, err)
	}
	if !slices.Equal(hdr, stateHeader) {
		return nil, fmt.Errorf("%s:%d: state header is %q, want %q", name, line+1, strings.Join(hdr, ","), strings.Join(stateHeader, ","))
	}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%s:%d: %v", name, line+pe.StartLine, pe.Err)
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		l, _ := cr.FieldPos(0)
		l += line
		ln, err := parseLink(rec)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, l, err)
		}
		if prev, ok := seen[ln.Code]; ok {
			return nil, fmt.Errorf("%s:%d: code %q is already in the state at line %d", name, l, ln.Code, prev)
		}
		seen[ln.Code] = l
		st.Links = append(st.Links, ln)
	}
	return st, nil
}

func (st *State) directive(l string) error {
	f := strings.Fields(l)
	if len(f) == 0 || !strings.HasPrefix(f[0], "#") {
		return nil
	}
	kv := func(s, key string) (uint64, string, error) {
		v, ok := strings.CutPrefix(s, key+"=")
		if !ok {
			return 0, "", fmt.Errorf("want %s=..., got %q", key, s)
		}
		n, err := strconv.ParseUint(v, 10, 64)
		return n, v, err
	}
	switch f[0] {
	case "#counter":
		if len(f) != 2 {
			return fmt.Errorf("want #counter next=N")
		}
		n, _, err := kv(f[1], "next")
		if err != nil {
			return fmt.Errorf("#counter: %w", err)
		}
		st.Next = n
	case "#block":
		if len(f) != 4 || !strings.HasPrefix(f[1], "writer=") {
			return fmt.Errorf("want #block writer=NAME first=A last=B")
		}
		b := Block{Writer: strings.TrimPrefix(f[1], "writer=")}
		var err error
		if b.First, _, err = kv(f[2], "first"); err != nil {
			return fmt.Errorf("#block: %w", err)
		}
		if b.Last, _, err = kv(f[3], "last"); err != nil {
			return fmt.Errorf("#block: %w", err)
		}
		if b.Last < b.First || b.Writer == "" {
			return fmt.Errorf("#block: empty writer or last < first")
		}
		st.Blocks = append(st.Blocks, b)
	}
	return nil // other comments are for people
}

func parseLink(rec []string) (Link, error) {
	ln := Link{Code: rec[0], URL: rec[1], Expires: rec[3], Tags: rec[4]}
	if ln.Code == "" {
		return ln, fmt.Errorf("empty code")
	}
	st, err := strconv.Atoi(rec[2])
	if err != nil || !validStatus(st) {
		return ln, fmt.Errorf("code %q: status %q: want 301, 302, 303, 307 or 308", ln.Code, rec[2])
	}
	ln.Status = st
	switch o := rec[5]; {
	case o == string(OriginHash) || o == string(OriginAlias):
		ln.Origin = Origin(o)
	case strings.HasPrefix(o, "counter:"):
		n, err := strconv.ParseUint(o[len("counter:"):], 10, 64)
		if err != nil {
			return ln, fmt.Errorf("code %q: origin %q: bad counter value", ln.Code, o)
		}
		ln.Origin, ln.Counter = OriginCounter, n
	default:
		return ln, fmt.Errorf("code %q: origin %q: want hash, alias or counter:N", ln.Code, o)
	}
	switch rec[6] {
	case "active":
	case "gone":
		ln.Gone = true
	default:
		return ln, fmt.Errorf("code %q: state %q: want active or gone", ln.Code, rec[6])
	}
	return ln, nil
}

func validStatus(s int) bool {
	switch s {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// Marshal returns the state file's bytes: links sorted by code, blocks by
// first value; the same state always gives the same bytes.
func (st *State) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(stateMagic + ": every code ever issued, sorted by code.\n")
	b.WriteString("# The source of truth for 'redirc shorten': codes are never reassigned, and a\n")
	b.WriteString("# link removed from the input stays here as gone (410). Review changes like code.\n")
	if st.Next > 0 || len(st.Blocks) > 0 {
		fmt.Fprintf(&b, "#counter next=%d\n", st.Next)
	}
	blocks := slices.Clone(st.Blocks)
	slices.SortFunc(blocks, func(x, y Block) int { return cmpU64(x.First, y.First) })
	for _, bl := range blocks {
		fmt.Fprintf(&b, "#block writer=%s first=%d last=%d\n", bl.Writer, bl.First, bl.Last)
	}
	links := slices.Clone(st.Links)
	slices.SortFunc(links, func(x, y Link) int { return strings.Compare(x.Code, y.Code) })
	w := csv.NewWriter(&b)
	w.Write(stateHeader)
	for _, l := range links {
		origin := string(l.Origin)
		if l.Origin == OriginCounter {
			origin = "counter:" + strconv.FormatUint(l.Counter, 10)
		}
		state := "active"
		if l.Gone {
			state = "gone"
		}
		w.Write([]string{l.Code, l.URL, strconv.Itoa(l.Status), l.Expires, l.Tags, origin, state})
	}
	w.Flush()
	return b.Bytes()
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// WriteFileAtomic writes data to path through a temporary file in the
// same directory that is fsynced and renamed over path, then fsyncs the
// directory: a reader (or a crash) sees the old file or the new one, never
// a mix. If path already holds exactly data, it is left untouched (its
// modification time too) and changed is false.
func WriteFileAtomic(path string, data []byte) (changed bool, err error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: some file systems refuse fsync on directories
		d.Close()
	}
	return true, nil
}
