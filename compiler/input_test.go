package compiler

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSuggestField(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"destinaton", "destination"},
		{"Destinaton", "destination"},
		{"sorce", "source"},
		{"statuscod", "statusCode"},
		{"permanant", "permanent"},
		{"qeury", "query"},
		{"expiers", "expires"},
		{"target", ""},
		{"x", ""},
		{"to", ""},
	} {
		if got := suggestField(c.in); got != c.want {
			t.Errorf("suggestField(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestDidYouMeanInReaders(t *testing.T) {
	for _, c := range []struct{ name, data string }{
		{"r.csv", "source,destinaton\n/a,/b\n"},
		{"r.json", `[{"source":"/a","destinaton":"/b"}]`},
		{"r.jsonl", `{"source":"/a","destinaton":"/b"}` + "\n"},
	} {
		_, probs, err := Read(c.name, strings.NewReader(c.data), ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		found := false
		for _, p := range probs {
			if strings.Contains(p.Msg, `did you mean "destination"?`) {
				found = true
			}
			if strings.Contains(p.Msg, "--") {
				t.Errorf("%s: message names a flag: %s", c.name, p.Msg)
			}
		}
		if !found {
			t.Errorf("%s: no suggestion in %v", c.name, probs)
		}
		if len(probs) != 1 {
			t.Errorf("%s: %d problems, want the one suggesting the name: %v", c.name, len(probs), probs)
		}
	}
}

func TestReadBinary(t *testing.T) {
	for _, c := range []struct {
		data string
		off  int64
		kind string
	}{
		{"source,destination\n/a,/b\x00\n", 24, ""},
		{"\x1f\x8b\x08\x00\x00\x00", 3, "gzip"},
		{"\xff\xfes\x00o\x00", 3, "UTF-16"},
	} {
		rules, probs, err := Read("x.csv", strings.NewReader(c.data), ReadOptions{})
		var be *BinaryError
		if !errors.As(err, &be) || be.Offset != c.off || !strings.Contains(be.Kind, c.kind) {
			t.Errorf("%q: err %v, want a BinaryError at %d", c.data, err, c.off)
			continue
		}
		if want := "x.csv: binary data (NUL byte at offset "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("message %q", err)
		}
		if len(rules)+len(probs) != 0 {
			t.Errorf("%q: rules %v problems %v", c.data, rules, probs)
		}
	}
}

func TestReadFileDirectory(t *testing.T) {
	dir := t.TempDir()
	_, _, err := ReadFile(dir, ReadOptions{Format: FormatCSV})
	if !errors.Is(err, ErrIsDirectory) || err.Error() != dir+": is a directory, not a manifest" {
		t.Errorf("err %v", err)
	}
	f := filepath.Join(dir, "r.csv")
	os.WriteFile(f, []byte("source,destination\n/a,/b\n"), 0o644)
	if _, _, err := ReadFile(f, ReadOptions{}); err != nil {
		t.Errorf("regular file: %v", err)
	}
}

func TestSniffFormat(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Format
		ok   bool
	}{
		{`[{"source":"/a"}]`, FormatJSON, true},
		{`{"redirects":[]}`, FormatJSON, true},
		{"{\"source\":\"/a\",\"destination\":\"/b\"}\n{\"source\":\"/c\",\"destination\":\"/d\"}\n", FormatJSONL, true},
		{"\xef\xbb\xbfsource,destination,permanent\n/a,/b,true\n", FormatCSV, true},
		{"# comment\n\n/a\t/b\t301\n", FormatTSV, true},
		{"# comment\n/a /b 301\n", FormatNetlify, true},
		{"/a  https://x.example/b\n", FormatNetlify, true},
		{"hello world\n", FormatAuto, false},
		{"a,b\n1,2\n", FormatAuto, false},
		{"", FormatAuto, false},
		{"/only-a-path\n", FormatAuto, false},
	} {
		got, ok := SniffFormat([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("SniffFormat(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestSortProblems(t *testing.T) {
	ps := []Problem{
		{Pos: Pos{"a.csv", 9}, Msg: "a9"},
		{Pos: Pos{"z.csv", 3}, Msg: "z3"},
		{Pos: Pos{"", 0}, Msg: "global"},
		{Pos: Pos{"a.csv", 2}, Msg: "a2"},
		{Pos: Pos{"z.csv", 1}, Msg: "z1"},
		{Pos: Pos{"a.csv", 2}, Msg: "a2b"},
	}
	SortProblems(ps, []string{"z.csv", "a.csv"})
	var got []string
	for _, p := range ps {
		got = append(got, p.Msg)
	}
	if s := strings.Join(got, " "); s != "z1 z3 a2 a2b a9 global" {
		t.Errorf("order %s", s)
	}
}

func TestReadBinaryAfterBOM(t *testing.T) {
	_, _, err := Read("x.csv", strings.NewReader("\xef\xbb\xbfab\x00"), ReadOptions{})
	var be *BinaryError
	if !errors.As(err, &be) || be.Offset != 5 {
		t.Errorf("err %v, want a NUL at offset 5 of the file", err)
	}
}
