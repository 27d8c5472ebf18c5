package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// engines are the values of Options.Engine every end-to-end test runs
// against.
var engines = []string{EngineFast, EngineNetHTTP}

// forEngines runs f as a subtest per engine.
func forEngines(t *testing.T, f func(t *testing.T, engine string)) {
	for _, e := range engines {
		t.Run(strings.ReplaceAll(e, "/", ""), func(t *testing.T) { f(t, e) })
	}
}

// serveEngine starts a Server for dir with opts on engine and returns the
// main address (host:port), and the admin one when opts.AdminAddr is set.
func serveEngine(t *testing.T, engine, dir string, opts Options) (s *Server, addr, admin string, stop func() error) {
	t.Helper()
	opts.Engine = engine
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	s, _ = newServer(t, dir, opts)
	base, adminBase, stop := startServe(t, s, opts.AdminAddr != "")
	return s, strings.TrimPrefix(base, "http://"), strings.TrimPrefix(adminBase, "http://"), stop
}

// rawResponse is one response read off a connection.
type rawResponse struct {
	status int
	header http.Header
	body   string
	proto  string
}

// exchange writes req on a new connection to addr, then reads responses
// (for a request of method) until the connection closes or n responses
// were read, and reports whether the server closed the connection after
// them (read within a second).
func exchange(t *testing.T, addr, req, method string, n int) (resps []rawResponse, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return readResponses(t, c, method, n)
}

// readResponses reads up to n responses from c; the first may take five
// seconds, the next ones half a second each. closed reports whether the
// server closed the connection (rather than leaving it open and quiet).
func readResponses(t *testing.T, c net.Conn, method string, n int) (resps []rawResponse, closed bool) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for len(resps) < n {
		if len(resps) > 0 {
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		}
		r, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			var ne net.Error
			return resps, !(errors.As(err, &ne) && ne.Timeout())
		}
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		resps = append(resps, rawResponse{r.StatusCode, r.Header, string(b), r.Proto})
		if err != nil || r.Close {
			return resps, true
		}
	}
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, err := br.Peek(1)
	var ne net.Error
	return resps, !(errors.As(err, &ne) && ne.Timeout())
}

func statuses(rs []rawResponse) string {
	var s []string
	for _, r := range rs {
		s = append(s, fmt.Sprint(r.status))
	}
	return strings.Join(s, ",")
}

// TestEnginesAnswerAlike sends the same requests to both engines and
// requires the same answers (Date aside): hits of every kind, HEAD, a
// miss, escaped paths and queries, the admin endpoints under the prefix,
// keep-alive, pipelining, Connection: close and HTTP/1.0.
func TestEnginesAnswerAlike(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, "/perm /to-perm 301", "/temp https://example.com/t 302", "/gone - 410", "/caf%C3%A9 /coffee 308", "/q /with-query 307")
	addrs := map[string]string{}
	servers := map[string]*Server{}
	for _, e := range engines {
		s, addr, _, _ := serveEngine(t, e, dir, Options{CacheControl: map[int]string{302: "private"}})
		addrs[e], servers[e] = addr, s
	}
	reqs := []struct{ name, req, method string }{
		{"hit", "GET /perm HTTP/1.1\r\nHost: a\r\n\r\n", "GET"},
		{"hit query", "GET /q?x=1&y=%20 HTTP/1.1\r\nHost: a\r\n\r\n", "GET"},
		{"absolute dest", "GET /temp HTTP/1.1\r\nHost: a\r\n\r\n", "GET"},
		{"gone", "GET /gone HTTP/1.1\r\nHost: a\r\n\r\n", "GET"},
		{"escaped", "GET /caf%C3%A9 HTTP/1.1\r\nHost: a\r\n\r\n", "GET"},
		{"escaped lower", "GET /caf%c3%a9 HTTP/1.1\r\nHost: a\r\n\r\n", "GET"},
		{"head", "HEAD /perm HTTP/1.1\r\nHost: a\r\n\r\n", "HEAD"},
		{"head miss", "HEAD /nope HTTP/1.1\r\nHost: a\r\n\r\n", "HEAD"},
		{"post", "POST /perm HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", "POST"},
		{"miss", "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", "GET"},
		{"health", "GET /.redirc/healthz HTTP/1.1\r\nHost: a\r\n\r\n", "GET"},
		{"health post", "POST /.redirc/healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", "POST"},
		{"under prefix", "GET /.redirc/other HTTP/1.1\r\nHost: a\r\n\r\n", "GET"},
		{"keep-alive", "GET /perm HTTP/1.1\r\nHost: a\r\n\r\n", "GET"},
		{"pipelined", "GET /perm HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\nGET /gone HTTP/1.1\r\nHost: a\r\n\r\n", "GET"},
		{"connection close", "GET /perm HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /perm HTTP/1.1\r\nHost: a\r\n\r\n", "GET"},
		{"http/1.0", "GET /perm HTTP/1.0\r\n\r\nGET /perm HTTP/1.0\r\n\r\n", "GET"},
		{"http/1.0 keep-alive", "GET /perm HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /gone HTTP/1.0\r\n\r\n", "GET"},
	}
	compared := []string{"Location", "Cache-Control", "Content-Type", "X-Content-Type-Options", "Content-Length", "Set-Cookie", "Allow", "Server"}
	for _, rq := range reqs {
		got := map[string]string{}
		for _, e := range engines {
			rs, closed := exchange(t, addrs[e], rq.req, rq.method, 3)
			var sb strings.Builder
			for _, r := range rs {
				fmt.Fprintf(&sb, "%d", r.status)
				for _, h := range compared {
					if v, ok := r.header[h]; ok {
						fmt.Fprintf(&sb, " %s=%q", h, v)
					}
				}
				body := r.body
				if strings.Contains(rq.name, "health") {
					body = strings.Join(strings.Fields(body), " ")
				}
				fmt.Fprintf(&sb, " body=%q; ", body)
			}
			fmt.Fprintf(&sb, "closed=%v", closed)
			got[e] = sb.String()
		}
		if got[EngineFast] != got[EngineNetHTTP] {
			t.Errorf("%s:\nfasthttp %s\nnet/http %s", rq.name, got[EngineFast], got[EngineNetHTTP])
		}
		if !strings.HasPrefix(got[EngineNetHTTP], "30") && !strings.HasPrefix(got[EngineNetHTTP], "4") && !strings.HasPrefix(got[EngineNetHTTP], "200") {
			t.Errorf("%s: %s", rq.name, got[EngineNetHTTP])
		}
	}
	for _, e := range engines {
		m := servers[e].Metrics()
		if m.Hits() == 0 || m.Misses() == 0 || m.Hits() != servers[EngineNetHTTP].Metrics().Hits() || m.Misses() != servers[EngineNetHTTP].Metrics().Misses() {
			t.Errorf("%s: %d hits %d misses, net/http %d and %d", e, m.Hits(), m.Misses(), servers[EngineNetHTTP].Metrics().Hits(), servers[EngineNetHTTP].Metrics().Misses())
		}
	}
}

// TestEnginesAdminAddress: the admin endpoints on an address of their own,
// and the main address then looking up every path.
func TestEnginesAdminAddress(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, "/perm /to-perm 301")
	forEngines(t, func(t *testing.T, engine string) {
		_, addr, admin, _ := serveEngine(t, engine, dir, Options{AdminAddr: "127.0.0.1:0"})
		if r := get(t, "http://"+addr+"/perm"); r.status != 301 {
			t.Errorf("GET /perm: %d", r.status)
		}
		if r := get(t, "http://"+addr+"/.redirc/healthz"); r.status != 404 {
			t.Errorf("admin path on the main address: %d", r.status)
		}
		if r := get(t, "http://"+admin+"/healthz"); r.status != 200 || !strings.Contains(r.body, dir) {
			t.Errorf("admin healthz: %d %s", r.status, r.body)
		}
		if r := get(t, "http://"+admin+"/metrics"); r.status != 200 || !strings.Contains(r.body, "redirc_") {
			t.Errorf("admin metrics: %d %.200s", r.status, r.body)
		}
	})
}

// TestEnginesFallback: misses to a static directory and to an upstream,
// with request bodies passed on and a failing upstream answered 502, and
// every one of them in the access log.
func TestEnginesFallback(t *testing.T) {
	dir, site := t.TempDir(), t.TempDir()
	writeBuild(t, dir, "/perm /to-perm 301")
	os.WriteFile(filepath.Join(site, "index.html"), []byte("home page"), 0o644)
	os.WriteFile(filepath.Join(site, "big.bin"), bytes.Repeat([]byte("x"), 3<<20), 0o644)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "upstream %s %s host=%s xfh=%s body=%s", r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("X-Forwarded-Host"), b)
	}))
	defer up.Close()
	forEngines(t, func(t *testing.T, engine string) {
		fbDir, _ := FallbackDir(site)
		var log syncBuffer
		_, addr, _, _ := serveEngine(t, engine, dir, Options{Fallback: fbDir, AccessLog: &log})
		base := "http://" + addr
		if r := get(t, base+"/"); r.status != 200 || r.body != "home page" {
			t.Errorf("GET /: %d %q", r.status, r.body)
		}
		if r := get(t, base+"/big.bin"); r.status != 200 || len(r.body) != 3<<20 {
			t.Errorf("GET /big.bin: %d, %d bytes", r.status, len(r.body))
		}
		if r := get(t, base+"/missing"); r.status != 404 {
			t.Errorf("GET /missing: %d", r.status)
		}
		if r := get(t, base+"/perm"); r.status != 301 {
			t.Errorf("GET /perm: %d", r.status)
		}

		fbURL, _ := FallbackURL(up.URL+"/base", quiet)
		_, addr2, _, _ := serveEngine(t, engine, dir, Options{Fallback: fbURL, AccessLog: &log})
		resp, err := http.Post("http://"+addr2+"/some/page?x=1", "text/plain", strings.NewReader("payload"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := "upstream POST /base/some/page?x=1 host=" + strings.TrimPrefix(up.URL, "http://") + " xfh=" + addr2 + " body=payload"; string(b) != want {
			t.Errorf("proxied: %q, want %q", b, want)
		}

		deadUp := httptest.NewServer(http.NotFoundHandler())
		deadUp.Close()
		fbDead, _ := FallbackURL(deadUp.URL, quiet)
		_, addr3, _, _ := serveEngine(t, engine, dir, Options{Fallback: fbDead, AccessLog: &log})
		if r := get(t, "http://"+addr3+"/x"); r.status != 502 {
			t.Errorf("dead upstream: %d, want 502", r.status)
		}
		time.Sleep(50 * time.Millisecond) // the access log's goroutine
		for _, want := range []string{"path=/ status=200 bytes=9", "path=/big.bin status=200 bytes=3145728", "path=/missing status=404", "path=/perm status=301", "method=POST host=" + addr2 + ` path=/some/page query="x=1" status=200`, "path=/x status=502"} {
			if !strings.Contains(log.String(), want) {
				t.Errorf("access log lacks %q:\n%s", want, log.String())
			}
		}
	})
}

// TestEnginesAccessLog: hits and misses logged with the request's
// details, admin endpoints not.
func TestEnginesAccessLog(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, "/perm /to-perm 301")
	forEngines(t, func(t *testing.T, engine string) {
		var log syncBuffer
		s, addr, _, stop := serveEngine(t, engine, dir, Options{AccessLog: &log})
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /perm?utm=1 HTTP/1.1\r\nHost: site.example\r\nReferer: https://r.example/\r\nUser-Agent: tester/1\r\n\r\n"+
			"GET /.redirc/healthz HTTP/1.1\r\nHost: site.example\r\n\r\nHEAD /nope HTTP/1.1\r\nHost: site.example\r\n\r\n")
		readResponses(t, c, "GET", 2)
		stop()
		s.Close()
		want := []string{
			`method=GET host=site.example path=/perm query="utm=1" status=301`,
			`location=/to-perm referer=https://r.example/ ua=tester/1`,
			`method=HEAD host=site.example path=/nope status=404`,
		}
		for _, w := range want {
			if !strings.Contains(log.String(), w) {
				t.Errorf("access log lacks %q:\n%s", w, log.String())
			}
		}
		if strings.Contains(log.String(), "healthz") || strings.Count(log.String(), "\n") != 2 {
			t.Errorf("access log:\n%s", log.String())
		}
		if !strings.Contains(log.String(), "remote=127.0.0.1:") {
			t.Errorf("no remote address:\n%s", log.String())
		}
	})
}

// TestEnginesReload: a build swapped in is answered from at once.
func TestEnginesReload(t *testing.T) {
	forEngines(t, func(t *testing.T, engine string) {
		dir := t.TempDir()
		writeBuild(t, dir, "/x /from-a")
		s, addr, _, _ := serveEngine(t, engine, dir, Options{})
		if r := get(t, "http://"+addr+"/x"); r.header.Get("Location") != "/from-a" {
			t.Fatalf("before: %q", r.header.Get("Location"))
		}
		writeBuild(t, dir, "/x /from-b 308")
		if err := s.Reload(); err != nil {
			t.Fatal(err)
		}
		if r := get(t, "http://"+addr+"/x"); r.status != 308 || r.header.Get("Location") != "/from-b" {
			t.Errorf("after Reload: %d %q", r.status, r.header.Get("Location"))
		}
	})
}

// TestEnginesHeaderLimit: a header block over MaxHeaderBytes (plus
// net/http's 4096 bytes of slack) is answered 431.
func TestEnginesHeaderLimit(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, "/x /y")
	forEngines(t, func(t *testing.T, engine string) {
		_, addr, _, _ := serveEngine(t, engine, dir, Options{MaxHeaderBytes: 2048})
		ok := "GET /x HTTP/1.1\r\nHost: a\r\nX-A: " + strings.Repeat("b", 3000) + "\r\n\r\n"
		if rs, _ := exchange(t, addr, ok, "GET", 1); statuses(rs) != "301" {
			t.Errorf("3 kB of headers with a 2 kB limit (within the slack): %s", statuses(rs))
		}
		big := "GET /x HTTP/1.1\r\nHost: a\r\nX-A: " + strings.Repeat("b", 8000) + "\r\n\r\n"
		if rs, closed := exchange(t, addr, big, "GET", 1); statuses(rs) != "431" || !closed {
			t.Errorf("8 kB of headers: %s closed=%v, want 431 and closed", statuses(rs), closed)
		}
	})
}

// TestEnginesTimeouts: a header block that never ends (slowloris), an idle
// keep-alive connection, a body that never comes, and a client that never
// reads a large answer are all cut.
func TestEnginesTimeouts(t *testing.T) {
	dir, site := t.TempDir(), t.TempDir()
	writeBuild(t, dir, "/x /y")
	os.WriteFile(filepath.Join(site, "big.bin"), bytes.Repeat([]byte("x"), 64<<20), 0o644)
	forEngines(t, func(t *testing.T, engine string) {
		fb, _ := FallbackDir(site)
		_, addr, _, _ := serveEngine(t, engine, dir, Options{
			Fallback:          fb,
			ReadHeaderTimeout: 300 * time.Millisecond,
			ReadTimeout:       600 * time.Millisecond,
			IdleTimeout:       400 * time.Millisecond,
			WriteTimeout:      500 * time.Millisecond,
		})
		// cutWithin reports whether the server closes c within d, while
		// feeding it one byte of req every 50 ms (nothing when req is "").
		cut := func(c net.Conn, req string, d time.Duration) bool {
			done := make(chan struct{})
			go func() {
				defer close(done)
				c.SetReadDeadline(time.Now().Add(d))
				io.Copy(io.Discard, c)
			}()
			for i := 0; i < len(req); i++ {
				select {
				case <-done:
					return true
				case <-time.After(50 * time.Millisecond):
					c.Write([]byte{req[i]})
				}
			}
			<-done
			c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			_, err := c.Read(make([]byte, 1))
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout())
		}
		dial := func() net.Conn {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		}
		// Slowloris: a header line a byte at a time, never ending.
		if !cut(dial(), "GET /x HTTP/1.1\r\nHost: a\r\nX-Slow: "+strings.Repeat("a", 200), 5*time.Second) {
			t.Error("slowloris: the connection was not closed")
		}
		// Idle: one answer, then nothing.
		c := dial()
		io.WriteString(c, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
		if rs, _ := readResponses(t, c, "GET", 1); statuses(rs) != "301" {
			t.Fatalf("first answer: %s", statuses(rs))
		}
		if !cut(c, "", 5*time.Second) {
			t.Error("idle: the connection was not closed")
		}
		// A body that never arrives, for the fallback.
		c = dial()
		io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nabc")
		if !cut(c, "", 5*time.Second) {
			t.Error("slow body: the connection was not closed")
		}
		// A client that never reads 64 MB.
		c = dial()
		io.WriteString(c, "GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
		time.Sleep(1500 * time.Millisecond)
		n, _ := io.Copy(io.Discard, c)
		if n >= 64<<20 {
			t.Errorf("write timeout: all %d bytes written to a client that did not read", n)
		}
	})
}

// TestEnginesGracefulShutdown: a request in flight is finished while the
// listener closes; with a negative ShutdownTimeout it is cut.
func TestEnginesGracefulShutdown(t *testing.T) {
	for _, c := range []struct {
		name    string
		timeout time.Duration
		cut     bool
	}{{"graceful", 0, false}, {"at once", -1, true}} {
		forEngines(t, func(t *testing.T, engine string) {
			t.Run(c.name, func(t *testing.T) {
				entered, release := make(chan struct{}), make(chan struct{})
				slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					close(entered)
					<-release
					io.WriteString(w, "slow answer")
				})
				dir := t.TempDir()
				writeBuild(t, dir, "/x /y")
				_, addr, _, stop := serveEngine(t, engine, dir, Options{Fallback: slow, ShutdownTimeout: c.timeout})
				idle, err := net.Dial("tcp", addr) // an idle keep-alive connection
				if err != nil {
					t.Fatal(err)
				}
				defer idle.Close()
				io.WriteString(idle, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
				readResponses(t, idle, "GET", 1)
				got := make(chan error, 1)
				go func() {
					r, err := http.Get("http://" + addr + "/slow")
					if err == nil {
						b, _ := io.ReadAll(r.Body)
						r.Body.Close()
						if string(b) != "slow answer" {
							err = fmt.Errorf("body %q", b)
						}
					}
					got <- err
				}()
				<-entered
				stopped := make(chan error, 1)
				go func() { stopped <- stop() }()
				if !c.cut {
					for {
						c, err := net.Dial("tcp", addr)
						if err != nil {
							break
						}
						c.Close()
						time.Sleep(5 * time.Millisecond)
					}
					close(release)
					if err := <-got; err != nil {
						t.Errorf("the request in flight: %v", err)
					}
				} else {
					if err := <-got; err == nil {
						t.Error("the request in flight was finished, want it cut")
					}
					close(release)
				}
				if err := <-stopped; err != nil {
					t.Errorf("Serve: %v", err)
				}
				idle.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := idle.Read(make([]byte, 1)); err == nil {
					t.Error("the idle connection was left open")
				}
			})
		})
	}
}
