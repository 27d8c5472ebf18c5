package server

import (
	"bytes"
	"net/http"
	"testing"
)

func TestCheckHeaderBlock(t *testing.T) {
	for _, c := range []struct {
		raw    string
		http10 bool
		want   int
	}{
		{"Host: a\r\n\r\n", false, 0},
		{"host: a.example:80\r\nX-A: b\r\n\r\n", false, 0},
		{"X-A: b\r\n\r\n", false, http.StatusBadRequest}, // no Host
		{"X-A: b\r\n\r\n", true, 0},
		{"Host: a\r\nHOST: a\r\n\r\n", false, http.StatusBadRequest},
		{"Host: a b\r\n\r\n", false, http.StatusBadRequest},
		{"Host: a/b\r\n\r\n", false, http.StatusBadRequest},
		{"Host: [::1]:8080\r\n\r\n", false, 0},
		{"Host: a\r\nX A: b\r\n\r\n", false, http.StatusBadRequest},
		{"Host: a\r\n: b\r\n\r\n", false, http.StatusBadRequest},
		{"Host: a\r\nX(A): b\r\n\r\n", false, http.StatusBadRequest},
		{"Host: a\r\nno colon\r\n\r\n", false, http.StatusBadRequest},
		{"Host: a\r\nExpect: 100-continue\r\n\r\n", false, 0},
		{"Host: a\r\nexpect: 100-Continue\r\n\r\n", false, 0},
		{"Host: a\r\nExpect: 200-ok\r\n\r\n", false, http.StatusExpectationFailed},
		{"Host: a\nX-A: b\n\n", false, 0},
		{"", false, http.StatusBadRequest},
	} {
		if got := checkHeaderBlock([]byte(c.raw), c.http10); got != c.want {
			t.Errorf("checkHeaderBlock(%q, %v) = %d, want %d", c.raw, c.http10, got, c.want)
		}
	}
}

// FuzzCheckHeaderBlock: the header check never panics, accepts only blocks
// whose names are tokens and that have at most one valid Host, and gives
// the same verdict whatever follows the blank line that ends the block.
func FuzzCheckHeaderBlock(f *testing.F) {
	for _, s := range []string{"Host: a\r\n\r\n", "Host: a\r\nHost: b\r\n\r\n", "X A: b\r\n\r\n", "Host: a\nExpect: x\n\n", "Host:\r\n\r\n", ":\r\n"} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, raw []byte, http10 bool) {
		got := checkHeaderBlock(raw, http10)
		switch got {
		case 0, http.StatusBadRequest, http.StatusExpectationFailed:
		default:
			t.Fatalf("checkHeaderBlock(%q) = %d", raw, got)
		}
		if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
			block := raw[:i+4]
			if again := checkHeaderBlock(append(append([]byte(nil), block...), "X Y\x00: z\r\n"...), http10); again != checkHeaderBlock(block, http10) {
				t.Fatalf("bytes after the block changed the verdict on %q", raw)
			}
		}
		if got != 0 {
			return
		}
		hosts := 0
		for _, line := range bytes.Split(raw, []byte("\n")) {
			line = bytes.TrimSuffix(line, []byte("\r"))
			if len(line) == 0 {
				break
			}
			name, value, ok := bytes.Cut(line, []byte(":"))
			if !ok || !validToken(name) {
				t.Fatalf("accepted a line that is no header: %q in %q", line, raw)
			}
			if bytes.EqualFold(name, []byte("Host")) {
				hosts++
				if !validHost(bytes.Trim(value, " \t")) {
					t.Fatalf("accepted Host %q", value)
				}
			}
		}
		if hosts > 1 || hosts == 0 && !http10 {
			t.Fatalf("accepted %d Hosts in %q", hosts, raw)
		}
	})
}
