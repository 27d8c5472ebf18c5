package runtime

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/shardfmt"
)

// testOrigin is a static origin serving a build directory, with faults to
// switch on.
type testOrigin struct {
	dir     string
	noRange atomic.Bool  // answer Range requests with the whole file
	down    atomic.Bool  // answer 503 to everything
	delay   atomic.Int64 // nanoseconds before answering a shard
	// replace, when set, gives the bytes to serve for a file (nil: as is).
	replace atomic.Pointer[func(name string, b []byte) []byte]

	mu       sync.Mutex
	requests map[string]int // by file name
	ranges   map[string]int // Range requests, by file name
	notMod   int            // 304 answers
	srv      *httptest.Server
}

func newTestOrigin(t *testing.T, dir string) *testOrigin { return newTestOriginB(t, dir) }

func newTestOriginB(t testing.TB, dir string) *testOrigin {
	o := &testOrigin{dir: dir, requests: map[string]int{}, ranges: map[string]int{}}
	o.srv = httptest.NewServer(o)
	t.Cleanup(o.srv.Close)
	return o
}

func (o *testOrigin) url() string { return o.srv.URL + "/builds/b" }

func (o *testOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/builds/b/")
	o.mu.Lock()
	o.requests[name]++
	if r.Header.Get("Range") != "" {
		o.ranges[name]++
	}
	o.mu.Unlock()
	if o.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if d := o.delay.Load(); d > 0 && name != shardfmt.IndexFileName {
		select {
		case <-time.After(time.Duration(d)):
		case <-r.Context().Done():
			return
		}
	}
	b, err := os.ReadFile(filepath.Join(o.dir, filepath.Base(name)))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if f := o.replace.Load(); f != nil {
		b = (*f)(name, b)
	}
	if name == shardfmt.IndexFileName {
		etag := fmt.Sprintf(`"%x"`, shardfmt.Hash(0, b))
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			o.mu.Lock()
			o.notMod++
			o.mu.Unlock()
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if o.noRange.Load() {
		w.Write(b)
		return
	}
	http.ServeContent(w, r, name, time.Time{}, strings.NewReader(string(b)))
}

func (o *testOrigin) count(name string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests[name]
}

func (o *testOrigin) shardRequests() (total int, byName map[string]int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	byName = map[string]int{}
	for n, c := range o.requests {
		if strings.HasSuffix(n, ".rdx") {
			total += c
			byName[n] = c
		}
	}
	return total, byName
}

// bigRules returns n exact rules /r/<i> -> /to/<i>.
func bigRules(n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("/r/%d /to/%d 301", i, i)
	}
	return lines
}

func writeBuildOpts(t testing.TB, dir string, opt compiler.Options, lines ...string) *compiler.Build {
	t.Helper()
	b, ps, err := compiler.Compile(parseRules(t, lines...), opt)
	if err != nil {
		t.Fatalf("compile: %v %v", err, ps)
	}
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return b
}

func openRemote(t *testing.T, o *testOrigin, ro RemoteOptions) *Live {
	t.Helper()
	l, err := OpenRemote(context.Background(), o.url(), LiveOptions{Logger: testLogger(t), Remote: ro, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestRemoteAgreesWithLocal(t *testing.T) {
	lines := append(append([]string{}, handlerRules...), bigRules(3000)...)
	for _, noRange := range []bool{false, true} {
		t.Run(fmt.Sprintf("noRange=%v", noRange), func(t *testing.T) {
			dir := t.TempDir()
			writeBuildOpts(t, dir, compiler.Options{Shards: 4}, lines...)
			local, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			o := newTestOrigin(t, dir)
			o.noRange.Store(noRange)
			m := NewRemoteMetrics()
			l := openRemote(t, o, RemoteOptions{Metrics: m, CacheBytes: 1}) // one shard held at a time
			var paths []string
			for _, ln := range lines {
				paths = append(paths, strings.Fields(ln)[0])
			}
			for i := range 500 {
				paths = append(paths, fmt.Sprintf("/miss/%d", i), fmt.Sprintf("/docs/x/%d", i))
			}
			for _, p := range paths {
				host := ""
				if i := strings.IndexByte(p, '/'); i > 0 {
					host, p = p[:i], p[i:]
				}
				if got, want := l.Lookup(host, p, "a=1"), local.Lookup(host, p, "a=1"); got != want {
					t.Fatalf("%s%s: remote %+v, local %+v", host, p, got, want)
				}
			}
			if m.Evictions() == 0 {
				t.Errorf("no eviction with a 1-byte cache")
			}
			if got := m.CacheBytes(); got > 100<<10 {
				t.Errorf("cache holds %d bytes, want one shard", got)
			}
			if noRange {
				o.mu.Lock()
				defer o.mu.Unlock()
			}
		})
	}
}

// TestRemoteMissesOneRequestPerShard: 2,000 random misses cost at most one
// origin request per shard touched (the Bloom filters are built at 1e-7, so
// no miss passes one).
func TestRemoteMissesOneRequestPerShard(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	writeBuildOpts(t, dir, compiler.Options{Shards: 16, BloomFP: 1e-7}, bigRules(20000)...)
	o := newTestOrigin(t, dir)
	l := openRemote(t, o, RemoteOptions{})
	for range 2000 {
		p := fmt.Sprintf("/m/%d", r.Uint64())
		if res := l.Lookup("", p, ""); res.Found() {
			t.Fatalf("%s: %+v", p, res)
		}
	}
	total, by := o.shardRequests()
	for n, c := range by {
		if c > 1 {
			t.Errorf("%s: %d requests", n, c)
		}
	}
	if total == 0 || total > 16 {
		t.Errorf("%d shard requests for 16 shards", total)
	}
	o.mu.Lock()
	ranges := len(o.ranges)
	o.mu.Unlock()
	if ranges != total {
		t.Errorf("%d Range requests of %d", ranges, total)
	}
}

// TestRemoteOneFetchPerShard: concurrent requests for one shard share one
// fetch.
func TestRemoteOneFetchPerShard(t *testing.T) {
	dir := t.TempDir()
	writeBuildOpts(t, dir, compiler.Options{Shards: 1}, bigRules(2000)...)
	o := newTestOrigin(t, dir)
	o.delay.Store(int64(100 * time.Millisecond))
	l := openRemote(t, o, RemoteOptions{})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if res := l.Lookup("", fmt.Sprintf("/r/%d", i), ""); res.Location != fmt.Sprintf("/to/%d", i) {
				t.Errorf("/r/%d: %+v", i, res)
			}
		})
	}
	wg.Wait()
	// One prefix request and one whole-shard request at most.
	if total, _ := o.shardRequests(); total > 2 {
		t.Errorf("%d shard requests for one shard", total)
	}
}

func TestRemoteRefusesBadShards(t *testing.T) {
	dir := t.TempDir()
	writeBuildOpts(t, dir, compiler.Options{Shards: 2}, bigRules(2000)...)
	ix := readIndex(t, dir)
	other, err := os.ReadFile(filepath.Join(dir, ix.Shards[1].File))
	if err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(filepath.Join(dir, ix.Shards[0].File))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(name string, b []byte) []byte
	}{
		{"short", func(n string, b []byte) []byte { return b[:len(b)-10] }},
		{"wrong shard", func(n string, b []byte) []byte {
			if n == ix.Shards[0].File {
				return other
			}
			return first
		}},
		{"flipped byte", func(n string, b []byte) []byte {
			c := append([]byte(nil), b...)
			c[len(c)-40] ^= 1
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newTestOrigin(t, dir)
			o.noRange.Store(true)
			l := openRemote(t, o, RemoteOptions{})
			edit := func(name string, b []byte) []byte {
				if strings.HasSuffix(name, ".rdx") {
					return tc.edit(name, b)
				}
				return b
			}
			o.replace.Store(&edit)
			for i := range 50 {
				if res := l.Lookup("", fmt.Sprintf("/r/%d", i), ""); res.Status != 503 {
					t.Fatalf("/r/%d from a bad origin: %+v, want 503", i, res)
				}
			}
			if st := l.Status(); st.Degraded == "" {
				t.Errorf("status not degraded: %+v", st)
			}
			// Fixed: answered after the backoff.
			o.replace.Store(nil)
			waitFor(t, "the fixed shard", func() bool { return l.Lookup("", "/r/1", "").Location == "/to/1" })
		})
	}
}

func readIndex(t *testing.T, dir string) *shardfmt.Index {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, shardfmt.IndexFileName))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := shardfmt.ParseIndex(b)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestRemoteSlowAndDownOrigin(t *testing.T) {
	dir := t.TempDir()
	writeBuildOpts(t, dir, compiler.Options{Shards: 8}, bigRules(4000)...)
	o := newTestOrigin(t, dir)
	l := openRemote(t, o, RemoteOptions{FetchTimeout: 50 * time.Millisecond})
	lm := openRemote(t, o, RemoteOptions{FetchTimeout: 50 * time.Millisecond, OnFetchError: OnFetchErrorMiss})
	l503 := openRemote(t, o, RemoteOptions{FetchTimeout: 50 * time.Millisecond})
	lh := openRemote(t, o, RemoteOptions{FetchTimeout: 50 * time.Millisecond}) // nothing loaded until the origin is down
	var answered []int
	for i := range 4000 {
		if l.Lookup("", fmt.Sprintf("/r/%d", i), "").Status == 301 {
			answered = append(answered, i)
		}
		if len(answered) > 200 {
			break
		}
	}
	o.delay.Store(int64(time.Second))
	var slow503, slowMiss int
	for i := range 4000 {
		p := fmt.Sprintf("/r/%d", i)
		start := time.Now()
		if l503.Lookup("", p, "").Status == 503 {
			slow503++
		}
		if lm.Lookup("", p, "").Status == 0 {
			slowMiss++
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%s took %v with a 50ms fetch timeout", p, d)
		}
		if slow503 > 0 && slowMiss > 0 {
			break
		}
	}
	if slow503 == 0 || slowMiss == 0 {
		t.Errorf("slow origin: %d answers 503, %d misses", slow503, slowMiss)
	}
	o.down.Store(true)
	for _, i := range answered {
		if res := l.Lookup("", fmt.Sprintf("/r/%d", i), ""); res.Location != fmt.Sprintf("/to/%d", i) {
			t.Fatalf("origin down: /r/%d: %+v", i, res)
		}
	}
	if err := l.Reload(); err == nil {
		t.Errorf("reload with the origin down: no error")
	}
	rec503 := httptest.NewRecorder()
	NewHandler(lh, nil, HandlerOptions{}).ServeHTTP(rec503, httptest.NewRequest("GET", "/r/1", nil))
	if rec503.Code != 503 || rec503.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("handler, origin down: %d, Cache-Control %q; want 503, no-store", rec503.Code, rec503.Header().Get("Cache-Control"))
	}
	rec := httptest.NewRecorder()
	l.HealthHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status": "degraded"`) {
		t.Errorf("health with the origin down: %d %s", rec.Code, rec.Body)
	}
}

func TestRemoteNewBuildShardByShard(t *testing.T) {
	dir := t.TempDir()
	lines := bigRules(4000)
	writeBuildOpts(t, dir, compiler.Options{Shards: 8}, lines...)
	o := newTestOrigin(t, dir)
	l := openRemote(t, o, RemoteOptions{})
	for i := range 4000 {
		l.Lookup("", fmt.Sprintf("/r/%d", i), "")
	}
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	if o.notMod == 0 {
		t.Errorf("unchanged index: no 304")
	}
	before, _ := o.shardRequests()

	// Half-uploaded: the new index lands before its shard.
	lines[0] = "/r/0 /changed 302"
	next := t.TempDir()
	nb := writeBuildOpts(t, next, compiler.Options{Shards: 8}, lines...)
	old := readIndex(t, dir)
	var changed string
	for i, s := range nb.Index.Shards {
		if s.File != old.Shards[i].File {
			changed = s.File
		}
	}
	copyFile(t, next, dir, shardfmt.IndexFileName)
	if err := l.Reload(); err == nil {
		t.Fatalf("half-uploaded build installed")
	}
	if res := l.Lookup("", "/r/0", ""); res.Location != "/to/0" {
		t.Fatalf("previous build not serving: %+v", res)
	}
	copyFile(t, next, dir, changed)
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	if res := l.Lookup("", "/r/0", ""); res.Location != "/changed" || res.Status != 302 {
		t.Fatalf("new build: %+v", res)
	}
	after, by := o.shardRequests()
	// The changed shard, asked for twice (missing, then there); nothing else.
	if after-before != by[changed] || by[changed] > 2 {
		t.Errorf("new build cost %d shard requests (%d for the changed shard)", after-before, by[changed])
	}
	for i := range 4000 {
		l.Lookup("", fmt.Sprintf("/r/%d", i), "")
	}
	if got, _ := o.shardRequests(); got != after {
		t.Errorf("unchanged shards fetched again: %d requests", got-after)
	}
}

func copyFile(t *testing.T, from, to, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(from, name))
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(to, ".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(to, name)); err != nil {
		t.Fatal(err)
	}
}

// TestRemoteReplicas: three replicas polling one origin all answer a newly
// published rule within the poll interval + 1s, no request fails during
// the switch, and with the origin stopped every hit answered before still
// is.
func TestRemoteReplicas(t *testing.T) {
	dir := t.TempDir()
	lines := bigRules(3000)
	writeBuildOpts(t, dir, compiler.Options{Shards: 8}, lines...)
	o := newTestOrigin(t, dir)
	const poll = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var lives []*Live
	for range 3 {
		l, err := OpenRemote(ctx, o.url(), LiveOptions{Logger: testLogger(t), Poll: poll})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { l.Watch(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		lives = append(lives, l)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, l := range lives {
		wg.Go(func() {
			for i := 0; !stop.Load(); i = (i + 7) % 3000 {
				res := l.Lookup("", fmt.Sprintf("/r/%d", i), "")
				if res.Status != 301 && res.Location != "/new" {
					failed.Add(1)
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	lines = append(lines, "/new-rule /new 302")
	next := t.TempDir()
	writeBuildOpts(t, next, compiler.Options{Shards: 8}, lines...)
	ents, _ := os.ReadDir(next)
	for _, e := range ents {
		if e.Name() != shardfmt.IndexFileName && !strings.HasPrefix(e.Name(), ".") {
			copyFile(t, next, dir, e.Name())
		}
	}
	published := time.Now()
	copyFile(t, next, dir, shardfmt.IndexFileName)
	for i, l := range lives {
		for l.Lookup("", "/new-rule", "").Location != "/new" {
			if time.Since(published) > poll+poll/10+time.Second {
				t.Fatalf("replica %d: new rule not answered %v after publishing", i, time.Since(published))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Logf("all replicas answer the new rule %v after it was published (poll %v)", time.Since(published), poll)
	stop.Store(true)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d requests failed during the switch", n)
	}
	// Origin stopped: every hit answered before still is.
	o.srv.Close()
	for _, l := range lives {
		for i := 0; i < 3000; i += 7 {
			if res := l.Lookup("", fmt.Sprintf("/r/%d", i), ""); res.Status != 301 {
				t.Fatalf("origin stopped: /r/%d: %+v", i, res)
			}
		}
	}
}

// TestLocalReloadReusesShards: a one-rule change reloads one shard; the
// others are the very same shards.
func TestLocalReloadReusesShards(t *testing.T) {
	dir := t.TempDir()
	lines := bigRules(2000)
	writeBuildOpts(t, dir, compiler.Options{Shards: 8}, lines...)
	l, err := OpenLive(dir, LiveOptions{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	a := l.Set()
	lines[5] = "/r/5 /five 302"
	writeBuildOpts(t, dir, compiler.Options{Shards: 8}, lines...)
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	b := l.Set()
	same := 0
	for i := range a.build.Shards {
		if a.build.Shards[i] == b.build.Shards[i] {
			same++
		}
	}
	if same != 7 {
		t.Errorf("%d of 8 shards reused, want 7", same)
	}
	if res := l.Lookup("", "/r/5", ""); res.Location != "/five" {
		t.Errorf("/r/5 after reload: %+v", res)
	}
	if res := l.Lookup("", "/r/6", ""); res.Location != "/to/6" {
		t.Errorf("/r/6 after reload: %+v", res)
	}
}

// TestRemoteWarmLookupAllocs: a lookup answered from loaded shards and
// Bloom filters allocates nothing, as a local one.
func TestRemoteWarmLookupAllocs(t *testing.T) {
	dir := t.TempDir()
	writeBuildOpts(t, dir, compiler.Options{Shards: 4}, bigRules(1000)...)
	o := newTestOrigin(t, dir)
	l := openRemote(t, o, RemoteOptions{Preload: true})
	s := l.Set()
	preloaded, _ := o.shardRequests()
	defer func() {
		if n, _ := o.shardRequests(); n != preloaded {
			t.Errorf("%d shard requests after a preload", n-preloaded)
		}
	}()
	for _, p := range []string{"/r/5", "/nope/x"} {
		s.Lookup("", p, "")
		if n := testing.AllocsPerRun(100, func() { s.Lookup("", p, "") }); n != 0 {
			t.Errorf("%s: %v allocations per warm lookup", p, n)
		}
	}
}
