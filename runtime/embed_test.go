package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/redirc/redirc/shardfmt"
)

// Tests for what a program embedding the runtime meets first: the errors
// of Open and OpenLive, a Live before its first build, and Handlers over
// either a Set or a Live.

// staticLive returns a Live that serves s and has no directory (tests swap
// its Set directly).
func staticLive(s *Set) *Live {
	l := &Live{}
	l.cur.Store(s)
	return l
}

// logRecorder is a slog.Handler that keeps every record's level and
// message.
type logRecorder struct {
	mu   sync.Mutex
	recs []string
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r.Level.String()+" "+r.Message)
	h.mu.Unlock()
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

func (h *logRecorder) records() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.recs...)
}

// noBuildDirs returns directories that hold no build: one that does not
// exist and an empty one.
func noBuildDirs(t *testing.T) map[string]string {
	return map[string]string{
		"missing directory": filepath.Join(t.TempDir(), "not-there"),
		"empty directory":   t.TempDir(),
	}
}

// brokenBuildDirs returns directories whose build is there but cannot be
// loaded: these must not read as "no build".
func brokenBuildDirs(t *testing.T) map[string]string {
	dirs := map[string]string{}

	corrupt := t.TempDir()
	writeBuild(t, corrupt, "/a /b 301")
	if err := os.WriteFile(filepath.Join(corrupt, shardfmt.IndexFileName), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	dirs["corrupt index"] = corrupt

	missingShard := t.TempDir()
	writeBuild(t, missingShard, "/a /b 301")
	shards, _ := filepath.Glob(filepath.Join(missingShard, "*.rdx"))
	if len(shards) == 0 {
		t.Fatal("build wrote no shard files")
	}
	if err := os.Remove(shards[0]); err != nil {
		t.Fatal(err)
	}
	dirs["missing shard"] = missingShard

	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dirs["not a directory"] = file
	return dirs
}

// TestErrNoBuild checks that every way to load a directory says ErrNoBuild
// when the directory holds no build, and something else when it holds a
// build that cannot be loaded.
func TestErrNoBuild(t *testing.T) {
	openers := map[string]func(dir string) error{
		"OpenLive": func(dir string) error {
			l, err := OpenLive(dir, LiveOptions{Logger: testLogger(t)})
			if (l == nil) != (err != nil) {
				t.Errorf("OpenLive(%s) = %v, %v: want a Live or an error", dir, l, err)
			}
			return err
		},
		"Reload": func(dir string) error {
			return NewLive(dir, LiveOptions{Logger: testLogger(t)}).Reload()
		},
		"openError": func(dir string) error {
			_, err := shardfmt.LoadBuild(dir)
			if err == nil {
				return nil
			}
			return openError(dir, err)
		},
	}
	for name, open := range openers {
		for what, dir := range noBuildDirs(t) {
			err := open(dir)
			if !errors.Is(err, ErrNoBuild) {
				t.Errorf("%s, %s: %v, want ErrNoBuild", name, what, err)
			} else if !strings.Contains(err.Error(), dir) {
				t.Errorf("%s, %s: %q does not name the directory", name, what, err)
			}
		}
		for what, dir := range brokenBuildDirs(t) {
			err := open(dir)
			if err == nil || errors.Is(err, ErrNoBuild) {
				t.Errorf("%s, %s: %v, want an error other than ErrNoBuild", name, what, err)
			}
		}
	}
}

// TestOpenErrNoBuild is TestErrNoBuild for Open.
func TestOpenErrNoBuild(t *testing.T) {
	for what, dir := range noBuildDirs(t) {
		if _, err := Open(dir); !errors.Is(err, ErrNoBuild) {
			t.Errorf("Open, %s: %v, want ErrNoBuild", what, err)
		}
	}
	for what, dir := range brokenBuildDirs(t) {
		if _, err := Open(dir); err == nil || errors.Is(err, ErrNoBuild) {
			t.Errorf("Open, %s: %v, want an error other than ErrNoBuild", what, err)
		}
	}
}

// TestOpenLiveDoesNotLogItsError: OpenLive returns its error and leaves
// logging it to the caller; a failed OpenLive also counts nothing and
// calls no OnReload (the caller never gets the Live).
func TestOpenLiveDoesNotLogItsError(t *testing.T) {
	dirs := noBuildDirs(t)
	for what, dir := range brokenBuildDirs(t) {
		dirs[what] = dir
	}
	for what, dir := range dirs {
		rec := &logRecorder{}
		m := NewMetrics()
		called := false
		l, err := OpenLive(dir, LiveOptions{Logger: slog.New(rec), Metrics: m, OnReload: func(Status, error) { called = true }})
		if err == nil || l != nil {
			t.Fatalf("%s: OpenLive = %v, %v; want an error", what, l, err)
		}
		if got := rec.records(); len(got) > 0 {
			t.Errorf("%s: OpenLive returned %q and also logged %q", what, err, got)
		}
		if called {
			t.Errorf("%s: OpenLive called OnReload for a Live it did not return", what)
		}
		if n := m.ReloadFailures(); n != 0 {
			t.Errorf("%s: OpenLive counted %d reload failures for a Live it did not return", what, n)
		}
	}

	// On success it is NewLive followed by Reload: the load is logged,
	// counted and reported like any reload.
	dir := t.TempDir()
	id := writeBuild(t, dir, "/a /b 301")
	rec := &logRecorder{}
	var got []Status
	l, err := OpenLive(dir, LiveOptions{Logger: slog.New(rec), OnReload: func(st Status, err error) { got = append(got, st) }})
	if err != nil {
		t.Fatal(err)
	}
	if st := l.Status(); st.BuildID != id || st.Reloads != 1 || st.Rules != 1 || st.Dir != dir || st.LoadedAt.IsZero() {
		t.Errorf("after OpenLive: %+v", st)
	}
	if len(got) != 1 || got[0].BuildID != id {
		t.Errorf("OnReload calls: %+v, want one for build %s", got, id)
	}
	if recs := rec.records(); len(recs) != 1 || recs[0] != "INFO redirc: build loaded" {
		t.Errorf("logs: %q, want one INFO redirc: build loaded", recs)
	}
}

// TestLiveBeforeFirstBuild uses every method of a Live that has no build
// yet, made by NewLive or the zero value: all answer misses or say "no
// build", none panics.
func TestLiveBeforeFirstBuild(t *testing.T) {
	for name, l := range map[string]*Live{
		"NewLive": NewLive(filepath.Join(t.TempDir(), "not-yet"), LiveOptions{Logger: testLogger(t)}),
		"zero":    new(Live),
	} {
		t.Run(name, func(t *testing.T) {
			if s := l.Set(); s != nil {
				t.Errorf("Set() = %v, want nil", s)
			}
			if s := l.Current(); s != nil {
				t.Errorf("Current() = %v, want nil", s)
			}
			if r := l.Lookup("example.com", "/a", ""); r.Found() || r != (Result{}) {
				t.Errorf("Lookup = %+v, want a miss", r)
			}
			if r := l.LookupRequest(httptest.NewRequest("GET", "/a", nil)); r != (Result{}) {
				t.Errorf("LookupRequest = %+v, want a miss", r)
			}
			if st := l.Status(); st.BuildID != "" || st.Reloads != 0 || st.Dir != l.Dir() {
				t.Errorf("Status() = %+v", st)
			}

			m := NewMetrics()
			clicks := NewEventSink("clicks", 1, func(Event) { t.Error("a click before any build") })
			defer clicks.Close()
			for _, h := range []http.Handler{
				l.Handler(nextHandler),
				NewHandler(l, nextHandler, HandlerOptions{Metrics: m, Clicks: clicks}),
			} {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/a", nil))
				if rec.Code != 299 {
					t.Errorf("Handler: %d, want the next handler's 299", rec.Code)
				}
			}
			rec := httptest.NewRecorder()
			NewHandler(l, nil, HandlerOptions{}).ServeHTTP(rec, httptest.NewRequest("GET", "/a", nil))
			if rec.Code != 404 {
				t.Errorf("Handler with nil next: %d, want 404", rec.Code)
			}

			rec = httptest.NewRecorder()
			l.HealthHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"status": "no build"`) {
				t.Errorf("HealthHandler: %d %s", rec.Code, rec.Body)
			}

			var b strings.Builder
			if err := m.WritePrometheus(&b); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "redirc_misses_total 1") {
				t.Errorf("metrics after one miss:\n%s", b.String())
			}
		})
	}

	// The zero Live has no directory to load from or watch.
	var zero Live
	if err := zero.Reload(); err == nil {
		t.Error("Reload of the zero Live: nil error")
	}
	if err := zero.Watch(context.Background()); err == nil {
		t.Error("Watch of the zero Live: nil error")
	}
}

// TestLiveFirstBuildUnderLoad serves requests while the first build is
// being loaded: each is a miss or the build's answer (run with -race).
func TestLiveFirstBuildUnderLoad(t *testing.T) {
	dir := t.TempDir()
	l := NewLive(dir, LiveOptions{Logger: testLogger(t)})
	h := l.Handler(nextHandler)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			req := httptest.NewRequest("GET", "/a", nil)
			for {
				select {
				case <-stop:
					return
				default:
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 299 && (rec.Code != 301 || rec.Header().Get("Location") != "/b") {
					t.Errorf("during the first load: %d %q", rec.Code, rec.Header().Get("Location"))
				}
				if r := l.Lookup("", "/a", ""); r.Found() && r.Location != "/b" {
					t.Errorf("Lookup during the first load: %+v", r)
				}
				l.Status()
			}
		})
	}
	writeBuild(t, dir, "/a /b 301")
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if r := l.Lookup("", "/a", ""); r != (Result{Status: 301, Location: "/b"}) {
		t.Errorf("after the first load: %+v", r)
	}
}

// TestHandlerSources builds Handlers with the same options over a Set, a
// Live and a Source of the caller's own, and checks they answer alike.
func TestHandlerSources(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, handlerRules...)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := OpenLive(dir, LiveOptions{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	opts := func(m *Metrics) HandlerOptions {
		return HandlerOptions{CacheControl: map[int]string{301: "public, max-age=60", 302: ""}, Metrics: m}
	}
	for name, src := range map[string]Source{
		"Set":    s,
		"Live":   l,
		"custom": sourceFunc(func() *Set { return s }),
	} {
		m := NewMetrics()
		h := NewHandler(src, nextHandler, opts(m))
		for _, c := range []struct {
			path string
			code int
			loc  string
			cc   string
		}{
			{"/perm", 301, "/to-perm", "public, max-age=60"},
			{"/found", 302, "/to-found", ""},
			{"/temp", 307, "/to-temp", "no-store"},
			{"/nope", 299, "", ""},
		} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
			if rec.Code != c.code || rec.Header().Get("Location") != c.loc || rec.Header().Get("Cache-Control") != c.cc {
				t.Errorf("%s: GET %s: %d %q %q, want %d %q %q", name, c.path, rec.Code,
					rec.Header().Get("Location"), rec.Header().Get("Cache-Control"), c.code, c.loc, c.cc)
			}
		}
		var b strings.Builder
		m.WritePrometheus(&b)
		for _, want := range []string{`redirc_redirects_total{status="301"} 1`, "redirc_misses_total 1"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s: metrics lack %s:\n%s", name, want, b.String())
			}
		}
	}

	// A nil *Set is a Source with no build: every request is a miss.
	rec := httptest.NewRecorder()
	NewHandler((*Set)(nil), nextHandler, HandlerOptions{}).ServeHTTP(rec, httptest.NewRequest("GET", "/perm", nil))
	if rec.Code != 299 {
		t.Errorf("nil *Set: %d, want a miss", rec.Code)
	}
}

// TestNewHandlerNilSource: a nil Source is a mistake caught when the
// Handler is made, not at its first request.
func TestNewHandlerNilSource(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "nil Source") {
			t.Errorf("NewHandler(nil, ...): recovered %v, want a panic about a nil Source", r)
		}
	}()
	NewHandler(nil, nil, HandlerOptions{})
}

type sourceFunc func() *Set

func (f sourceFunc) Current() *Set { return f() }

// TestHandlerAllocsPerSource is TestHandlerAllocs for each kind of Source:
// one allocation (the Location value) on a hit, none on a miss.
func TestHandlerAllocsPerSource(t *testing.T) {
	_, s := benchSetup(t)
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	w := &discardWriter{h: make(http.Header)}
	hit := httptest.NewRequest("GET", "/page/42", nil)
	miss := httptest.NewRequest("GET", "/nope/42", nil)
	for name, src := range map[string]Source{"Set": s, "Live": staticLive(s), "no build": new(Live)} {
		h := NewHandler(src, next, HandlerOptions{Metrics: NewMetrics()})
		for _, c := range []struct {
			req *http.Request
			max float64
		}{{hit, 1}, {miss, 0}} {
			n := testing.AllocsPerRun(200, func() {
				clear(w.h)
				h.ServeHTTP(w, c.req)
			})
			if n > c.max {
				t.Errorf("%s, %s: %.1f allocations per request, want at most %.0f", name, c.req.URL.Path, n, c.max)
			}
		}
	}
}
