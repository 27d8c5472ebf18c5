package clicks

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// valid replaces every byte that is not part of valid UTF-8 with U+FFFD,
// as AppendJSON does.
func valid(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\ufffd")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// FuzzParseLine checks that ParseLine never panics on any line, and that
// any click written by AppendJSON reads back the same.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"time":"2026-11-29 10:06:23","host":"sho.rt","path":"/aB3xYz","status":302,"referrer":"news.example","agent":"human","visitor":"9f3c0a1b2c3d4e5f"}`), "/p", "h", "r", int64(0), uint64(1))
	f.Add([]byte(`{"time":"2026-11-29T10:06:23Z","path":"/\u00e9\"","status":410}`), "/a\"\\\x00\xff", "", "", int64(-1e9), uint64(0))
	f.Fuzz(func(t *testing.T, line []byte, path, host, ref string, unix int64, visitor uint64) {
		var rc RawClick
		ParseLine(line, &rc, nil) // must not panic

		unix = unix % (1 << 37) // years 0..9999 keep TimeLayout fixed-width
		if unix < -62135596800 || unix > 253402300799 {
			return
		}
		c := Click{Time: time.Unix(unix, 0), Host: host, Path: path, Status: 302, Referrer: ref, Agent: AgentScanner, Visitor: visitor}
		if _, err := ParseLine(c.AppendJSON(nil), &rc, nil); err != nil {
			t.Fatalf("ParseLine(AppendJSON(%+v)): %v", c, err)
		}
		if rc.Unix != unix || string(rc.Path) != valid(path) || string(rc.Host) != valid(host) || string(rc.Referrer) != valid(ref) || rc.Visitor != visitor || rc.Agent != AgentScanner {
			t.Fatalf("round trip of %+v gave %+v", c, rc)
		}
	})
}
