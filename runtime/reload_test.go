package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redirc/redirc/shardfmt"
)

// watchLive starts l.Watch and stops it (waiting for it to return) when
// the test ends.
func watchLive(t *testing.T, l *Live) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Watch(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v, want context.Canceled", err)
		}
	})
}

// waitFor polls cond every few milliseconds until it holds or the deadline
// passes; it returns how long that took. The deadline is generous: it
// exists to fail a broken test, not to assert speed.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

func TestLiveReloadAfterRebuild(t *testing.T) {
	dir := t.TempDir()
	idA := writeBuild(t, dir, "/a /from-a 301", "/x /x-from-a 302")
	m := NewMetrics()
	l, err := OpenLive(dir, LiveOptions{Logger: testLogger(t), Metrics: m, Debounce: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	watchLive(t, l)
	base := startHandler(t, NewHandler(l, nil, HandlerOptions{Metrics: m}))
	if r := do(t, "GET", base+"/x", ""); r.header.Get("Location") != "/x-from-a" {
		t.Fatalf("before rebuild: %d %q", r.status, r.header.Get("Location"))
	}

	start := time.Now()
	idB := writeBuild(t, dir, "/b /from-b 308", "/x /x-from-b 307")
	written := time.Since(start)
	took := waitFor(t, "the new build to answer", func() bool {
		return do(t, "GET", base+"/x", "").header.Get("Location") == "/x-from-b"
	})
	t.Logf("rebuild written in %v; new answers %v after that (debounce 50ms)", written, took)

	if r := do(t, "GET", base+"/a", ""); r.status != 404 {
		t.Errorf("/a after rebuild: %d, want 404", r.status)
	}
	if r := do(t, "GET", base+"/b", ""); r.status != 308 {
		t.Errorf("/b after rebuild: %d, want 308", r.status)
	}
	st := l.Status()
	if st.BuildID != idB || st.Reloads != 2 || st.LastError != "" || st.Rules != 2 {
		t.Errorf("status after rebuild: %+v (build A was %s)", st, idA)
	}
	if m.Reloads() != 2 || m.ReloadFailures() != 0 {
		t.Errorf("metrics: reloads %d failures %d, want 2 and 0", m.Reloads(), m.ReloadFailures())
	}

	// An unchanged rebuild (same id) is not a reload.
	writeBuild(t, dir, "/b /from-b 308", "/x /x-from-b 307")
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := l.Status().Reloads; got != 2 {
		t.Errorf("reloads after an unchanged build: %d, want 2", got)
	}
}

// corruptions each turn a good build written into dir into a bad one
// placed over the build being served.
var corruptions = []struct {
	name  string
	apply func(t *testing.T, dir string)
}{
	{"flipped shard byte", func(t *testing.T, dir string) {
		stageBuild(t, dir, func(name string, b []byte) []byte {
			if strings.HasSuffix(name, ".rdx") {
				b[len(b)/2] ^= 0x40
			}
			return b
		})
	}},
	{"truncated shard", func(t *testing.T, dir string) {
		stageBuild(t, dir, func(name string, b []byte) []byte {
			if strings.HasSuffix(name, ".rdx") {
				return b[:len(b)-9]
			}
			return b
		})
	}},
	{"half-written index", func(t *testing.T, dir string) {
		stageBuild(t, dir, func(name string, b []byte) []byte {
			if name == shardfmt.IndexFileName {
				return b[:len(b)/2]
			}
			return b
		})
	}},
	{"missing shard", func(t *testing.T, dir string) {
		stageBuild(t, dir, func(name string, b []byte) []byte {
			if strings.HasSuffix(name, ".rdx") {
				return nil
			}
			return b
		})
	}},
	{"index written in place", func(t *testing.T, dir string) {
		// A careless deploy writing the index file directly (no rename):
		// events arrive mid-write; each attempt sees a prefix.
		os.WriteFile(filepath.Join(dir, shardfmt.IndexFileName), []byte(`{"format": 1, "buildId": "`), 0o644)
	}},
}

// stageBuild compiles a new build (different from the one served) in a
// scratch directory, passes each file through edit (nil drops it), copies
// the shards into dir and renames the index into place last, the way the
// compiler does.
func stageBuild(t *testing.T, dir string, edit func(name string, b []byte) []byte) {
	t.Helper()
	scratch := t.TempDir()
	writeBuild(t, scratch, "/corrupt /never-served 301", "/x /x-from-corrupt 302")
	ents, err := os.ReadDir(scratch)
	if err != nil {
		t.Fatal(err)
	}
	var index []byte
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(scratch, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b = edit(e.Name(), b)
		switch {
		case b == nil:
		case e.Name() == shardfmt.IndexFileName:
			index = b
		default:
			if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	tmp := filepath.Join(dir, ".tmp-index")
	if err := os.WriteFile(tmp, index, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, shardfmt.IndexFileName)); err != nil {
		t.Fatal(err)
	}
}

func TestLiveRefusesCorruptBuild(t *testing.T) {
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			idA := writeBuild(t, dir, "/a /from-a 301", "/x /x-from-a 302")
			m := NewMetrics()
			var refused atomic.Int32
			l, err := OpenLive(dir, LiveOptions{Logger: testLogger(t), Metrics: m, Debounce: 20 * time.Millisecond,
				OnReload: func(st Status, err error) {
					if err != nil {
						refused.Add(1)
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			watchLive(t, l)
			base := startHandler(t, NewHandler(l, nil, HandlerOptions{Metrics: m}))
			health := startHandler(t, l.HealthHandler())

			c.apply(t, dir)
			waitFor(t, "the bad build to be refused", func() bool { return refused.Load() > 0 })

			// The old build keeps answering, in full.
			for i := 0; i < 20; i++ {
				if r := do(t, "GET", base+"/x", ""); r.status != 302 || r.header.Get("Location") != "/x-from-a" {
					t.Fatalf("after a bad build: %d %q, want build A's answer", r.status, r.header.Get("Location"))
				}
			}
			if r := do(t, "GET", base+"/corrupt", ""); r.status != 404 {
				t.Errorf("/corrupt: %d, want 404 (the bad build must not serve)", r.status)
			}
			st := l.Status()
			if st.BuildID != idA || st.LastError == "" || st.Failures == 0 {
				t.Errorf("status: %+v", st)
			}
			if m.ReloadFailures() == 0 {
				t.Error("reload failures not counted")
			}
			r := do(t, "GET", health, "")
			var hs struct {
				Status    string `json:"status"`
				BuildID   string `json:"buildId"`
				LastError string `json:"lastError"`
			}
			if err := json.Unmarshal([]byte(r.body), &hs); err != nil || r.status != 200 || hs.BuildID != idA || hs.LastError == "" {
				t.Errorf("healthz after a refused build: %d %s", r.status, r.body)
			}
			t.Logf("refused with: %s", st.LastError)

			// A good build afterwards is loaded and clears the error.
			idC := writeBuild(t, dir, "/c /from-c 301", "/x /x-from-c 307")
			waitFor(t, "the good build", func() bool { return l.Status().BuildID == idC })
			if st := l.Status(); st.LastError != "" {
				t.Errorf("error not cleared by a good build: %q", st.LastError)
			}
			if r := do(t, "GET", base+"/x", ""); r.status != 307 {
				t.Errorf("after the good build: %d", r.status)
			}
		})
	}
}

func TestLiveWaitsForDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet")
	m := NewMetrics()
	l := NewLive(dir, LiveOptions{Logger: testLogger(t), Metrics: m, Debounce: 20 * time.Millisecond, WaitInterval: 20 * time.Millisecond})
	if err := l.Reload(); !errors.Is(err, ErrNoBuild) {
		t.Fatalf("Reload of a missing directory: %v, want ErrNoBuild", err)
	}
	watchLive(t, l)
	base := startHandler(t, l.Handler(nextHandler))
	health := startHandler(t, l.HealthHandler())
	if r := do(t, "GET", health, ""); r.status != 503 || !strings.Contains(r.body, `"status": "no build"`) {
		t.Errorf("healthz before a build: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", base+"/a", ""); r.status != 299 {
		t.Errorf("before a build: %d, want a miss", r.status)
	}
	if m.ReloadFailures() != 0 {
		t.Errorf("a missing build counted as a failure")
	}

	id := writeBuild(t, dir, "/a /from-a 301")
	took := waitFor(t, "the first build", func() bool { return do(t, "GET", base+"/a", "").status == 301 })
	t.Logf("first build answered %v after it was written", took)
	if r := do(t, "GET", health, ""); r.status != 200 || !strings.Contains(r.body, id) {
		t.Errorf("healthz after the build: %d %s", r.status, r.body)
	}

	// The directory is removed (the build keeps serving) and a new one
	// is built in its place.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if r := do(t, "GET", base+"/a", ""); r.status != 301 {
		t.Errorf("after the directory was removed: %d, want the build to keep serving", r.status)
	}
	id2 := writeBuild(t, dir, "/b /from-b 301")
	waitFor(t, "the build in the new directory", func() bool { return l.Status().BuildID == id2 })
	if r := do(t, "GET", base+"/b", ""); r.status != 301 {
		t.Errorf("new directory: %d", r.status)
	}
}

func TestLiveDebounce(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, "/v /0 301")
	l, err := OpenLive(dir, LiveOptions{Logger: testLogger(t), Debounce: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	watchLive(t, l)
	var last string
	for i := 1; i <= 5; i++ {
		last = writeBuild(t, dir, "/v /"+string(rune('0'+i))+" 301")
	}
	waitFor(t, "the last build", func() bool { return l.Status().BuildID == last })
	// Five builds landed well within one debounce period on any sane
	// machine; they must not have given five reloads.
	if n := l.Status().Reloads - 1; n >= 5 {
		t.Errorf("%d reloads for 5 quick builds: events are not debounced", n)
	} else {
		t.Logf("5 quick builds gave %d reload(s)", n)
	}
}

func TestLiveConcurrentSwaps(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	writeBuild(t, dirA, "/x /from-a 301", "/y /y-a 302")
	writeBuild(t, dirB, "/x /from-b 308", "/y /y-b 307")
	a, err := Open(dirA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(dirB)
	if err != nil {
		t.Fatal(err)
	}
	l := staticLive(a)
	h := NewHandler(l, nil, HandlerOptions{Metrics: NewMetrics()})
	base := startHandler(t, h)

	stop := make(chan struct{})
	var swaps atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if swaps.Add(1)%2 == 0 {
				l.cur.Store(a)
			} else {
				l.cur.Store(b)
			}
			time.Sleep(20 * time.Microsecond)
		}
	})
	var clients sync.WaitGroup
	for range 4 {
		clients.Go(func() {
			for i := 0; i < 200; i++ {
				r := do(t, "GET", base+"/x", "")
				loc := r.header.Get("Location")
				if !(r.status == 301 && loc == "/from-a") && !(r.status == 308 && loc == "/from-b") {
					t.Errorf("during swaps: %d %q", r.status, loc)
				}
			}
		})
	}
	clients.Wait()
	close(stop)
	wg.Wait()
	t.Logf("%d swaps during 800 requests", swaps.Load())
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

// TestLiveNoLeakAcross100Reloads rebuilds the directory 100 times under a
// watching Live and checks that goroutines and file descriptors do not
// grow, and that the builds swapped out are freed by the GC.
func TestLiveNoLeakAcross100Reloads(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd")
	}
	dir := t.TempDir()
	builds := []string{writeBuild(t, t.TempDir(), "/x /a 301"), writeBuild(t, t.TempDir(), "/x /b 302")}
	lines := [][]string{{"/x /a 301"}, {"/x /b 302"}}
	writeBuild(t, dir, lines[0]...)
	l, err := OpenLive(dir, LiveOptions{Logger: testLogger(t), Debounce: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	watchLive(t, l)
	h := l.Handler(nil)
	req, _ := http.NewRequest("GET", "/x", nil)

	var freed atomic.Int64
	track := func() {
		goruntime.AddCleanup(l.Set(), func(struct{}) { freed.Add(1) }, struct{}{})
	}
	track()
	// Let the watcher settle before taking the baseline.
	time.Sleep(50 * time.Millisecond)
	goruntime.GC()
	g0, f0 := goruntime.NumGoroutine(), openFDs(t)

	const n = 100
	start := time.Now()
	for i := 1; i <= n; i++ {
		writeBuild(t, dir, lines[i%2]...)
		waitFor(t, "reload", func() bool { return l.Status().BuildID == builds[i%2] })
		track()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if want := []int{301, 302}[i%2]; rec.Code != want {
			t.Fatalf("reload %d: status %d, want %d", i, rec.Code, want)
		}
	}
	t.Logf("%d rebuild+reload cycles in %v", n, time.Since(start))
	if got := l.Status().Reloads; got != n+1 {
		t.Errorf("%d reloads, want %d", got, n+1)
	}

	var g1, f1 int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		goruntime.GC()
		g1, f1 = goruntime.NumGoroutine(), openFDs(t)
		if g1 <= g0 && f1 <= f0 && freed.Load() >= n-1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leak after %d reloads: goroutines %d -> %d, fds %d -> %d, %d of %d swapped-out builds freed",
				n, g0, g1, f0, f1, freed.Load(), n)
		}
	}
	t.Logf("goroutines %d -> %d, fds %d -> %d, %d of %d swapped-out builds freed", g0, g1, f0, f1, freed.Load(), n)
}
