package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redirc/redirc/runtime/server"
)

// This file treats `redirc serve` as what it is in production: a server on
// the public internet. Requests are written byte for byte on raw TCP
// connections, so that nothing a Go client would clean up or refuse to send
// stands between the attacker and the server, and responses are read as
// raw bytes, so that an injected header line would be seen as such.

// rawResponse is a response as it came off the wire.
type rawResponse struct {
	status  int
	lines   []string // header lines, without CRLF, as sent
	headers map[string][]string
}

func (r rawResponse) get(name string) string {
	if v := r.headers[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// rawExchange sends req verbatim on a new connection to addr and reads the
// status line and header block of the response. The request should ask for
// "Connection: close" when it is complete.
func rawExchange(t *testing.T, addr, req string) rawResponse {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("writing %q: %v", req, err)
	}
	r, err := readRawResponse(bufio.NewReader(c))
	if err != nil {
		t.Fatalf("request %q: %v", req, err)
	}
	return r
}

// readRawResponse reads a status line and header lines up to the blank line.
func readRawResponse(br *bufio.Reader) (rawResponse, error) {
	r := rawResponse{headers: map[string][]string{}}
	status, err := br.ReadString('\n')
	if err != nil {
		return r, fmt.Errorf("reading the status line: %w", err)
	}
	f := strings.Fields(status)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") {
		return r, fmt.Errorf("bad status line %q", status)
	}
	if r.status, err = strconv.Atoi(f[1]); err != nil {
		return r, fmt.Errorf("bad status line %q", status)
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return r, fmt.Errorf("reading headers: %w", err)
		}
		if !strings.HasSuffix(l, "\r\n") {
			return r, fmt.Errorf("header line %q not ended by CRLF", l)
		}
		l = strings.TrimSuffix(l, "\r\n")
		if l == "" {
			return r, nil
		}
		r.lines = append(r.lines, l)
		name, val, ok := strings.Cut(l, ": ")
		if !ok {
			return r, fmt.Errorf("malformed header line %q", l)
		}
		r.headers[strings.ToLower(name)] = append(r.headers[strings.ToLower(name)], val)
	}
}

// attackRules serve every request path tested below.
var attackRules = []string{
	"/r/* /:splat 301",                           // relative destination, splat first
	"/a/* https://site.example/:splat 301",       // absolute destination
	"/q/* /x/:splat 302 query",                   // splat and preserved query
	"/keep https://site.example/k?a=1 302 query", // preserved query, absolute
	"/rel /plain 307 query",                      // preserved query, relative
}

// checkHeaderBlock fails unless every header line is a well-formed
// "Name: value" without control bytes, and no header an attacker might
// have smuggled in is present.
func checkHeaderBlock(t *testing.T, what string, r rawResponse) {
	t.Helper()
	for _, l := range r.lines {
		name, val, _ := strings.Cut(l, ": ")
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				t.Errorf("%s: header name %q", what, name)
			}
		}
		for i := 0; i < len(val); i++ {
			if c := val[i]; c < 0x20 && c != '\t' || c == 0x7f {
				t.Errorf("%s: control byte %#x in header %q", what, c, l)
			}
		}
	}
	for _, h := range []string{"set-cookie", "x-injected", "refresh"} {
		if v := r.headers[h]; len(v) > 0 {
			t.Errorf("%s: smuggled header %s: %q", what, h, v)
		}
	}
	if v := r.headers["location"]; len(v) > 1 {
		t.Errorf("%s: %d Location headers: %q", what, len(v), v)
	}
	// A Location is sent exactly as the redirect's target: no spaces (Go's
	// header writer turns CR and LF into spaces), no control or non-ASCII
	// bytes, no backslashes (browsers read them as slashes).
	loc := r.get("Location")
	for i := 0; i < len(loc); i++ {
		if c := loc[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			t.Errorf("%s: byte %#x in Location %q", what, c, loc)
		}
	}
}

// TestServeNoHeaderInjection sends CR, LF, NUL and other control bytes,
// raw and percent-encoded, and raw non-ASCII bytes, in the part of the path
// a prefix rule copies into the Location (:splat) and in a query string
// that a rule preserves. Whatever the Go server lets through, the
// Location must stay one clean header.
func TestServeNoHeaderInjection(t *testing.T) { forEngines(t, testServeNoHeaderInjection) }

func testServeNoHeaderInjection(t *testing.T, engine string) {
	build := t.TempDir()
	writeServeBuild(t, build, attackRules...)
	s := startServe(t, "--engine", engine, build)
	addr := strings.TrimPrefix(s.base, "http://")

	injections := []string{
		"%0D%0ASet-Cookie:%20sid=stolen",
		"%0d%0aX-Injected:%201",
		"%0AX-Injected:%201",
		"%0DX-Injected:%201",
		"%00X-Injected",
		"%E5%98%8A%E5%98%8DX-Injected:%201", // U+560A U+560D: their low bytes are LF and CR
		"\xc3\xa9\xff\xfe\x80",              // raw non-ASCII, invalid UTF-8
		"%0D%0A%0D%0A<script>alert(1)</script>",
		"%7F%1B[31m",
		"a%09b%0Bc%0Cd",
	}
	hits := 0
	for _, inj := range injections {
		for _, target := range []string{
			"/r/" + inj,
			"/q/" + inj + "?" + inj,
			"/q/x?a=" + inj + "&b=%0D%0AX-Injected:%202",
			"/keep?" + inj,
			"/rel?" + inj + "#frag",
			"/a/" + inj,
		} {
			r := rawExchange(t, addr, "GET "+target+" HTTP/1.1\r\nHost: redirc.test\r\nConnection: close\r\n\r\n")
			checkHeaderBlock(t, "GET "+target, r)
			if r.status < 300 || r.status > 308 || r.get("Location") == "" {
				t.Errorf("GET %q: status %d Location %q, want a redirect", target, r.status, r.get("Location"))
				continue
			}
			hits++
		}
	}
	// Raw control bytes in the request line never reach the handler: Go's
	// server refuses them with 400 and no Location.
	for _, target := range []string{"/keep?a=\x01", "/r/\x00", "/q/x\x7f", "/rel?a=\x0bb", "/r/a\rX-Injected: 1"} {
		r := rawExchange(t, addr, "GET "+target+" HTTP/1.1\r\nHost: redirc.test\r\nConnection: close\r\n\r\n")
		checkHeaderBlock(t, fmt.Sprintf("GET %q", target), r)
		if r.status != 400 || r.get("Location") != "" {
			t.Errorf("GET %q: status %d Location %q, want 400 without a Location", target, r.status, r.get("Location"))
		}
	}
	t.Logf("%d redirects with hostile splats and queries, all with a clean Location", hits)
}

// openRedirectRemainders are what an attacker appends after a prefix rule's
// prefix to try to send visitors elsewhere.
var openRedirectRemainders = []string{
	"/evil.example", "//evil.example", "///evil.example/x", "%2F%2Fevil.example", "%2f/evil.example",
	"/%2Fevil.example", "\\evil.example", "/\\evil.example", "\\\\evil.example", "%5Cevil.example",
	"%5C%5Cevil.example", "/%5Cevil.example", "..", "../..", "../../evil.example", "..%2F..%2Fevil.example",
	"%2E%2E/%2E%2E//evil.example", "%2e%2e%2f%2e%2e%2fevil.example", ".%2E/evil.example", "./././/evil.example",
	"http://evil.example", "https:%2F%2Fevil.example", "@evil.example", "%40evil.example", ":@evil.example",
	"%09//evil.example", "%20//evil.example", "%E3%80%82evil.example", "evil.example%23@site.example",
	"?//evil.example", "%3F//evil.example", "#//evil.example",
}

// TestServeNoOpenRedirect sends the remainders above through a real
// server, in origin form, in absolute form (which sets the Host), and
// with a request target that itself starts with "//". A redirect to an
// absolute destination must keep its scheme and host; a redirect to a
// relative destination must stay a path on this site (one leading slash,
// never "//" or "/\", which browsers treat as another host). Misses that
// reach the static fallback must not redirect elsewhere either.
func TestServeNoOpenRedirect(t *testing.T) { forEngines(t, testServeNoOpenRedirect) }

func testServeNoOpenRedirect(t *testing.T, engine string) {
	build, site := t.TempDir(), t.TempDir()
	writeServeBuild(t, build, attackRules...)
	// A fallback directory whose layout makes http.FileServer redirect
	// (directory without trailing slash, /index.html): its redirects must
	// stay on this site too.
	for _, d := range []string{"evil.example", "sub"} {
		os.MkdirAll(filepath.Join(site, d), 0o755)
		os.WriteFile(filepath.Join(site, d, "index.html"), []byte("index of "+d), 0o644)
	}
	s := startServe(t, "--engine", engine, "--fallback", site, build)
	addr := strings.TrimPrefix(s.base, "http://")

	// checkLocation resolves loc the way a browser does (against the
	// request's URL, with backslashes read as slashes) and returns the host
	// it leads to.
	checkLocation := func(what, requestURL, loc string) string {
		t.Helper()
		if strings.ContainsAny(loc, "\\") {
			t.Errorf("%s: backslash in Location %q", what, loc)
		}
		base, err := url.Parse(requestURL)
		if err != nil {
			base, _ = url.Parse(s.base + "/")
		}
		ref, err := url.Parse(strings.ReplaceAll(loc, "\\", "/"))
		if err != nil {
			t.Errorf("%s: Location %q does not parse: %v", what, loc, err)
			return ""
		}
		return base.ResolveReference(ref).Host
	}

	type form struct {
		name   string
		target func(path string) string
		host   string
	}
	forms := []form{
		{"origin", func(p string) string { return p }, "redirc.test"},
		{"absolute", func(p string) string { return "http://evil.example" + p }, "redirc.test"},
		{"absolute-https", func(p string) string { return "https://evil.example" + p }, "evil.example"},
	}
	checked, refused := 0, 0
	for _, f := range forms {
		for _, rem := range openRedirectRemainders {
			for _, prefix := range []string{"/r/", "/a/", "/q/"} {
				path := prefix + rem
				target := f.target(path)
				what := fmt.Sprintf("%s GET %q", f.name, target)
				r := rawExchange(t, addr, "GET "+target+" HTTP/1.1\r\nHost: "+f.host+"\r\nConnection: close\r\n\r\n")
				checkHeaderBlock(t, what, r)
				loc := r.get("Location")
				if r.status == 400 {
					refused++ // Go refused the request line: nothing was looked up
					continue
				}
				if r.status < 301 || r.status > 308 || loc == "" {
					t.Errorf("%s: status %d Location %q, want a redirect", what, r.status, loc)
					continue
				}
				checked++
				host := checkLocation(what, "http://redirc.test"+path, loc)
				switch prefix {
				case "/a/":
					if !strings.HasPrefix(loc, "https://site.example/") || host != "site.example" {
						t.Errorf("%s: Location %q leaves https://site.example/ (host %q)", what, loc, host)
					}
				default:
					if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") || host != "redirc.test" {
						t.Errorf("%s: relative Location %q is not a path on this site (host %q)", what, loc, host)
					}
				}
			}
		}
	}

	// Request targets that start with "//" (or "/\"), with no rule of their
	// own: misses, answered by the fallback, which must not send the
	// visitor to another host either.
	for _, target := range []string{
		"//evil.example", "//evil.example/", "//evil.example/index.html", "///evil.example",
		"/\\evil.example", "//evil.example/%2e%2e", "/sub", "/sub/index.html", "//sub", "http://evil.example//evil.example",
	} {
		what := fmt.Sprintf("fallback GET %q", target)
		r := rawExchange(t, addr, "GET "+target+" HTTP/1.1\r\nHost: redirc.test\r\nConnection: close\r\n\r\n")
		checkHeaderBlock(t, what, r)
		if loc := r.get("Location"); loc != "" {
			path := target
			if u, err := url.Parse(target); err == nil && u.Host != "" {
				path = u.Path
			}
			if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") || strings.Contains(loc, "://") {
				t.Errorf("%s: %d Location %q is not relative to this site", what, r.status, loc)
			} else if host := checkLocation(what, "http://redirc.test"+path, loc); host != "redirc.test" {
				t.Errorf("%s: %d Location %q leads to host %q", what, r.status, loc, host)
			}
			checked++
		} else if r.status >= 300 && r.status < 400 {
			t.Errorf("%s: redirect %d without a Location", what, r.status)
		}
	}
	t.Logf("%d redirects checked, none left its site; %d request lines refused by Go's server with 400", checked, refused)
}

// TestServeSlowAndHugeRequests attacks `redirc serve`, with its own
// http.Server settings (short limits given as flags), over real sockets:
// header bytes trickled slower than --read-header-timeout allows, headers
// and request lines over --max-header-bytes, hundreds of connections that
// send nothing or half a request. Throughout, an ordinary client must get
// every answer; the attacking connections must be cut off. (Deadlines in
// this test are generous and only catch a server that never acts.)
func TestServeSlowAndHugeRequests(t *testing.T) { forEngines(t, testServeSlowAndHugeRequests) }

func testServeSlowAndHugeRequests(t *testing.T, engine string) {
	build := t.TempDir()
	writeServeBuild(t, build, serveRules...)
	s := startServe(t, "--engine", engine, "--read-header-timeout", "300ms", "--idle-timeout", "500ms", "--max-header-bytes", "4096", build)
	addr := strings.TrimPrefix(s.base, "http://")
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// closedByServer waits (up to a generous deadline) for the server to
	// close c, returning what it sent before and whether it did close.
	closedByServer := func(c net.Conn) (string, bool) {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		b, err := io.ReadAll(c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return string(b), false
		}
		return string(b), true
	}

	// Hold many idle and half-open connections for the whole test.
	const idle = 300
	var idleConns []net.Conn
	for i := range idle {
		c := dial()
		if i%2 == 1 {
			io.WriteString(c, "GET /perm HTTP/1.1\r\nHost: x\r\n") // half a request
		}
		idleConns = append(idleConns, c)
	}
	defer func() {
		for _, c := range idleConns {
			c.Close()
		}
	}()

	// Slowloris: 20 connections trickling one header line every 50ms.
	const slow = 20
	var slowWG sync.WaitGroup
	var slowCut, slowAnswered atomic.Int32
	var slowLines atomic.Int64
	start := time.Now()
	for range slow {
		slowWG.Go(func() {
			c := dial()
			defer c.Close()
			if _, err := io.WriteString(c, "GET /perm HTTP/1.1\r\nHost: x\r\n"); err != nil {
				return
			}
			done := make(chan string, 1)
			go func() { b, _ := closedByServer(c); done <- b }()
			for i := 0; ; i++ {
				select {
				case got := <-done:
					if got != "" {
						slowAnswered.Add(1)
						t.Errorf("slowloris connection got an answer: %q", got)
					}
					slowCut.Add(1)
					return
				case <-time.After(50 * time.Millisecond):
				}
				if i > 600 { // 30s of trickling: the server never cut it off
					t.Errorf("slowloris connection still open after %d header lines", i)
					return
				}
				if _, err := fmt.Fprintf(c, "X-Slow-%d: %d\r\n", i, i); err == nil {
					slowLines.Add(1)
				}
			}
		})
	}

	// An ordinary client keeps getting answers while all of that goes on.
	var served int
	for i := 0; i < 40; i++ {
		r := rawExchange(t, addr, "GET /perm HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if r.status != 301 || r.get("Location") != "/to-perm" {
			t.Fatalf("ordinary request %d during the attack: %d %q", i, r.status, r.get("Location"))
		}
		served++
		time.Sleep(5 * time.Millisecond)
	}
	slowWG.Wait()
	t.Logf("%d ordinary requests answered while %d idle connections were held and %d slowloris connections trickled %d header lines; all %d slowloris connections were cut off without an answer after %v",
		served, idle, slow, slowLines.Load(), slowCut.Load(), time.Since(start).Round(time.Millisecond))
	if slowCut.Load() != slow || slowAnswered.Load() != 0 {
		t.Errorf("%d of %d slowloris connections cut off, %d answered", slowCut.Load(), slow, slowAnswered.Load())
	}

	// Idle connections, silent or half a request, are closed by the
	// server (read-header timeout) without an answer.
	var idleCut, idleAnswered int
	for _, c := range idleConns {
		got, closed := closedByServer(c)
		if closed {
			idleCut++
		}
		if got != "" {
			idleAnswered++
		}
	}
	if idleCut != idle || idleAnswered != 0 {
		t.Errorf("%d of %d idle connections closed by the server, %d answered", idleCut, idle, idleAnswered)
	}

	// A kept-alive connection that goes quiet is closed after --idle-timeout.
	c := dial()
	io.WriteString(c, "GET /perm HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	r, err := readRawResponse(br)
	if err != nil || r.status != 301 {
		t.Fatalf("keep-alive request: %v %+v", err, r)
	}
	n, err := strconv.Atoi(r.get("Content-Length"))
	if err != nil {
		t.Fatalf("keep-alive response without a Content-Length: %+v", r)
	}
	if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := br.ReadByte(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("idle keep-alive connection: %v, want it closed by the server", err)
	}
	c.Close()

	// Oversized header blocks and request lines get 431 and a closed
	// connection; the Location of a rule is never sent for them. (Go's
	// server allows 4 KiB of slack over --max-header-bytes for the request
	// line and headers together, so these are well over 8 KiB.)
	big := strings.Repeat("a", 20000)
	for name, req := range map[string]string{
		"huge header":       "GET /perm HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n",
		"many headers":      "GET /perm HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Many: 1234567890\r\n", 1000) + "\r\n",
		"huge request line": "GET /docs/" + big + " HTTP/1.1\r\nHost: x\r\n\r\n",
		"huge query":        "GET /q?" + big + " HTTP/1.1\r\nHost: x\r\n\r\n",
		"endless line":      "GET /docs/" + big + big + big,
	} {
		r := rawExchange(t, addr, req)
		if loc := r.get("Location"); r.status != 431 || loc != "" {
			t.Errorf("%s: status %d and a Location of %d bytes, want 431 without a Location", name, r.status, len(loc))
		}
	}
	// Just under the limit is still served.
	if r := rawExchange(t, addr, "GET /perm HTTP/1.1\r\nHost: x\r\nX-Fits: "+strings.Repeat("b", 3000)+"\r\nConnection: close\r\n\r\n"); r.status != 301 {
		t.Errorf("request with 3 KB of headers: %d, want 301", r.status)
	}
}

// forEngines runs f as a subtest per `redirc serve --engine`.
func forEngines(t *testing.T, f func(t *testing.T, engine string)) {
	for _, e := range []string{server.EngineFast, server.EngineNetHTTP} {
		t.Run(strings.ReplaceAll(e, "/", ""), func(t *testing.T) { f(t, e) })
	}
}
