package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redirc/redirc/runtime"
	"github.com/redirc/redirc/runtime/clicks"
)

// TestClicksToStats runs the whole path: a Handler answers redirects and
// sends click events to a Recorder writing rotated, compressed files, and
// `redirc stats` reads them back.
func TestClicksToStats(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "links.csv", "url,alias\nhttps://example.com/a,a\nhttps://example.com/b,b\n")
	man, out := filepath.Join(dir, "m.csv"), filepath.Join(dir, "out")
	if code, _, stderr := redirc(t, "shorten", "--state", filepath.Join(dir, "s.csv"), "-o", man, in); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := redirc(t, "build", "-o", out, man); code != 0 {
		t.Fatal(stderr)
	}
	live, err := runtime.OpenLive(out, runtime.LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cdir := filepath.Join(dir, "clicks")
	ds, err := clicks.NewDirSink(cdir, clicks.DirOptions{MaxBytes: 2 << 10})
	if err != nil {
		t.Fatal(err)
	}
	rec := clicks.New(ds, clicks.Options{QueueSize: 1 << 12, BatchSize: 4})
	es := runtime.NewEventSink("clicks", 1<<12, rec.Record)
	h := runtime.NewHandler(live, nil, runtime.HandlerOptions{Clicks: es})
	do := func(path, ua, addr string) {
		r := httptest.NewRequest("GET", "http://sho.rt"+path, nil)
		r.Header.Set("User-Agent", ua)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 302 {
			t.Fatalf("%s: %d", path, w.Code)
		}
	}
	const browser = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"
	for i := range 30 {
		do("/a", browser, "192.0.2."+string(rune('0'+i%10))+":1")
	}
	do("/b", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "192.0.2.1:1")
	do("/b", browser, "192.0.2.1:1")
	es.Close()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if st := rec.Stats(); st.Written != 32 || es.Dropped() != 0 {
		t.Fatalf("recorder %+v, event sink dropped %d", st, es.Dropped())
	}
	files, _ := filepath.Glob(filepath.Join(cdir, "*.zst"))
	if len(files) < 2 {
		t.Fatalf("want rotated, compressed files: %v", files)
	}
	code, stdout, stderr := redirc(t, "stats", "--json", cdir)
	if code != 0 {
		t.Fatalf("stats: %d %s", code, stderr)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, stdout)
	}
	if len(got) != 2 {
		t.Fatalf("%s", stdout)
	}
	for _, k := range []string{"code", "clicks", "unique", "bots", "humans", "previews", "scanners", "hours", "days", "first", "last", "referrers"} {
		if _, ok := got[0][k]; !ok {
			t.Errorf("stats --json object lacks %q: %v", k, got[0])
		}
	}
	a, b := got[0], got[1]
	if a["code"] != "a" || a["clicks"] != 30.0 || a["unique"] != 10.0 || a["bots"] != 0.0 {
		t.Errorf("a: %v", a)
	}
	if b["code"] != "b" || b["clicks"] != 2.0 || b["unique"] != 1.0 || b["bots"] != 1.0 || b["previews"] != 1.0 {
		t.Errorf("b: %v", b)
	}
	code, stdout, _ = redirc(t, "stats", "--csv", "--top", "1", cdir)
	if code != 0 || !strings.HasPrefix(stdout, "code,clicks,unique,humans,bots,previews,scanners,first,last\na,30,10,30,0,0,0,") || strings.Count(stdout, "\n") != 2 {
		t.Errorf("stats --csv --top 1:\n%s", stdout)
	}
	if code, stdout, _ = redirc(t, "stats", "--json", "--since", "1h", cdir); code != 0 || !strings.Contains(stdout, `"code": "a"`) {
		t.Errorf("--since 1h: %s", stdout)
	}
	if code, stdout, _ = redirc(t, "stats", "--json", "--since", time.Now().Add(time.Hour).Format(time.RFC3339), cdir); code != 0 || strings.TrimSpace(stdout) != "[]" {
		t.Errorf("--since in the future: %q", stdout)
	}
	if code, stdout, _ = redirc(t, "stats", "--json", "--by-host", cdir); code != 0 || !strings.Contains(stdout, `"code": "sho.rt/a"`) {
		t.Errorf("--by-host: %s", stdout)
	}
	if code, _, _ = redirc(t, "stats", "--json", "--csv", cdir); code != 2 {
		t.Errorf("--json --csv: exit %d", code)
	}
	if code, _, _ = redirc(t, "stats", "--since", "yesterday", cdir); code != 2 {
		t.Errorf("--since yesterday: exit %d", code)
	}
}

// TestStalledClicksEndpointNeverBlocksRedirects: with the click endpoint
// accepting connections and never answering, every request is still
// answered, and every click is accounted for as written, queued or
// dropped. The test would hang if a redirect waited for the endpoint.
func TestStalledClicksEndpointNeverBlocksRedirects(t *testing.T) {
	dir := t.TempDir()
	man := writeFile(t, dir, "m.csv", "source,destination,statusCode\n/x,https://example.com/,302\n")
	out := filepath.Join(dir, "out")
	if code, _, stderr := redirc(t, "build", "-o", out, man); code != 0 {
		t.Fatal(stderr)
	}
	live, err := runtime.OpenLive(out, runtime.LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stall := make(chan struct{})
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stall)
	hs := clicks.NewHTTPSink(srv.URL, clicks.HTTPOptions{MaxSpillBytes: 32 << 10, CloseTimeout: time.Millisecond})
	rec := clicks.New(hs, clicks.Options{QueueSize: 128, BatchSize: 32})
	es := runtime.NewEventSink("clicks", 128, rec.Record)
	h := runtime.NewHandler(live, nil, runtime.HandlerOptions{Clicks: es})
	const n = 20000
	answered := 0
	for range n {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
		if w.Code == 302 {
			answered++
		}
	}
	es.Close()
	rec.Close()
	st := rec.Stats()
	if answered != n {
		t.Fatalf("answered %d of %d", answered, n)
	}
	if es.Sent()+es.Dropped() != n || st.Recorded+st.Dropped != es.Sent() {
		t.Fatalf("event sink sent %d dropped %d; recorder %+v", es.Sent(), es.Dropped(), st)
	}
	if hs.Stats().Sent != 0 || es.Dropped()+st.Dropped+hs.Stats().Dropped == 0 {
		t.Fatalf("nothing was dropped behind a stalled endpoint: %+v %+v", st, hs.Stats())
	}
}
