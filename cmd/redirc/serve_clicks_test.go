package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestServeClicks runs redirc serve with --clicks DIR and --clicks-url:
// every redirect answered becomes one click in the directory's files (read
// back by redirc stats after shutdown) and one NDJSON line POSTed to the
// endpoint; misses record nothing; the click counters are on /metrics.
func TestServeClicks(t *testing.T) {
	for _, engine := range []string{"fasthttp", "net/http"} {
		t.Run(engine, func(t *testing.T) { testServeClicks(t, engine) })
	}
}

func testServeClicks(t *testing.T, engine string) {
	var posted atomic.Int64
	var bodies atomic.Value
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 1<<20)
		n, _ := r.Body.Read(b)
		for n > 0 {
			m, _ := r.Body.Read(b[n:])
			if m == 0 {
				break
			}
			n += m
		}
		posted.Add(int64(strings.Count(string(b[:n]), "\n")))
		bodies.Store(string(b[:n]))
	}))
	defer endpoint.Close()

	build, clicksDir := t.TempDir(), t.TempDir()
	writeServeBuild(t, build, "/go /landing 302", "/docs /manual 301")
	secret := filepath.Join(t.TempDir(), "secret")
	s := startServe(t, "--engine", engine, "--clicks", clicksDir, "--clicks-url", endpoint.URL, "--clicks-secret", secret, build)

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path, ua string) int {
		req, _ := http.NewRequest("GET", s.base+path, nil)
		req.Host = "links.example" // so that 127.0.0.1 can only be the client's address
		req.Header.Set("User-Agent", ua)
		req.Header.Set("Referer", "https://news.example/item?id=1")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	human := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
	for i := 0; i < 3; i++ {
		if st := get("/go", human); st != 302 {
			t.Fatalf("/go: %d, want 302", st)
		}
	}
	if st := get("/go", "Googlebot/2.1 (+http://www.google.com/bot.html)"); st != 302 {
		t.Fatalf("/go as a bot: %d", st)
	}
	if st := get("/docs", human); st != 301 {
		t.Fatalf("/docs: %d", st)
	}
	if st := get("/nope", human); st != 404 {
		t.Fatalf("/nope: %d", st)
	}
	serveWait(t, "5 clicks posted to --clicks-url", func() bool { return posted.Load() >= 5 })
	if b, _ := bodies.Load().(string); strings.Contains(b, "127.0.0.1") {
		t.Errorf("a posted click holds the client's IP address:\n%s", b)
	}
	page := serveGet(t, "GET", s.base+"/.redirc/metrics", "").body
	if v := serveMetric(t, page, "redirc_clicks_recorded_total"); v != "5" {
		t.Errorf("redirc_clicks_recorded_total = %s, want 5", v)
	}

	// Shut down: the recorder flushes and closes its files.
	s.cancel()
	select {
	case code := <-s.done:
		s.done <- code
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := os.Stat(secret); err != nil {
		t.Errorf("--clicks-secret file not created: %v", err)
	}
	code, out, errOut := redirc(t, "stats", "--json", clicksDir)
	if code != 0 {
		t.Fatalf("stats: exit %d: %s", code, errOut)
	}
	var links []struct {
		Code         string
		Clicks, Bots int
		Unique       int
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, out)
	}
	got := map[string][3]int{}
	for _, l := range links {
		got[l.Code] = [3]int{l.Clicks, l.Bots, l.Unique}
	}
	if got["go"] != [3]int{4, 1, 1} || got["docs"][0] != 1 || len(got) != 2 {
		t.Errorf("stats = %v, want go: 4 clicks, 1 bot, 1 unique; docs: 1 click; nothing else\n%s", got, out)
	}
}

// TestServeClicksUsage checks the click flags' usage errors.
func TestServeClicksUsage(t *testing.T) {
	build := t.TempDir()
	writeServeBuild(t, build, "/a /b 301")
	for _, args := range [][]string{
		{"serve", "--clicks-secret", "x", build},
		{"serve", "--clicks-url", "ftp://x", build},
	} {
		if code, _, stderr := redirc(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, stderr)
		}
	}
}
