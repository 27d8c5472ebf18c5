package compiler

import (
	"os"
	"strings"
	"testing"
)

func TestReadTSV(t *testing.T) {
	rdRun(t, "map.tsv", []readCase{
		{name: "basic",
			in: "# comment\n\n/a\t/b\n/c d\t/e\t302\n/en-US/docs/Web/CSS/:hover\thttps://x.example/y#frag\n   \n\t\n",
			rules: []string{
				"3 /a -> /b 301",
				"4 /c d -> /e 302",
				"5 /en-US/docs/Web/CSS/:hover -> https://x.example/y#frag 301",
			}},
		{name: "every bad line reported",
			in: "/ok\t/1\n/a /b\n/c\t/d\tabc\n/e\t/f\t301\textra\n/g\t/h\t200\n\t/i\n/j\t\n/k\t/l\t 308 \n/gone\t\t410\n/m\t/n\t\n/no-end-newline\t/o",
			rules: []string{
				"1 /ok -> /1 301",
				"8 /k -> /l 308",
				"9 /gone ->  410",
				"10 /m -> /n 301",
				"11 /no-end-newline -> /o 301",
			},
			problems: []string{
				"2 error: no tab",
				"3 error: invalid status \"abc\"",
				"4 error: 4 columns",
				"5 error: status 200 is not one of",
				"6 error: missing source",
				"7 error: missing destination",
			}},
		{name: "default status", opt: ReadOptions{DefaultStatus: 308},
			in:    "/a\t/b\n/c\t/d\t302\n",
			rules: []string{"1 /a -> /b 308", "2 /c -> /d 302"}},
		{name: "empty", in: ""},
		{name: "CR inside a field is kept",
			in:    "/a\r\t/b\r\n",
			rules: []string{"1 /a\r -> /b 301"}},
	})
}

// TestReadTSVCorpusMDN reads MDN's real redirect map: 13,432 exact rules,
// sources with ":", spaces, brackets and "?".
func TestReadTSVCorpusMDN(t *testing.T) {
	path := rdCorpus(t, "mdn-en-us/_redirects.txt")
	rules, problems, err := ReadFile(path, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("problem: %s", p)
	}
	if len(rules) != 13432 {
		t.Errorf("read %d rules, want 13432", len(rules))
	}
	var colon, space, abs int
	for _, r := range rules {
		if strings.Contains(r.Source, ":") {
			colon++
		}
		if strings.Contains(r.Source, " ") {
			space++
		}
		if strings.HasPrefix(r.Destination, "http") {
			abs++
		}
		if r.Status != 301 {
			t.Fatalf("%s: status %d", r.Pos, r.Status)
		}
	}
	if colon != 1205 || space != 8 || abs != 704 {
		t.Errorf("sources with ':' %d (want 1205), with ' ' %d (want 8), absolute destinations %d (want 704)", colon, space, abs)
	}
	// Line numbers are the file's: the first rule follows the 6-line header.
	if rules[0].Pos.Line != 7 {
		t.Errorf("first rule at %s, want line 7", rules[0].Pos)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(string(data), "\n")
	last := rules[len(rules)-1]
	if got := lines[last.Pos.Line-1]; got != last.Source+"\t"+last.Destination {
		t.Errorf("last rule %s is %q in the file", last.Pos, got)
	}
}

func TestReadTSVCorpusMDNHistory(t *testing.T) {
	for _, f := range []struct {
		name  string
		rules int
	}{
		{"_redirects.2020-12-28.e0944f1000286927354b301efa5fe10efff2320d.txt", 14798},
		{"_redirects.2022-12-28.bcd455ed3f2de2ff60a982f6059f66fc71a3028d.txt", 13402},
	} {
		path := rdCorpus(t, "mdn-en-us/history/"+f.name)
		rules, problems, err := ReadFile(path, ReadOptions{})
		if err != nil || len(problems) != 0 || len(rules) != f.rules {
			t.Errorf("%s: %d rules (want %d), %d problems %v, err %v", f.name, len(rules), f.rules, len(problems), problems, err)
		}
	}
}
