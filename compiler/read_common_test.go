package compiler

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// readCase is one table entry for a reader: input, and the exact rules and
// problems expected. Rules are written "line source -> destination status"
// plus " cs", " q" and " exp=RFC3339" when set; problems "line severity:
// substring of the message".
type readCase struct {
	name     string
	in       string
	opt      ReadOptions
	rules    []string
	problems []string
}

func rdRuleString(r Rule) string {
	s := fmt.Sprintf("%d %s -> %s %d", r.Pos.Line, r.Source, r.Destination, r.Status)
	if r.CaseSensitive {
		s += " cs"
	}
	query := r.Query
	if r.FirstMatch {
		// Netlify: show what differs from its defaults (the query passed
		// on by 301 and 302 without a query of their own, unforced).
		query = r.Query != ((r.Status == 301 || r.Status == 302) && !strings.Contains(r.Destination, "?") && len(r.QueryMatch) == 0)
		if !r.Unforced {
			s += " !"
		}
	}
	if query {
		s += " q"
	}
	if !r.Expires.IsZero() {
		s += " exp=" + r.Expires.Format(time.RFC3339)
	}
	return s
}

// rdRun reads each case from a file called file and compares.
func rdRun(t *testing.T, file string, cases []readCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rules, problems, err := Read(file, strings.NewReader(tc.in), tc.opt)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			rdCompare(t, file, rules, problems, tc.rules, tc.problems)
		})
	}
}

func rdCompare(t *testing.T, file string, rules []Rule, problems []Problem, wantRules, wantProblems []string) {
	t.Helper()
	var got []string
	for _, r := range rules {
		if r.Pos.File != file {
			t.Errorf("rule %v: Pos.File = %q, want %q", r, r.Pos.File, file)
		}
		got = append(got, rdRuleString(r))
	}
	if strings.Join(got, "\n") != strings.Join(wantRules, "\n") {
		t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRules, "\n"))
	}
	ok := len(problems) == len(wantProblems)
	for i := 0; ok && i < len(problems); i++ {
		p := problems[i]
		var line int
		var sev, msg string
		fmt.Sscanf(wantProblems[i], "%d %s", &line, &sev)
		_, msg, _ = strings.Cut(wantProblems[i], ": ")
		ok = p.Pos.File == file && p.Pos.Line == line && p.Severity.String()+":" == sev && strings.Contains(p.Message(nil), msg)
	}
	if !ok {
		var b strings.Builder
		for _, p := range problems {
			fmt.Fprintf(&b, "  %s\n", p)
		}
		t.Errorf("problems:\n%swant:\n  %s", b.String(), strings.Join(wantProblems, "\n  "))
	}
}

// rdCorpus returns the path of a file in the shared corpora (see
// ../../shared/corpora/README.md), skipping the test when absent.
func rdCorpus(t testing.TB, rel string) string {
	t.Helper()
	dir := os.Getenv("REDIRC_CORPORA")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "corpora")
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("corpus %s not found (set REDIRC_CORPORA or check out ../shared/corpora beside the repository): %v", rel, err)
	}
	return p
}

func TestDetectFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		want Format
	}{
		{"rules.csv", FormatCSV},
		{"dir.d/Rules.CSV", FormatCSV},
		{"rules.csv.gz", FormatCSV},
		{"rules.csv.zst", FormatCSV},
		{"vercel.json", FormatJSON},
		{"a/b/redirects.json.gz", FormatJSON},
		{"rules.jsonl", FormatJSONL},
		{"rules.ndjson.zst", FormatJSONL},
		{"map.tsv", FormatTSV},
		{"map.txt", FormatTSV},
		{"_redirects", FormatNetlify},
		{"site/public/_redirects", FormatNetlify},
		{"_redirects.gz", FormatNetlify},
		{"_redirects.prod", FormatNetlify},
		{"_redirects.txt", FormatTSV}, // MDN's name: the extension wins
		{"_redirects.csv", FormatCSV},
	} {
		got, err := DetectFormat(tc.name)
		if err != nil || got != tc.want {
			t.Errorf("DetectFormat(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	for _, name := range []string{"rules.yaml", "redirects", "rules.gz", "rules.ini", ""} {
		_, err := DetectFormat(name)
		// The library names no command-line flag; the CLI adds its own.
		if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), "cannot tell the format") || strings.Contains(err.Error(), "--") {
			t.Errorf("DetectFormat(%q) error = %v; want ErrUnknownFormat naming no flag", name, err)
		}
	}
}

func TestReadOptionsErrors(t *testing.T) {
	if _, _, err := Read("x.yaml", strings.NewReader(""), ReadOptions{}); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("unknown name: err = %v", err)
	}
	if _, _, err := Read("x", strings.NewReader(""), ReadOptions{Format: "xml"}); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("unknown Format: err = %v", err)
	}
	if _, _, err := Read("x.tsv", strings.NewReader(""), ReadOptions{DefaultStatus: 200}); err == nil || !strings.Contains(err.Error(), "200") {
		t.Errorf("DefaultStatus 200: err = %v", err)
	}
	// An explicit format beats the name.
	rules, problems, err := Read("rules.csv", strings.NewReader("/a\t/b\n"), ReadOptions{Format: FormatTSV})
	if err != nil || len(problems) != 0 || len(rules) != 1 {
		t.Errorf("Format overrides the name: %v %v %v", rules, problems, err)
	}
}

// TestReadEveryFormatCRLFAndBOM reads the same two rules, written with a
// byte order mark and CRLF line ends, in every format.
func TestReadEveryFormatCRLFAndBOM(t *testing.T) {
	want := []string{"2 /a -> /b 301", "3 /c -> https://x.example/d 301"}
	for name, in := range map[string]string{
		"m.csv":      "source,destination,statusCode\r\n/a,/b,301\r\n/c,https://x.example/d,301\r\n",
		"m.json":     "[\r\n{\"source\":\"/a\",\"destination\":\"/b\",\"statusCode\":301},\r\n{\"source\":\"/c\",\"destination\":\"https://x.example/d\",\"statusCode\":301}]\r\n",
		"m.jsonl":    "\r\n{\"source\":\"/a\",\"destination\":\"/b\",\"statusCode\":301}\r\n{\"source\":\"/c\",\"destination\":\"https://x.example/d\",\"statusCode\":301}\r\n",
		"_redirects": "# rules\r\n/a /b\r\n/c https://x.example/d 301\r\n",
		"m.tsv":      "# rules\r\n/a\t/b\r\n/c\thttps://x.example/d\t301\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			rules, problems, err := Read(name, strings.NewReader("\ufeff"+in), ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rdCompare(t, name, rules, problems, want, nil)
		})
	}
}

func rdGzip(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func rdZstd(t testing.TB, data []byte) []byte {
	w, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll(data, nil)
}

func TestReadFileCompressed(t *testing.T) {
	dir := t.TempDir()
	tsv := []byte("/a\t/b\n/c\t/d\t302\n")
	for name, data := range map[string][]byte{
		"plain.tsv":     tsv,
		"rules.tsv.gz":  rdGzip(t, tsv),
		"rules.tsv.zst": rdZstd(t, tsv),
		"RULES.TSV.GZ":  rdGzip(t, tsv),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rules, problems, err := ReadFile(path, ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rdCompare(t, path, rules, problems, []string{"1 /a -> /b 301", "2 /c -> /d 302"}, nil)
	}

	// Corrupt compressed files and missing files are errors naming the file.
	for name, data := range map[string][]byte{
		"bad.tsv.gz":  []byte("not gzip at all"),
		"bad.tsv.zst": []byte("not zstd at all"),
		"cut.tsv.gz":  rdGzip(t, bytes.Repeat(tsv, 1000))[:100],
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, data, 0o644)
		if _, _, err := ReadFile(path, ReadOptions{}); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
	}
	if _, _, err := ReadFile(filepath.Join(dir, "missing.tsv"), ReadOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// errBinary stands for a *BinaryError in TestReadFileDecompressionBomb.
var errBinary = errors.New("binary")

// TestReadFileDecompressionBomb feeds 2 GiB of spaces, compressed to a few
// MB, and expects a quick ErrInputTooLarge once MaxInputBytes is passed;
// 2 GiB of zeros is refused as binary data at once.
// The bomb is one small compressed chunk repeated: gzip members and zstd
// frames may be concatenated.
func TestReadFileDecompressionBomb(t *testing.T) {
	const total, chunk = 2 << 30, 4 << 20
	zeros := make([]byte, chunk)
	spaces := bytes.Repeat([]byte{' '}, chunk)
	dir := t.TempDir()
	for _, tc := range []struct {
		name          string
		first, repeat []byte
		want          error
	}{
		// Zeros are binary data, refused at the first NUL byte.
		{"zeros.tsv.gz", nil, rdGzip(t, zeros), errBinary},
		{"zeros.jsonl.zst", nil, rdZstd(t, zeros), errBinary},
		{"zeros.csv.gz", rdGzip(t, []byte("source,destination\n")), rdGzip(t, zeros), errBinary},
		{"bomb.tsv.gz", nil, rdGzip(t, spaces), ErrInputTooLarge},
		{"bomb.jsonl.zst", nil, rdZstd(t, spaces), ErrInputTooLarge},
		{"bomb.csv.gz", rdGzip(t, []byte("source,destination\n")), rdGzip(t, spaces), ErrInputTooLarge},
		{"_redirects.zst", nil, rdZstd(t, spaces), ErrInputTooLarge},
		// JSON white space between values counts against MaxLineBytes.
		{"bomb.json.zst", rdZstd(t, []byte("[")), rdZstd(t, spaces), ErrLineTooLong},
	} {
		path := filepath.Join(dir, tc.name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(tc.first)
		for range total / chunk {
			f.Write(tc.repeat)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, _, err = ReadFile(path, ReadOptions{MaxInputBytes: 16 << 20})
		var be *BinaryError
		if tc.want == errBinary && errors.As(err, &be) && be.File == path {
			// refused as binary
		} else if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want %v naming the file", tc.name, err, tc.want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: refusing the bomb took %v", tc.name, d)
		}
	}
}

func TestReadInputLimitExact(t *testing.T) {
	in := "/a\t/b\n/c\t/d\n" // 12 bytes
	if _, _, err := Read("x.tsv", strings.NewReader(in), ReadOptions{MaxInputBytes: 12}); err != nil {
		t.Errorf("input of exactly MaxInputBytes: %v", err)
	}
	rules, _, err := Read("x.tsv", strings.NewReader(in), ReadOptions{MaxInputBytes: 8})
	if !errors.Is(err, ErrInputTooLarge) {
		t.Errorf("input over MaxInputBytes: err = %v", err)
	}
	if len(rules) != 1 {
		t.Errorf("rules before the limit: %v", rules)
	}
	for _, format := range []Format{FormatCSV, FormatJSON, FormatJSONL, FormatNetlify, FormatTSV} {
		data := rdGenerate(format, 10000)
		_, _, err := Read("big", bytes.NewReader(data), ReadOptions{Format: format, MaxInputBytes: int64(len(data)) - 1})
		if !errors.Is(err, ErrInputTooLarge) || !strings.HasPrefix(err.Error(), "big: ") {
			t.Errorf("%s: err = %v, want ErrInputTooLarge", format, err)
		}
		if _, _, err := Read("big", bytes.NewReader(data), ReadOptions{Format: format, MaxInputBytes: int64(len(data))}); err != nil {
			t.Errorf("%s at the limit: %v", format, err)
		}
	}
}

func TestReadFileZstdWindow(t *testing.T) {
	// A zstd frame declaring a 1 GiB window is refused before any
	// allocation. The header: magic, descriptor 0 (window byte follows,
	// no checksum, no content size), window byte 0x98 = 2^(10+19) bytes.
	path := filepath.Join(t.TempDir(), "w.tsv.zst")
	os.WriteFile(path, []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x98, 0x01, 0x00, 0x00}, 0o644)
	_, _, err := ReadFile(path, ReadOptions{})
	if err == nil || !strings.Contains(err.Error(), "window") || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want a window refusal naming the file", err)
	}
}

// rdErrReader fails after its data.
type rdErrReader struct {
	data []byte
	err  error
}

func (r *rdErrReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadIOError(t *testing.T) {
	boom := errors.New("disk on fire")
	inputs := map[string]string{
		"x.tsv":      "/a\t/b\n/c\t/d\n",
		"_redirects": "/a /b\n/c /d\n",
		"x.csv":      "source,destination\n/a,/b\n/c,/d\n",
		"x.jsonl":    "{\"source\":\"/a\",\"destination\":\"/b\"}\n{\"source\":\"/c\",\"destination\":\"/d\"}\n",
		"x.json":     "[{\"source\":\"/a\",\"destination\":\"/b\"},\n{\"source\":\"/c\",\"destination\":\"/d\"}",
	}
	for name, in := range inputs {
		_, _, err := Read(name, &rdErrReader{data: []byte(in), err: boom}, ReadOptions{})
		if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), name+": ") {
			t.Errorf("%s: err = %v, want the I/O error prefixed with the name", name, err)
		}
	}
}

// TestReadLongLines checks that a line over MaxLineBytes is one problem
// naming it and that reading goes on, in every line-based format.
func TestReadLongLines(t *testing.T) {
	long := strings.Repeat("x", 200)
	for name, in := range map[string]string{
		"x.tsv":      "/a\t/b\n/" + long + "\t/c\n/d\t/e\n",
		"_redirects": "/a /b\n/" + long + " /c\n/d /e\n",
		"x.jsonl":    "{\"source\":\"/a\",\"destination\":\"/b\",\"statusCode\":301}\n{\"source\":\"/" + long + "\"}\n{\"source\":\"/d\",\"destination\":\"/e\",\"statusCode\":301}\n",
		"x.csv":      "source,destination,statusCode\n/a,/b,301\n/" + long + ",/c,301\n/d,/e,301\n",
		"y.csv":      "source,destination,statusCode\n/a,/b,301\n\"/" + long + ",/c,301\n/d,/e,301\n", // an unclosed quote on the long line
	} {
		for _, bufSize := range []int{100, 10} { // lines longer than bufio's buffer and not
			t.Run(fmt.Sprint(name, bufSize), func(t *testing.T) {
				rules, problems, err := Read(name, strings.NewReader(in), ReadOptions{MaxLineBytes: bufSize * 1})
				if err != nil {
					t.Fatal(err)
				}
				if bufSize == 10 {
					return // most lines are too long; only no panic and no error
				}
				l := 1
				if strings.HasSuffix(name, ".csv") {
					l = 2
				}
				rdCompare(t, name, rules, problems,
					[]string{fmt.Sprintf("%d /a -> /b 301", l), fmt.Sprintf("%d /d -> /e 301", l+2)},
					[]string{fmt.Sprintf("%d error: longer than %d bytes", l+1, bufSize)})
			})
		}
	}
	// A line of exactly MaxLineBytes is fine, also with CRLF.
	rules, problems, _ := Read("x.tsv", strings.NewReader("/abcdefgh\t/b\r\n"), ReadOptions{MaxLineBytes: 12})
	if len(rules) != 1 || len(problems) != 0 {
		t.Errorf("line of exactly MaxLineBytes: %v %v", rules, problems)
	}
}

func TestLineReaderHugeLine(t *testing.T) {
	// A line far longer than bufio's buffer is dropped without being kept.
	in := "/a\t/b\n" + strings.Repeat("y", 1<<20) + "\n/c\t/d"
	rules, problems, err := Read("x.tsv", strings.NewReader(in), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rdCompare(t, "x.tsv", rules, problems, []string{"1 /a -> /b 301", "3 /c -> /d 301"},
		[]string{"2 error: line is longer than 65536 bytes; skipped (MaxLineBytes)"})
}
