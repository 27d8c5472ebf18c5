package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redirc/redirc/internal/pattern"
	"github.com/redirc/redirc/shardfmt"
)

// Defaults of RemoteOptions and of a remote Live's poll interval.
const (
	// DefaultCacheBytes bounds the shard bodies a remote build holds.
	DefaultCacheBytes = 256 << 20
	// DefaultFetchTimeout is how long a request waits for a shard.
	DefaultFetchTimeout = 2 * time.Second
	// DefaultRemotePoll is how often a remote Live asks the origin for
	// its index.json (with jitter), when LiveOptions.Poll is 0.
	DefaultRemotePoll = 10 * time.Second
)

// What a request whose shard could not be fetched in time answers
// (RemoteOptions.OnFetchError).
const (
	// OnFetchErrorUnavailable answers 503 Service Unavailable with
	// Cache-Control no-store, so that no CDN caches a wrong 404.
	OnFetchErrorUnavailable = "503"
	// OnFetchErrorMiss answers a miss: the request goes to the next
	// handler (the fallback) as if no rule matched.
	OnFetchErrorMiss = "miss"
)

// fetchFailed is the status a lazy build's probe reports when its shard
// could not be fetched: no shard record can carry it (shardfmt allows
// only redirect statuses and 410), so Set.answer passes it through and
// lazyBuild.lookup turns it into the answer RemoteOptions.OnFetchError
// asks for.
const fetchFailed = http.StatusServiceUnavailable

// originTimeout bounds one origin request made in the background (a shard
// fetch outlives the request that asked for it, so that the next request
// finds it loaded) and an index fetch.
const originTimeout = 30 * time.Second

// smallShard is the size up to which a shard is fetched whole even for a
// miss: a Range request would save little.
const smallShard = 16 << 10

// RemoteOptions configures a build served from an HTTP origin (see
// OpenRemote). The zero value is usable.
type RemoteOptions struct {
	// CacheBytes bounds the shard bodies held in memory, least recently
	// used first out; 0 means DefaultCacheBytes. Bloom filters (about 2
	// bytes per rule) of the shards touched are kept besides, so that a
	// miss never needs the origin twice. One shard is always held, even
	// if it is larger.
	CacheBytes int64
	// Preload fetches every shard when a build is first loaded, instead
	// of on demand (as many as CacheBytes holds stay).
	Preload bool
	// FetchTimeout is the longest a request waits for a shard; 0 means
	// DefaultFetchTimeout. The fetch goes on in the background.
	FetchTimeout time.Duration
	// OnFetchError is what a request answers when its shard could not be
	// fetched within FetchTimeout (or the origin failed): "" or
	// OnFetchErrorUnavailable (503), or OnFetchErrorMiss.
	OnFetchError string
	// Client makes the origin requests; nil means a client of its own.
	Client *http.Client
	// Metrics, if not nil, counts origin requests and the shard cache.
	Metrics *RemoteMetrics
}

// IsRemote reports whether location names a build on an HTTP origin (an
// http:// or https:// URL) rather than a directory.
func IsRemote(location string) bool {
	l := strings.ToLower(location)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// OpenRemote loads the build published at the http(s) URL rawURL (the
// URL of a build directory: rawURL + "/index.json" is its index) and
// returns a Live serving it, as OpenLive does for a directory. Only the
// index is fetched now (and every shard with RemoteOptions.Preload);
// shards are fetched when a request needs them: a miss costs at most one
// small Range request for the shard's header and Bloom filter, a hit the
// whole shard, each verified exactly as a local build's shards are before
// anything is answered from it. opts.Remote configures the cache and the
// fetches; Watch polls the index every opts.Poll (DefaultRemotePoll with
// jitter when 0) with conditional requests and loads a new build shard by
// shard: shards whose names did not change are kept as they are. ctx
// bounds the first load only.
func OpenRemote(ctx context.Context, rawURL string, opts LiveOptions) (*Live, error) {
	if !IsRemote(rawURL) {
		return nil, fmt.Errorf("runtime: open remote build %q: not an http(s) URL", rawURL)
	}
	l := NewLive(rawURL, opts)
	if l.remote.err != nil {
		return nil, l.remote.err
	}
	l.remote.quiet = true
	defer func() { l.remote.quiet = false }()
	l.mu.Lock()
	err := l.remote.reload(ctx, time.Now(), nil)
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return l, nil
}

// remoteSource is the part of a Live that serves from an origin.
type remoteSource struct {
	l       *Live
	base    *url.URL
	err     error // a URL that does not parse
	opts    RemoteOptions
	client  *http.Client
	m       *RemoteMetrics
	cache   *shardCache
	timeout time.Duration
	miss    bool

	// Guarded by l.mu (reloads).
	etag, lastMod string
	retry         int  // failed reload attempts in a row, for the backoff
	quiet         bool // OpenRemote's first load: errors go to the caller only

	degraded    atomic.Pointer[string]
	idxDegraded atomic.Pointer[string]
}

func newRemoteSource(l *Live, rawURL string, o RemoteOptions) *remoteSource {
	r := &remoteSource{l: l, opts: o, client: o.Client, m: o.Metrics, timeout: o.FetchTimeout, miss: o.OnFetchError == OnFetchErrorMiss}
	if r.client == nil {
		r.client = &http.Client{Timeout: originTimeout}
	}
	if r.timeout <= 0 {
		r.timeout = DefaultFetchTimeout
	}
	limit := o.CacheBytes
	if limit <= 0 {
		limit = DefaultCacheBytes
	}
	r.cache = newShardCache(limit, r.m)
	u, err := url.Parse(rawURL)
	if err == nil && u.Host == "" {
		err = errors.New("no host")
	}
	if err != nil {
		r.err = fmt.Errorf("runtime: remote build %q: %w", rawURL, err)
		u = &url.URL{}
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	u.RawQuery, u.Fragment = "", ""
	r.base = u
	switch o.OnFetchError {
	case "", OnFetchErrorUnavailable, OnFetchErrorMiss:
	default:
		if r.err == nil {
			r.err = fmt.Errorf("runtime: remote build: OnFetchError %q, want %q or %q", o.OnFetchError, OnFetchErrorUnavailable, OnFetchErrorMiss)
		}
	}
	return r
}

// fileURL returns the URL of a file of the build.
func (r *remoteSource) fileURL(name string) string {
	return r.base.JoinPath(name).String()
}

// degradedReason is Status.Degraded: why the origin is not serving us
// well right now, or "".
func (r *remoteSource) degradedReason() string {
	if p := r.idxDegraded.Load(); p != nil {
		return *p
	}
	if p := r.degraded.Load(); p != nil {
		return *p
	}
	return ""
}

func (r *remoteSource) setDegraded(p *atomic.Pointer[string], err error) {
	if err == nil {
		p.Store(nil)
		return
	}
	s := err.Error()
	p.Store(&s)
}

// get makes one origin request for the file name; rng, when not "", is
// a Range header value. cond adds If-None-Match / If-Modified-Since. It
// returns the response (body open) for a 2xx or 304 status.
func (r *remoteSource) get(ctx context.Context, name, rng string, cond bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.fileURL(name), nil)
	if err != nil {
		return nil, fmt.Errorf("runtime: origin: %w", err)
	}
	req.Header.Set("User-Agent", "redirc")
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	if cond {
		if r.etag != "" {
			req.Header.Set("If-None-Match", r.etag)
		}
		if r.lastMod != "" {
			req.Header.Set("If-Modified-Since", r.lastMod)
		}
	}
	r.m.request()
	resp, err := r.client.Do(req)
	if err != nil {
		r.m.error()
		return nil, fmt.Errorf("runtime: origin: %w", err)
	}
	if resp.StatusCode == http.StatusNotModified || resp.StatusCode/100 == 2 {
		return resp, nil
	}
	resp.Body.Close()
	r.m.error()
	return resp, &originStatusError{url: req.URL.String(), status: resp.StatusCode}
}

// originStatusError is an origin answering a status other than 2xx/304.
type originStatusError struct {
	url    string
	status int
}

func (e *originStatusError) Error() string {
	return fmt.Sprintf("runtime: origin: GET %s: %d %s", e.url, e.status, http.StatusText(e.status))
}

// readBody reads at most limit bytes of resp's body and closes it; more
// than limit is an error.
func (r *remoteSource) readBody(resp *http.Response, limit int64, start time.Time) ([]byte, error) {
	defer resp.Body.Close()
	var b []byte
	if resp.ContentLength >= 0 && resp.ContentLength <= limit {
		b = make([]byte, 0, resp.ContentLength)
	}
	buf := &limitedBuffer{b: b, limit: limit}
	n, err := io.Copy(buf, resp.Body)
	r.m.done(n, time.Since(start))
	if err != nil {
		r.m.error()
		return nil, fmt.Errorf("runtime: origin: reading %s: %w", resp.Request.URL, err)
	}
	return buf.b, nil
}

// limitedBuffer is a bytes.Buffer that refuses to grow past limit.
type limitedBuffer struct {
	b     []byte
	limit int64
}

var errTooLong = errors.New("response longer than expected")

func (w *limitedBuffer) Write(p []byte) (int, error) {
	if int64(len(w.b))+int64(len(p)) > w.limit {
		return 0, errTooLong
	}
	w.b = append(w.b, p...)
	return len(p), nil
}

// maxIndexBytes bounds an index.json read from an origin (a build of
// MaxShardCount shards has an index of about 120 MB).
const maxIndexBytes = 256 << 20

// reload fetches the index and, when it names a new build, installs it
// once the shards it does not share with the build serving are on the
// origin and verify. l.mu is held.
func (r *remoteSource) reload(ctx context.Context, start time.Time, cur *Set) error {
	l := r.l
	if r.err != nil {
		return r.err
	}
	ctx, cancel := context.WithTimeout(ctx, originTimeout)
	defer cancel()
	fail := func(err error) error {
		r.retry++
		r.setDegraded(&r.idxDegraded, err)
		if r.quiet {
			return err
		}
		return l.recordFailure(start, cur, err)
	}
	resp, err := r.get(ctx, shardfmt.IndexFileName, "", cur != nil)
	if err != nil {
		var se *originStatusError
		if errors.As(err, &se) && se.status == http.StatusNotFound {
			err = fmt.Errorf("opening build %s: %w: %w", l.dir, ErrNoBuild, err)
		} else {
			err = fmt.Errorf("opening build %s: %w", l.dir, err)
		}
		return fail(err)
	}
	if resp.StatusCode == http.StatusNotModified {
		resp.Body.Close()
		r.m.done(0, time.Since(start))
		r.retry = 0
		r.setDegraded(&r.idxDegraded, nil)
		r.setDegraded(&r.degraded, nil)
		l.recordUnchanged(start)
		return nil
	}
	body, err := r.readBody(resp, maxIndexBytes, start)
	if err != nil {
		return fail(fmt.Errorf("opening build %s: %w", l.dir, err))
	}
	ix, err := shardfmt.ParseIndex(body)
	if err != nil {
		return fail(fmt.Errorf("opening build %s: %s: %w", l.dir, r.fileURL(shardfmt.IndexFileName), err))
	}
	// The origin answers again: a shard fetch that failed before is tried
	// again by the next request that needs it.
	r.setDegraded(&r.idxDegraded, nil)
	r.setDegraded(&r.degraded, nil)
	if cur != nil && ix.BuildID == cur.BuildID() {
		r.etag, r.lastMod = validators(resp.Header)
		r.retry = 0
		l.recordUnchanged(start)
		return nil
	}
	// The pattern file (placeholder and regex rules) is small and needed
	// by every lookup that misses the exact tier: it is fetched whole and
	// verified before the build is installed, or taken from the build
	// serving when unchanged.
	pats, err := r.patterns(ctx, ix, cur)
	if err != nil {
		return fail(fmt.Errorf("opening build %s: %w", l.dir, err))
	}
	lb, fresh := r.newLazy(ix)
	// Before a new build replaces one that serves, every shard it does
	// not share with it must be on the origin and verify: a build whose
	// index was uploaded before its shards (or without them) keeps the
	// previous one serving, and is tried again. A shard that was hot in
	// the previous build is fetched whole, so that no request waits for
	// it after the switch; the others, header and Bloom filter only.
	if cur != nil || r.opts.Preload {
		if err := r.prepare(ctx, lb, fresh, cur); err != nil {
			return fail(fmt.Errorf("opening build %s: new build not ready: %w", l.dir, err))
		}
	}
	r.etag, r.lastMod = validators(resp.Header)
	r.retry = 0
	s := newSet(&shardfmt.Build{Index: ix, Patterns: pats})
	s.lazy = lb
	l.install(s, cur, start)
	r.cache.retain(lb.slots)
	return nil
}

// prepare fetches, for a build about to be installed, what it needs up
// front: every shard with Preload on the first build; otherwise the
// shards not shared with cur (whole if cur's shard of that number was
// loaded, else the prefix). A few fetches run at a time.
func (r *remoteSource) prepare(ctx context.Context, lb *lazyBuild, fresh []bool, cur *Set) error {
	var hot []bool
	if cur != nil && cur.lazy != nil && len(cur.lazy.slots) == len(lb.slots) {
		hot = make([]bool, len(lb.slots))
		for i, e := range cur.lazy.slots {
			hot[i] = e.full.Load() != nil
		}
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		sem   = make(chan struct{}, 4)
	)
	for i, e := range lb.slots {
		want := wantPrefix
		switch {
		case cur == nil && r.opts.Preload:
			want = wantFull
		case !fresh[i]:
			continue // shared with the build serving: nothing to fetch or verify
		case hot != nil && hot[i]:
			want = wantFull
		}
		if e.full.Load() != nil {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := r.fetchNow(ctx, lb, i, want); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop {
			break
		}
	}
	wg.Wait()
	return first
}

// newLazy returns a lazy build over ix whose shards come from the cache:
// a shard the cache knows by name (from the build serving) comes with
// whatever of it is loaded. fresh[i] reports that shard i is new.
func (r *remoteSource) newLazy(ix *shardfmt.Index) (*lazyBuild, []bool) {
	lb := &lazyBuild{r: r, ix: ix, seed: ix.HashSeed, slots: make([]*shardEntry, len(ix.Shards))}
	fresh := make([]bool, len(ix.Shards))
	for i := range ix.Shards {
		lb.slots[i], fresh[i] = r.cache.entry(ix, i)
	}
	return lb, fresh
}

// watch polls the index until ctx is done: every LiveOptions.Poll
// (DefaultRemotePoll when 0) with ±10% jitter, so that replicas started
// together do not ask the origin together; after a failed attempt sooner,
// with backoff, but never later than the poll interval.
func (r *remoteSource) watch(ctx context.Context) error {
	every := r.l.opts.Poll
	if every <= 0 {
		every = DefaultRemotePoll
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		r.l.mu.Lock()
		_ = r.reload(ctx, time.Now(), r.l.cur.Load())
		retry := r.retry
		r.l.mu.Unlock()
		d := every + time.Duration((rand.Float64()*0.2-0.1)*float64(every))
		if retry > 0 {
			d = min(d, backoff(retry))
		}
		t.Reset(d)
	}
}

// backoff is the wait before attempt n+1 after n failures: 250ms doubling
// up to 30s.
func backoff(n int) time.Duration {
	d := 250 * time.Millisecond << min(n-1, 7)
	return min(d, 30*time.Second)
}

// What a fetch must bring.
const (
	wantPrefix = 1 // the header and the Bloom filter
	wantFull   = 2 // the whole shard
)

// errFetchTimeout is what a request that waited RemoteOptions.FetchTimeout
// for its shard gets.
var errFetchTimeout = errors.New("runtime: shard fetch timed out")

// lazyBuild is the shards of a build served from an origin: each absent,
// with its Bloom filter only, or loaded whole (shardEntry). Lookups take
// no lock when what they need is there; otherwise they wait, at most
// FetchTimeout, for one fetch per shard that every request for it shares.
type lazyBuild struct {
	r     *remoteSource
	ix    *shardfmt.Index
	seed  uint64
	slots []*shardEntry
}

// lookup is Set.Lookup for a build with lazy shards: a shard that could not
// be fetched answers as RemoteOptions.OnFetchError says.
func (b *lazyBuild) lookup(s *Set, host, path, rawQuery string) Result {
	// The lookup works on a copy of s (on the stack) that carries its
	// deadline, so that all its probes together wait at most FetchTimeout.
	rs := *s
	rs.deadline = time.Time{}
	res := rs.lookup(host, path, rawQuery, time.Time{})
	if res.Status == fetchFailed && b.r.miss {
		return Result{}
	}
	return res
}

// find is Build.Find for lazy shards. A shard that cannot be had in time
// gives a record with status fetchFailed, which ends the lookup. *deadline
// is the lookup's: set by its first probe that has to wait.
func (b *lazyBuild) find(key []byte, deadline *time.Time) (shardfmt.Record, bool) {
	h := shardfmt.Hash(b.seed, key)
	i := shardfmt.ShardOf(h, len(b.slots))
	e := b.slots[i]
	for range 3 {
		if sh := e.full.Load(); sh != nil {
			b.r.cache.touch(e)
			b.r.m.hit()
			return sh.Find(h, key)
		}
		want := wantPrefix
		if bl := e.bloom.Load(); bl != nil {
			if !bl.MayContain(h) {
				b.r.m.hit()
				return shardfmt.Record{}, false
			}
			want = wantFull
		}
		b.r.m.miss()
		if deadline.IsZero() {
			*deadline = time.Now().Add(b.r.timeout)
		}
		if err := b.r.await(b, i, want, *deadline); err != nil {
			return shardfmt.Record{Status: fetchFailed}, true
		}
	}
	return shardfmt.Record{Status: fetchFailed}, true
}

// flight is one fetch of a shard, shared by every request waiting for it.
type flight struct {
	done chan struct{}
	want int
	err  error
}

// await starts a fetch of shard i of b (unless one runs, or the shard
// failed recently and waits out its backoff) and waits for it until
// deadline.
func (r *remoteSource) await(b *lazyBuild, i, want int, deadline time.Time) error {
	e := b.slots[i]
	e.mu.Lock()
	f := e.flight
	if f == nil {
		if time.Now().Before(e.failUntil) {
			err := e.lastErr
			e.mu.Unlock()
			return err
		}
		f = &flight{done: make(chan struct{}), want: want}
		e.flight = f
		go r.runFlight(b, i, f)
	}
	e.mu.Unlock()
	wait := time.Until(deadline)
	if wait <= 0 {
		return errFetchTimeout
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-f.done:
		return f.err
	case <-t.C:
		r.m.timeout()
		return errFetchTimeout
	}
}

// runFlight fetches for flight f and records the outcome.
func (r *remoteSource) runFlight(b *lazyBuild, i int, f *flight) {
	ctx, cancel := context.WithTimeout(context.Background(), originTimeout)
	defer cancel()
	err := r.fetch(ctx, b, i, f.want)
	e := b.slots[i]
	e.mu.Lock()
	e.flight = nil
	if err != nil {
		e.fails++
		e.failUntil = time.Now().Add(backoff(e.fails))
		e.lastErr = err
	} else {
		e.fails, e.lastErr = 0, nil
	}
	e.mu.Unlock()
	r.setDegraded(&r.degraded, err)
	if err != nil {
		r.l.log.Warn("redirc: shard fetch failed; retrying with backoff", "url", r.fileURL(b.ix.Shards[i].File), "error", err)
	}
	f.err = err
	close(f.done)
}

// fetchNow fetches shard i of b on the calling goroutine (prepare), sharing
// no flight: a new build is not serving yet.
func (r *remoteSource) fetchNow(ctx context.Context, b *lazyBuild, i, want int) error {
	err := r.fetch(ctx, b, i, want)
	r.setDegraded(&r.degraded, err)
	return err
}

// fetch brings shard i of b to at least want: its prefix by a Range request
// (the whole file when it is small or the origin ignores Range), or the
// whole file. Everything is verified before it is stored.
func (r *remoteSource) fetch(ctx context.Context, b *lazyBuild, i, want int) error {
	e := b.slots[i]
	size := e.size
	if want == wantPrefix && size > smallShard {
		n := min(int64(shardfmt.PrefixHint(e.rules)), size)
		for range 2 {
			body, whole, err := r.getRange(ctx, e.name, n, size)
			if err != nil {
				return err
			}
			if whole {
				return r.storeFull(b, i, body)
			}
			bl, need, err := shardfmt.OpenShardPrefix(body, size)
			if err != nil {
				return fmt.Errorf("%s: %w", r.fileURL(e.name), err)
			}
			if need > 0 {
				n = min(int64(need), size)
				continue
			}
			if err := b.ix.CheckBloom(i, bl); err != nil {
				return fmt.Errorf("%s: %w", r.fileURL(e.name), err)
			}
			e.bloom.CompareAndSwap(nil, bl)
			return nil
		}
		return fmt.Errorf("runtime: origin: %s: Bloom filter beyond the bytes fetched", r.fileURL(e.name))
	}
	start := time.Now()
	resp, err := r.get(ctx, e.name, "", false)
	if err != nil {
		return err
	}
	body, err := r.readBody(resp, size, start)
	if err != nil {
		return err
	}
	return r.storeFull(b, i, body)
}

// getRange asks for the first n bytes of a file of size bytes. whole
// reports that the origin sent the whole file instead (it ignores Range).
func (r *remoteSource) getRange(ctx context.Context, name string, n, size int64) (body []byte, whole bool, err error) {
	start := time.Now()
	resp, err := r.get(ctx, name, "bytes=0-"+strconv.FormatInt(n-1, 10), false)
	if err != nil {
		return nil, false, err
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if cr := resp.Header.Get("Content-Range"); !strings.HasPrefix(cr, "bytes 0-") {
			resp.Body.Close()
			r.m.error()
			return nil, false, fmt.Errorf("runtime: origin: %s: Content-Range %q, asked for bytes 0-%d", r.fileURL(name), cr, n-1)
		}
		body, err = r.readBody(resp, n, start)
		if err == nil && int64(len(body)) != n {
			err = fmt.Errorf("runtime: origin: %s: %d bytes for a range of %d", r.fileURL(name), len(body), n)
		}
		return body, false, err
	default:
		body, err = r.readBody(resp, size, start)
		return body, true, err
	}
}

// storeFull verifies a whole shard file and stores it in its entry.
func (r *remoteSource) storeFull(b *lazyBuild, i int, body []byte) error {
	e := b.slots[i]
	if int64(len(body)) != e.size {
		return fmt.Errorf("runtime: origin: %s: %d bytes, index says %d", r.fileURL(e.name), len(body), e.size)
	}
	s, err := shardfmt.OpenShard(body)
	if err != nil {
		return fmt.Errorf("%s: %w", r.fileURL(e.name), err)
	}
	if err := b.ix.CheckShard(i, s); err != nil {
		return fmt.Errorf("%s: %w", r.base, err)
	}
	if e.bloom.Load() == nil {
		e.bloom.CompareAndSwap(nil, s.Bloom())
	}
	r.cache.add(e, s)
	return nil
}

// validators returns the ETag and the Last-Modified of an index response
// to send back as If-None-Match and If-Modified-Since. A Last-Modified
// within 2 seconds of the response's Date is not used: it has a one-second
// resolution, and a build published again within that second would get
// 304 Not Modified (RFC 9110, 8.8.2.2: such a date is a weak validator).
func validators(h http.Header) (etag, lastMod string) {
	etag, lastMod = h.Get("ETag"), h.Get("Last-Modified")
	if lastMod == "" {
		return etag, ""
	}
	lm, err1 := http.ParseTime(lastMod)
	date, err2 := http.ParseTime(h.Get("Date"))
	if err2 != nil {
		date, err2 = time.Now(), nil
	}
	if err1 != nil || date.Sub(lm) < 2*time.Second {
		return etag, ""
	}
	return etag, lastMod
}

// patterns returns the pattern index of ix's build: cur's when its pattern
// file is the same, else the file fetched from the origin and verified.
func (r *remoteSource) patterns(ctx context.Context, ix *shardfmt.Index, cur *Set) (*pattern.Index, error) {
	p := ix.Patterns
	if p == nil {
		return nil, nil
	}
	if cur != nil && cur.ix.Patterns != nil && cur.ix.Patterns.Hash == p.Hash && cur.build.Patterns != nil {
		return cur.build.Patterns, nil
	}
	start := time.Now()
	resp, err := r.get(ctx, p.File, "", false)
	if err != nil {
		return nil, err
	}
	body, err := r.readBody(resp, p.Size, start)
	if err != nil {
		return nil, err
	}
	pix, err := ix.OpenPatterns(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.fileURL(p.File), err)
	}
	return pix, nil
}
