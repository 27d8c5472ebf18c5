package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/redirc/redirc/shardfmt"
)

// Live is the build a server is serving right now, reloaded from a build
// directory when a new build lands there.
//
// Requests read the current *Set with one atomic pointer load (Set); they
// never take a lock and never wait for a reload. A reload (Reload, or Watch
// noticing a new index.json) opens and fully verifies the new build on the
// reloading goroutine, and only then swaps the pointer. So a request sees
// the old build or the new one, never a mix, and once a build is loaded
// never "no build". A build that fails to load or to verify is refused: it
// is logged, counted, recorded in Status (which /healthz reports), and the
// previous build keeps serving.
//
// Before its first build is loaded (NewLive, then a directory that has no
// build yet), and in its zero value, a Live is safe to use: Set and
// Current return nil, Lookup and LookupRequest answer misses, a Handler
// passes every request to its next handler, and HealthHandler answers 503.
// The zero Live has no directory, so it never gets a build: Reload and
// Watch return an error.
//
// Releasing an old build needs no reference counting: a Set holds its shards
// as plain heap bytes (shardfmt reads files, it does not map them) and no
// open files, so once the pointer has been swapped an old Set is garbage
// that the GC frees when the last request still using it returns. While a
// reload runs, the old and the new build are both in memory; plan for twice
// the build's size at peak.
type Live struct {
	dir  string
	opts LiveOptions
	log  *slog.Logger

	cur    atomic.Pointer[Set]
	status atomic.Pointer[Status]

	mu sync.Mutex // serializes reloads, so an older load never replaces a newer one

	// remote, when not nil, serves a build from an HTTP origin (dir is
	// its URL); see OpenRemote.
	remote *remoteSource
}

// LiveOptions configures a Live. The zero value is usable.
type LiveOptions struct {
	// Debounce is how long Watch waits after the last event for the
	// index before reloading, so that a burst of events (a build written
	// by a tool that writes index.json in several steps, a deploy copying
	// files) gives one reload. 0 means 200ms.
	Debounce time.Duration
	// Poll, when positive, makes Watch also re-read the index every Poll,
	// as a safety net for file systems whose changes inotify does not see
	// (network mounts, some container volumes, a build directory that is
	// a symbolic link swapped in place). Re-reading an unchanged index
	// costs one small file read and JSON parse. 0 means never.
	Poll time.Duration
	// WaitInterval is how often Watch looks for the build directory while
	// it does not exist (it cannot be watched until it does). 0 means 1s.
	WaitInterval time.Duration
	// Logger receives reload logs. nil means slog.Default().
	Logger *slog.Logger
	// Metrics, if not nil, counts reloads and failures and reports the
	// build being served (of the Live created last with it).
	Metrics *Metrics
	// OnReload, if not nil, is called after every reload attempt that
	// swapped in a build or was refused, with the new status and the error
	// (nil on success). It runs on the reloading goroutine.
	OnReload func(Status, error)
	// Remote configures a Live whose dir is an http(s) URL (see
	// OpenRemote); a Live for a local directory ignores it.
	Remote RemoteOptions
}

func (o *LiveOptions) debounce() time.Duration {
	if o.Debounce > 0 {
		return o.Debounce
	}
	return 200 * time.Millisecond
}

func (o *LiveOptions) waitInterval() time.Duration {
	if o.WaitInterval > 0 {
		return o.WaitInterval
	}
	return time.Second
}

// Status describes the build a Live is serving and its latest reload.
type Status struct {
	// Dir is the build directory.
	Dir string `json:"dir"`
	// BuildID, Rules and Shards describe the build being served; BuildID is
	// "" until one is loaded.
	BuildID string `json:"buildId"`
	Rules   int    `json:"rules"`
	Shards  int    `json:"shards"`
	// LoadedAt is when the build being served was swapped in, and
	// LoadDuration how long it took to open and verify.
	LoadedAt     time.Time     `json:"loadedAt,omitzero"`
	LoadDuration time.Duration `json:"loadDurationNs,omitzero"`
	// LastAttempt is when a reload was last attempted (whatever its result).
	LastAttempt time.Time `json:"lastAttempt,omitzero"`
	// LastError is why the latest reload attempt was refused, "" when it
	// succeeded or found the build unchanged. LastErrorAt is when.
	LastError   string    `json:"lastError"`
	LastErrorAt time.Time `json:"lastErrorAt,omitzero"`
	// Reloads counts builds swapped in; Failures counts refused ones.
	Reloads  uint64 `json:"reloads"`
	Failures uint64 `json:"failures"`
	// Degraded, when not "", says why a build served from an HTTP origin
	// may not answer every request (the origin is down, slow, or serves a
	// bad shard); what is loaded keeps answering.
	Degraded string `json:"degraded,omitempty"`
}

// ErrNoBuild is wrapped by the error of OpenLive and Reload when the
// directory holds no build yet: it has no index file, or does not exist.
// Any other problem (an index that does not parse, a shard missing or
// corrupt, a path that is not a directory) is a different error. Reload
// does not count ErrNoBuild as a failure.
var ErrNoBuild = errors.New("runtime: no build in directory")

// openError is the error for the build in dir that failed to load with err
// (from reading its index, or from shardfmt.LoadBuild). When err is the
// index file not existing (also when dir does not exist), it wraps
// ErrNoBuild; otherwise it says which build could not be opened. A missing
// shard file also wraps fs.ErrNotExist, but its path names the shard, so it
// stays a broken build. Only the path's last element is compared, so that
// an index opened relative to an fs.FS counts too.
func openError(dir string, err error) error {
	var pe *fs.PathError
	if errors.Is(err, fs.ErrNotExist) && errors.As(err, &pe) &&
		path.Base(filepath.ToSlash(pe.Path)) == shardfmt.IndexFileName {
		return fmt.Errorf("opening build %s: %w: %w", dir, ErrNoBuild, err)
	}
	return fmt.Errorf("opening build %s: %w", dir, err)
}

// NewLive returns a Live for the build directory dir, or for the build
// published at dir when it is an http(s) URL (see OpenRemote; Watch then
// polls its index). Nothing is loaded yet:
// call Reload (to load now and see the error) and Watch (to follow new
// builds). Until a build is loaded, Set returns nil and a Handler passes
// every request to its next handler.
func NewLive(dir string, opts LiveOptions) *Live {
	l := &Live{dir: dir, opts: opts, log: opts.Logger}
	if l.log == nil {
		l.log = slog.Default()
	}
	if IsRemote(dir) {
		l.remote = newRemoteSource(l, dir, opts.Remote)
	}
	l.status.Store(&Status{Dir: dir})
	opts.Metrics.attach(l)
	return l
}

// OpenLive loads the build in dir and returns a Live serving it, for a
// program that will not start without its redirects. A dir that is an
// http(s) URL is OpenRemote(context.Background(), dir, opts). If the build cannot be
// loaded it returns the error (wrapping ErrNoBuild when dir holds no build)
// and nothing else happens: nothing is logged, counted in
// LiveOptions.Metrics or reported to OnReload, since the caller gets no
// Live. On success the load is logged, counted and reported like a Reload.
//
// A program that should start without a build and wait for one uses
// NewLive, Reload (whose error it may ignore: Reload logs it) and Watch.
func OpenLive(dir string, opts LiveOptions) (*Live, error) {
	if IsRemote(dir) {
		return OpenRemote(context.Background(), dir, opts)
	}
	start := time.Now()
	// The index is read first for its error: a directory without a build
	// gives ErrNoBuild here, as it does to Reload.
	if _, err := readBuildID(dir); err != nil {
		return nil, err
	}
	s, err := Open(dir)
	if err != nil {
		return nil, err
	}
	l := NewLive(dir, opts)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.install(s, nil, start)
	return l, nil
}

// Set returns the build being served, or nil before the first one is
// loaded. The returned Set stays valid (and unchanged) for as long as the
// caller uses it, even if a reload swaps in another.
func (l *Live) Set() *Set { return l.cur.Load() }

// Current is Set: it makes a Live a Source, for NewHandler.
func (l *Live) Current() *Set { return l.cur.Load() }

// Lookup is Set().Lookup: it answers from the build being served, and
// answers a miss before the first build is loaded. Like Set.Lookup it
// takes no lock and does not allocate on a miss or a plain hit. To make
// several lookups against one build, call Set once and use the Set.
func (l *Live) Lookup(host, path, rawQuery string) Result {
	if s := l.cur.Load(); s != nil {
		return s.Lookup(host, path, rawQuery)
	}
	return Result{}
}

// Dir returns the build directory ("" for the zero Live).
func (l *Live) Dir() string { return l.dir }

// Status returns the current build and reload state. Before the first
// build is loaded, BuildID is "" and Rules, Shards and LoadedAt are zero.
func (l *Live) Status() Status {
	st := Status{Dir: l.dir}
	if p := l.status.Load(); p != nil {
		st = *p
	}
	if l.remote != nil {
		st.Degraded = l.remote.degradedReason()
	}
	return st
}

// Reload loads the build in the directory now, unless it is the build being
// served (same build id: then it does nothing and returns nil). The new
// build is opened and verified completely before it replaces the current
// one; on any error the current build keeps serving and the error is
// returned (wrapping ErrNoBuild when the directory holds no build).
//
// Reload is also what Watch, a SIGHUP handler or a poll loop call, and
// they have nowhere to send an error: so, unlike OpenLive, Reload also
// logs every outcome and records it in Status and Metrics, and a caller
// may ignore its error. Concurrent calls are serialized.
func (l *Live) Reload() error {
	if l.dir == "" {
		return errors.New("runtime: reload: this Live has no build directory (make one with NewLive or OpenLive)")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reloadLocked()
}

func (l *Live) reloadLocked() error {
	start := time.Now()
	cur := l.cur.Load()
	if l.remote != nil {
		return l.remote.reload(context.Background(), start, cur)
	}

	// Cheap check first: an index naming the build being served means
	// there is nothing to do (an event for an unchanged build, a poll).
	id, err := readBuildID(l.dir)
	if err == nil && cur != nil && id == cur.BuildID() {
		l.recordUnchanged(start)
		return nil
	}
	var s *Set
	if err == nil {
		s, err = openReusing(l.dir, cur) // shard by shard: unchanged shards are kept
	}
	if err != nil {
		return l.recordFailure(start, cur, err)
	}
	if cur != nil && s.BuildID() == cur.BuildID() {
		l.recordUnchanged(start)
		return nil
	}
	l.install(s, cur, start)
	return nil
}

// install swaps in s, the build loaded since start in place of cur (nil
// for the first), and records, counts, logs and reports it. l.mu is held.
func (l *Live) install(s, cur *Set, start time.Time) {
	l.cur.Store(s)
	elapsed := time.Since(start)

	st := l.Status()
	st.BuildID, st.Rules, st.Shards = s.BuildID(), s.Rules(), len(s.ix.Shards)
	st.LoadedAt, st.LoadDuration, st.LastAttempt = time.Now(), elapsed, start
	st.LastError, st.LastErrorAt = "", time.Time{}
	st.Reloads++
	l.status.Store(&st)
	if m := l.opts.Metrics; m != nil {
		m.reloads.Add(1)
	}
	attrs := []any{"dir", l.dir, "build", s.BuildID(), "rules", s.Rules(), "shards", len(s.ix.Shards), "duration", elapsed}
	if cur != nil {
		attrs = append(attrs, "previous", cur.BuildID())
	}
	l.log.Info("redirc: build loaded", attrs...)
	if l.opts.OnReload != nil {
		l.opts.OnReload(st, nil)
	}
}

func (l *Live) recordUnchanged(start time.Time) {
	st := l.Status()
	st.LastAttempt = start
	st.LastError, st.LastErrorAt = "", time.Time{}
	l.status.Store(&st)
	l.log.Debug("redirc: build unchanged", "dir", l.dir, "build", st.BuildID)
}

func (l *Live) recordFailure(start time.Time, cur *Set, err error) error {
	st := l.Status()
	st.LastAttempt = start
	st.LastError, st.LastErrorAt = err.Error(), time.Now()
	noBuild := errors.Is(err, ErrNoBuild)
	if !noBuild {
		st.Failures++
		if m := l.opts.Metrics; m != nil {
			m.reloadFailures.Add(1)
		}
	}
	l.status.Store(&st)
	switch {
	case noBuild && cur == nil:
		l.log.Warn("redirc: no build yet; answering every request as a miss until one lands", "dir", l.dir, "error", err)
	case noBuild:
		l.log.Warn("redirc: build directory has no index; the previous build keeps serving", "dir", l.dir, "serving", cur.BuildID())
	case cur == nil:
		l.log.Error("redirc: build refused; no build is serving", "dir", l.dir, "error", err)
	default:
		l.log.Error("redirc: build refused; the previous build keeps serving", "dir", l.dir, "serving", cur.BuildID(), "error", err)
	}
	if l.opts.OnReload != nil {
		l.opts.OnReload(st, err)
	}
	return err
}

// readBuildID reads the build id from dir's index. A missing index (or
// directory) is ErrNoBuild.
func readBuildID(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, shardfmt.IndexFileName))
	if err != nil {
		return "", openError(dir, err)
	}
	ix, err := shardfmt.ParseIndex(b)
	if err != nil {
		return "", fmt.Errorf("opening build %s: %w", dir, err)
	}
	return ix.BuildID, nil
}

// Watch follows the build directory until ctx is done, reloading when a new
// build lands, and returns ctx.Err(). Run it on a goroutine of its own.
//
// It watches the directory, not the index file: the compiler replaces
// index.json by rename, which gives the name a new inode. An event for
// index.json (created, renamed into place or written) schedules a reload
// after LiveOptions.Debounce of quiet; while the latest attempt has failed,
// events for shard files (*.rdx) do too, so that a deploy tool that copies
// the index before the shards still converges. A kernel queue overflow also
// schedules a reload.
//
// If the directory does not exist yet, or is removed or renamed away, Watch
// looks for it every LiveOptions.WaitInterval and, once it is there, watches
// it and loads its build. If it exists but cannot be watched, Watch reloads
// every WaitInterval instead, while it keeps trying. If no file watcher can be created at all (the
// inotify instance limit is reached, say), Watch logs it and polls the index
// instead, every Poll or every second. Watch also reloads once when it
// starts, so a build that landed before Watch began is not missed.
func (l *Live) Watch(ctx context.Context) error {
	if l.dir == "" {
		return errors.New("runtime: watch: this Live has no build directory (make one with NewLive or OpenLive)")
	}
	if l.remote != nil {
		return l.remote.watch(ctx)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		every := l.opts.Poll
		if every <= 0 {
			every = time.Second
		}
		l.log.Warn("redirc: cannot watch the build directory; polling instead", "dir", l.dir, "every", every, "error", err)
		return l.poll(ctx, every)
	}
	defer w.Close()

	dir := filepath.Clean(l.dir)
	var (
		watching bool
		debounce *time.Timer
		fire     <-chan time.Time
		pollC    <-chan time.Time
		waitT    *time.Ticker
		waitC    <-chan time.Time
	)
	defer func() {
		if debounce != nil {
			debounce.Stop()
		}
		if waitT != nil {
			waitT.Stop()
		}
	}()
	if l.opts.Poll > 0 {
		t := time.NewTicker(l.opts.Poll)
		defer t.Stop()
		pollC = t.C
	}
	schedule := func() {
		if debounce == nil {
			debounce = time.NewTimer(l.opts.debounce())
		} else {
			debounce.Reset(l.opts.debounce())
		}
		fire = debounce.C
	}
	// start tries to watch dir; when it cannot, it arranges to try again.
	start := func() {
		if err := w.Add(dir); err != nil {
			if waitT == nil {
				if errors.Is(err, fs.ErrNotExist) {
					l.log.Info("redirc: waiting for the build directory to exist", "dir", dir, "every", l.opts.waitInterval())
				} else {
					l.log.Warn("redirc: cannot watch the build directory; retrying", "dir", dir, "every", l.opts.waitInterval(), "error", err)
				}
				waitT = time.NewTicker(l.opts.waitInterval())
				waitC = waitT.C
			}
			if !errors.Is(err, fs.ErrNotExist) {
				// The directory is there but cannot be watched (the
				// inotify watch limit, say): poll it meanwhile.
				l.reloadLogged()
			}
			return
		}
		watching = true
		if waitT != nil {
			waitT.Stop()
			waitT, waitC = nil, nil
		}
		l.reloadLogged()
	}
	start()

	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-waitC:
			start()
		case <-pollC:
			if watching {
				l.reloadLogged()
			}
		case <-fire:
			fire = nil
			l.reloadLogged()
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("runtime: watch: file watcher closed")
			}
			name := filepath.Clean(ev.Name)
			switch {
			case name == dir && ev.Has(fsnotify.Remove|fsnotify.Rename):
				// The directory itself went away: its watch is gone. The
				// current build keeps serving; look for a new directory.
				l.log.Warn("redirc: build directory removed; the current build keeps serving until a new one lands", "dir", dir)
				w.Remove(dir)
				watching = false
				start()
			case filepath.Dir(name) != dir:
			case filepath.Base(name) == shardfmt.IndexFileName && ev.Has(fsnotify.Create|fsnotify.Write):
				schedule()
			case strings.HasSuffix(name, ".rdx") && ev.Has(fsnotify.Create|fsnotify.Write) && l.Status().LastError != "":
				schedule()
			}
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("runtime: watch: file watcher closed")
			}
			if m := l.opts.Metrics; m != nil {
				m.watchErrors.Add(1)
			}
			l.log.Warn("redirc: build directory watcher error", "dir", dir, "error", err)
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				schedule() // events were lost; one of them may have been a new build
			}
		}
	}
}

// poll reloads every interval until ctx is done (Watch without a watcher).
func (l *Live) poll(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	l.reloadLogged()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			l.reloadLogged()
		}
	}
}

// reloadLogged is Reload for callers that do not need the error (it is
// logged and recorded by Reload itself).
func (l *Live) reloadLogged() { _ = l.Reload() }

// HealthHandler returns a handler for health checks. It answers 200 with a
// JSON Status once a build is serving (also when the latest reload was
// refused: the previous build still serves, and lastError says why), and
// 503 with the same JSON before the first build is loaded.
func (l *Live) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		st := l.Status()
		body := struct {
			State string `json:"status"`
			Status
		}{"ok", st}
		code := http.StatusOK
		if l.Set() == nil {
			body.State = "no build"
			code = http.StatusServiceUnavailable
		} else if st.Degraded != "" {
			body.State = "degraded"
		}
		w.WriteHeader(code)
		if r.Method == http.MethodHead {
			return
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(body)
	})
}
