package server

import (
	"strings"
	"testing"
	"time"
)

// conformance cases: raw bytes sent to both engines. A verdict is the
// statuses of the responses read (up to three) and whether the server
// closed the connection after them ("open": it waits for more). Both
// engines must give want, except where fast says what the fasthttp
// engine answers instead and why; every such difference is a refusal or a
// closed connection where net/http is more lenient, never a request
// answered that net/http refuses, and never a request read differently
// (README, "Serving engines", lists them).
var conformance = []struct {
	name string
	req  string
	want string // the verdict of both engines
	fast string // the fasthttp engine's verdict, where it differs
	why  string
}{
	{"plain hit", "GET /x HTTP/1.1\r\nHost: a\r\n\r\n", "301 open", "", ""},
	{"CL and TE", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n", "301,301 open", "301 closed", "fasthttp answers the first and closes the connection (RFC 9112 6.3: a server MUST close after a request with both); net/http reads the chunked body and goes on"},
	{"two CLs", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "400 closed", "", ""},
	{"two equal CLs", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", "301 open", "400 closed", "fasthttp refuses any second Content-Length; net/http accepts equal copies"},
	{"bad CL", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\nhello", "400 closed", "", ""},
	{"negative CL", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "400 closed", "", ""},
	{"bad chunk size", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", "301 closed", "", ""},
	{"huge chunk size", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n", "301 closed", "", ""},
	{"unknown TE", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "501 closed", "", ""},
	{"TE gzip, chunked", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "501 closed", "", ""},
	{"body read, then next", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /x HTTP/1.1\r\nHost: a\r\n\r\n", "301,301 open", "", ""},
	{"chunked body, then next", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n", "301,301 open", "", ""},
	{"obs-fold", "GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", "301 open", "400 closed", "fasthttp refuses obs-fold (RFC 9112 5.2 allows 400); net/http joins the lines"},
	{"space before colon", "GET /x HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", "400 closed", "", ""},
	{"space before colon CL", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello", "400 closed", "", ""},
	{"NUL in header value", "GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n", "400 closed", "", ""},
	{"CTL in header value", "GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\x01c\r\n\r\n", "400 closed", "", ""},
	{"bare CR in header", "GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", "400 closed", "", ""},
	{"NUL in header name", "GET /x HTTP/1.1\r\nHost: a\r\nX\x00A: b\r\n\r\n", "400 closed", "", ""},
	{"NUL in target", "GET /x\x00y HTTP/1.1\r\nHost: a\r\n\r\n", "400 closed", "", ""},
	{"CTL in target", "GET /x\x01y HTTP/1.1\r\nHost: a\r\n\r\n", "400 closed", "", ""},
	{"space in target", "GET /x y HTTP/1.1\r\nHost: a\r\n\r\n", "400 closed", "", ""},
	{"bad escape in target", "GET /x%zz HTTP/1.1\r\nHost: a\r\n\r\n", "400 closed", "", ""},
	{"absolute-form", "GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n", "301 open", "", ""},
	{"absolute-form other host", "GET http://b/x HTTP/1.1\r\nHost: a\r\n\r\n", "301 open", "", ""},
	{"asterisk OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "200 open", "", ""},
	{"asterisk GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", "404 open", "400 closed", "fasthttp refuses * with a method other than OPTIONS; net/http looks up the path \"*\" and misses"},
	{"expect 100-continue", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello", "301 closed", "100,301 open", "fasthttp sends 100 Continue before reading the body it will read; net/http never reads it and closes"},
	{"expect other", "GET /x HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", "417 closed", "", ""},
	{"unknown method", "FOO /x HTTP/1.1\r\nHost: a\r\n\r\n", "301 open", "", ""},
	{"bad method", "G(T /x HTTP/1.1\r\nHost: a\r\n\r\n", "400 closed", "", ""},
	{"pipelined bad middle", "GET /x HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n", "301,400 closed", "", ""},
	{"missing Host", "GET /x HTTP/1.1\r\n\r\n", "400 closed", "", ""},
	{"missing Host 1.0", "GET /x HTTP/1.0\r\n\r\n", "301 closed", "", ""},
	{"two Hosts", "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400 closed", "", ""},
	{"bad Host", "GET /x HTTP/1.1\r\nHost: a b\r\n\r\n", "400 closed", "", ""},
	{"empty Host", "GET /x HTTP/1.1\r\nHost:\r\n\r\n", "301 open", "400 closed", "fasthttp refuses an empty Host (RFC 9112 3.2 allows it)"},
	{"TLS hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + strings.Repeat("\x00", 40), "400 closed", " closed", "both wait for a request line until the header timeout; fasthttp then closes the connection, net/http answers 400 and closes"},
	{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "404 closed", "400 closed", "fasthttp refuses PRI *; net/http answers it 404"},
	{"HTTP/0.9", "GET /x\r\n\r\n", "400 closed", "", ""},
	{"HTTP/1.2", "GET /x HTTP/1.2\r\nHost: a\r\n\r\n", "301 open", "301 closed", "fasthttp keeps only HTTP/1.1 connections alive"},
	{"HTTP/2.0 line", "GET /x HTTP/2.0\r\nHost: a\r\n\r\n", "505 closed", "", ""},
	{"LF only", "GET /x HTTP/1.1\nHost: a\n\n", "301 open", " closed", "fasthttp waits for CRLF line ends until the header timeout, then closes; net/http also takes bare LF"},
	{"HTTP/1.0 keep-alive", "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /x HTTP/1.0\r\n\r\n", "301,301 closed", "", ""},
	{"HTTP/1.0", "GET /x HTTP/1.0\r\n\r\nGET /x HTTP/1.0\r\n\r\n", "301 closed", "", ""},
	{"Connection close", "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n", "301 closed", "", ""},
	{"HEAD", "HEAD /x HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n", "301,301 closed", "", ""},
	{"long request line", "GET /" + strings.Repeat("a", 80<<10) + " HTTP/1.1\r\nHost: a\r\n\r\n", "431 closed", "", ""},
	{"long header block", "GET /x HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-A: "+strings.Repeat("b", 1000)+"\r\n", 80) + "\r\n", "431 closed", "", ""},
}

func TestConformance(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, "/x /y")
	addrs := map[string]string{}
	for _, e := range engines {
		_, addr, _, _ := serveEngine(t, e, dir, Options{ReadHeaderTimeout: 2 * time.Second})
		addrs[e] = addr
	}
	for _, c := range conformance {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			verdicts := map[string]string{}
			for _, e := range engines {
				method := "GET"
				if strings.HasPrefix(c.req, "HEAD") {
					method = "HEAD"
				}
				rs, closed := exchange(t, addrs[e], c.req, method, 3)
				v := statuses(rs)
				if closed {
					v += " closed"
				} else {
					v += " open"
				}
				verdicts[e] = v
			}
			if got := verdicts[EngineNetHTTP]; got != c.want {
				t.Errorf("net/http: %q, want %q", got, c.want)
			}
			want := c.want
			if c.fast != "" {
				want = c.fast
			}
			if got := verdicts[EngineFast]; got != want {
				t.Errorf("fasthttp: %q, want %q (net/http: %q)", got, want, verdicts[EngineNetHTTP])
			}
		})
	}
}
