package compiler

import (
	"errors"
	"strings"
	"testing"
)

func TestOptionString(t *testing.T) {
	for o, want := range map[Option]string{
		OptionFormat: "Format", OptionMaxLineBytes: "MaxLineBytes", OptionMaxInputBytes: "MaxInputBytes",
		OptionMaxSourceBytes: "MaxSourceBytes", OptionMaxDestBytes: "MaxDestBytes",
		OptionStrictTrailingSlash: "StrictTrailingSlash", Option(200): "Option(200)",
	} {
		if o.String() != want {
			t.Errorf("Option(%d).String() = %q, want %q", o, o.String(), want)
		}
	}
}

// TestLimitError checks that the limits that stop reading come back as a
// *LimitError with the place, the option and the numbers, matching the
// sentinels, and that Message names the option as asked.
func TestLimitError(t *testing.T) {
	flag := func(o Option) string { return "--" + strings.ToLower(o.String()) }
	for _, c := range []struct {
		name, in  string
		opt       ReadOptions
		want      LimitError
		sentinel  error
		text, cli string
	}{
		{"x.json", "[\n" + `{"source":"/a","destination":"/` + strings.Repeat("b", 100) + `"}]`, ReadOptions{MaxLineBytes: 50},
			LimitError{Pos: Pos{"x.json", 2}, Limit: OptionMaxLineBytes, Max: 50, Size: 133}, ErrLineTooLong,
			"x.json:2: rule object of 133 bytes is longer than 50 bytes (MaxLineBytes)",
			"x.json:2: rule object of 133 bytes is longer than 50 bytes (--maxlinebytes)"},
		{"x.json", "[" + strings.Repeat(" ", 5000), ReadOptions{MaxLineBytes: 50},
			LimitError{Pos: Pos{"x.json", 1}, Limit: OptionMaxLineBytes, Max: 50}, ErrLineTooLong,
			"x.json:1: JSON value longer than 50 bytes (MaxLineBytes)", "(--maxlinebytes)"},
		{"x.tsv", "/a\t/b\n/c\t/d\n", ReadOptions{MaxInputBytes: 8},
			LimitError{Pos: Pos{"x.tsv", 0}, Limit: OptionMaxInputBytes, Max: 8}, ErrInputTooLarge,
			"x.tsv: stopped after 8 bytes: compiler: manifest larger than the input limit (MaxInputBytes); raise the limit",
			"(--maxinputbytes); raise"},
	} {
		_, _, err := Read(c.name, strings.NewReader(c.in), c.opt)
		var le *LimitError
		if !errors.As(err, &le) || !errors.Is(err, c.sentinel) {
			t.Errorf("%s: err = %v, want a LimitError matching %v", c.name, err, c.sentinel)
			continue
		}
		if le.Pos != c.want.Pos || le.Limit != c.want.Limit || le.Max != c.want.Max || le.Size != c.want.Size {
			t.Errorf("%s: %+v, want %+v", c.name, *le, c.want)
		}
		if !strings.HasPrefix(le.Error(), c.text) || !strings.Contains(le.Message(flag), c.cli) {
			t.Errorf("%s: Error() = %q, Message = %q; want %q and %q", c.name, le.Error(), le.Message(flag), c.text, c.cli)
		}
	}
}

// TestProblemHints checks that problems about an option carry it as a
// Hint, name no command-line flag in Msg, and render it with Message.
func TestProblemHints(t *testing.T) {
	_, probs, err := Read("x.tsv", strings.NewReader("/"+strings.Repeat("a", 40)+"\t/b\n/a /b\n"), ReadOptions{MaxLineBytes: 20})
	if err != nil {
		t.Fatal(err)
	}
	probs = append(probs, Check([]Rule{
		{Source: "/" + strings.Repeat("s", 20), Destination: "/d", Status: 301, Pos: Pos{"y", 1}},
		{Source: "/s", Destination: "/" + strings.Repeat("d", 20), Status: 301, Pos: Pos{"y", 2}},
		{Source: "/t", Destination: "/d", Status: 301, Pos: Pos{"y", 3}},
		{Source: "/t/", Destination: "/e", Status: 301, Pos: Pos{"y", 4}},
	}, Options{MaxSourceBytes: 10, MaxDestBytes: 10})...)
	want := []struct {
		hint Hint
		msg  string
	}{
		{HintMaxLineBytes, "x.tsv:1: error: line is longer than 20 bytes; skipped (MaxLineBytes)"},
		{HintFormatNetlify, "x.tsv:2: error: no tab: TSV lines are SOURCE<TAB>DESTINATION[<TAB>STATUS] (for a Netlify _redirects file use Format netlify)"},
		{HintMaxSourceBytes, "y:1: error: source is 21 bytes long, over the limit of 10 (MaxSourceBytes)"},
		{HintMaxDestBytes, "y:2: error: destination is 21 bytes long, over the limit of 10 (MaxDestBytes)"},
		{HintStrictTrailingSlash, "y:4: error: conflicting rule: /t/ is already defined at y:3 (301 /d) but here it is 301 /e " +
			"(paths that differ only by a trailing slash are one path unless built with StrictTrailingSlash)"},
	}
	if len(probs) != len(want) {
		t.Fatalf("got %d problems, want %d: %v", len(probs), len(want), probs)
	}
	for i, p := range probs {
		if p.Hint != want[i].hint || p.String() != want[i].msg {
			t.Errorf("problem %d: %q (hint %d), want %q (hint %d)", i, p, p.Hint, want[i].msg, want[i].hint)
		}
		if opt := p.Hint.Option().String(); strings.Contains(p.Msg, opt) || strings.Contains(p.Msg, "--") {
			t.Errorf("problem %d: Msg %q names an option itself", i, p.Msg)
		}
		if got := p.Message(func(Option) string { return "FLAG" }); !strings.Contains(got, "FLAG") {
			t.Errorf("problem %d: Message with names = %q", i, got)
		}
	}
}
