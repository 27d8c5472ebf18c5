package compiler

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var rdUpdateGolden = flag.Bool("update-manifests", false, "rewrite testdata/manifests/*.golden from the readers' output")

const rdManifests = "testdata/manifests"

// TestReadManifestsGolden reads every fixture in testdata/manifests and
// compares the rules and problems with its .golden file.
func TestReadManifestsGolden(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(rdManifests, "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range paths {
		name := filepath.Base(path)
		if strings.HasSuffix(name, ".golden") {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rules, problems, err := Read(name, f, ReadOptions{})
			var b strings.Builder
			for _, r := range rules {
				b.WriteString(strings.ReplaceAll(rdRuleString(r), "\n", `\n`) + "\n")
			}
			for _, p := range problems {
				b.WriteString(p.String() + "\n")
			}
			if err != nil {
				b.WriteString("error: " + err.Error() + "\n")
			}
			golden := path + ".golden"
			if *rdUpdateGolden {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestReadManifestsGolden -update-manifests)", err)
			}
			if b.String() != string(want) {
				t.Errorf("got:\n%s\nwant (%s):\n%s", b.String(), golden, want)
			}
		})
	}
	if n < 8 {
		t.Errorf("found %d fixtures in %s", n, rdManifests)
	}
}

// rdFuzzSeeds adds the fixtures of one format, and small corpus files, as
// seeds.
func rdFuzzSeeds(f *testing.F, format Format, extra ...string) {
	paths, _ := filepath.Glob(filepath.Join(rdManifests, "*"))
	for _, p := range paths {
		if got, err := DetectFormat(p); err == nil && got == format && !strings.HasSuffix(p, ".golden") {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data, false)
			}
		}
	}
	for _, s := range extra {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
}

// rdFuzzRead reads data and checks what every reader promises: no panic,
// no error but the documented limits, every problem and error placed in
// the file at a line that exists, and every rule complete, placed and in
// file order.
func rdFuzzRead(t *testing.T, format Format, data []byte, small bool) {
	const name = "fuzz.manifest"
	opt := ReadOptions{Format: format}
	if small {
		opt.MaxLineBytes, opt.SkipUnsupported, opt.DefaultStatus = 40, true, 302
	}
	rules, problems, err := Read(name, bytes.NewReader(data), opt)
	var be *BinaryError
	if errors.As(err, &be) {
		// Binary data: refused as a whole, at its first NUL byte, which is
		// near the start.
		if be.File != name || be.Offset != int64(bytes.IndexByte(data, 0)) || be.Offset >= binarySniffBytes+3 ||
			len(rules)+len(problems) != 0 {
			t.Errorf("binary data: %v (first NUL at %d), %d rules, %d problems", err, bytes.IndexByte(data, 0), len(rules), len(problems))
		}
		return
	}
	if err != nil && !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("Read: %v", err)
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	if err != nil {
		// An error that stops reading names the place too.
		var le *LimitError
		if !errors.As(err, &le) || le.Pos.File != name || le.Pos.Line < 1 || le.Pos.Line > lines ||
			!strings.HasPrefix(err.Error(), le.Pos.String()+": ") {
			t.Errorf("error %q: want %s:LINE with a line in 1..%d", err, name, lines)
		}
	}
	for _, p := range problems {
		if p.Pos.File != name || p.Pos.Line < 1 || p.Pos.Line > lines || p.Msg == "" {
			t.Errorf("problem %q: want %s at a line in 1..%d and a message", p, name, lines)
		}
	}
	prev := 0
	for _, r := range rules {
		if r.Pos.File != name || r.Pos.Line < prev || r.Pos.Line > lines {
			t.Errorf("rule %+v: want %s at a line in %d..%d", r, name, prev, lines)
		}
		prev = r.Pos.Line
		if r.Source == "" || r.Destination == "" && r.Status != 410 || !redirectStatus(r.Status) {
			t.Errorf("incomplete rule %+v", r)
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	rdFuzzSeeds(f, FormatCSV,
		"source,destination\n/a,/b\n",
		"source,destination,permanent,status,sensitive,query,expires\n\"/a\n\",/b,t,301,f,true,2030-01-01T00:00:00Z\n/c,\"/d\"\"\",,,,,\n",
		"source,destination\n/a,\"/b\n",
		"\xef\xbb\xbfsource,destination\n/a,/b\x00\n") // binary data
	f.Fuzz(func(t *testing.T, data []byte, small bool) { rdFuzzRead(t, FormatCSV, data, small) })
}

func FuzzReadJSON(f *testing.F) {
	rdFuzzSeeds(f, FormatJSON,
		`[{"source":"/a","destination":"/b","permanent":true}]`,
		`{"redirects":[{"source":"/a/:p*","destination":"/b/:p"},{"source":"/:x(\\d+)","destination":"/"}],"x":{"y":[1,{"z":null}]}}`,
		"[\n{\"source\":\"/a\",\n\"destination\":\"/b\"}\n{")
	f.Fuzz(func(t *testing.T, data []byte, small bool) { rdFuzzRead(t, FormatJSON, data, small) })
}

// FuzzReadJSONL also checks the hand-written JSON object scanner against
// encoding/json: the same inputs are valid, and keys and strings decode
// to the same text.
func FuzzReadJSONL(f *testing.F) {
	rdFuzzSeeds(f, FormatJSONL,
		`{"source":"/a","destination":"/b","statusCode":301}`,
		`{"source":"/\u00e9\ud800\ud83d\ude00\\\"","destination":"\ud83d","has":[{"a":[true,false,null,-1.5e+3]}]}`,
		"{\"source\":\"/a\xff\",\"x\":{}}\n \n{\"source\":1e5}\n[]\n\"s\"")
	f.Fuzz(func(t *testing.T, data []byte, small bool) {
		rdFuzzRead(t, FormatJSONL, data, small)
		rdFuzzJSONScanner(t, data)
	})
}

func rdFuzzJSONScanner(t *testing.T, data []byte) {
	type member struct {
		kind byte
		v    string
	}
	got := map[string]member{}
	p := jsonScanner{b: data}
	ok := p.object(func(key []byte, kind byte, v []byte) {
		m := member{kind: kind, v: string(v)}
		if kind == '"' {
			m.v = string(appendJSONUnquoted(nil, v[1:len(v)-1]))
		}
		got[string(key)] = m
	})
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	want := json.Valid(data) && len(trimmed) > 0 && trimmed[0] == '{'
	if ok != want {
		t.Fatalf("jsonScanner says valid=%v (%s), encoding/json says %v", ok, p.err, want)
	}
	if !ok {
		return
	}
	var std map[string]json.RawMessage
	if err := json.Unmarshal(data, &std); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	if len(std) != len(got) {
		t.Fatalf("keys: got %d, encoding/json %d", len(got), len(std))
	}
	for k, raw := range std {
		m, ok := got[k]
		if !ok {
			t.Fatalf("key %q missing", k)
		}
		if m.kind != '"' {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || s != m.v {
			t.Fatalf("key %q: got %q, encoding/json %q (%v)", k, m.v, s, err)
		}
	}
}

func FuzzReadNetlify(f *testing.F) {
	rdFuzzSeeds(f, FormatNetlify,
		"/a /b 301!\n/c/* https://x/:splat 302 Country=us\n# c\n/d k=v /e#f # g\n",
		"http:// /to\n/a\n/a 410\n/b/* 200\n/:x /y\n")
	// The netlify/build parser fixtures, when the corpora are present.
	fixtures, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpora", "netlify-redirect-parser-fixtures", "redirects_file", "*"))
	for _, p := range fixtures {
		if data, err := os.ReadFile(p); err == nil && len(data) < 4096 {
			f.Add(data, false)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, small bool) { rdFuzzRead(t, FormatNetlify, data, small) })
}

func FuzzReadTSV(f *testing.F) {
	rdFuzzSeeds(f, FormatTSV,
		"/a\t/b\n/c d\t/e\t302\r\n#x\n\n/f\t\t410\n",
		"/a /b\n\t\n/a\t/b\t1\t2\n")
	f.Fuzz(func(t *testing.T, data []byte, small bool) { rdFuzzRead(t, FormatTSV, data, small) })
}
