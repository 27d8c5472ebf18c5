package runtime

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redirc/redirc/shardfmt"
)

// shardEntry is one shard file of a build served from an origin, known by
// its content-addressed name and shared by every build that names it: a
// new build reuses what an older one loaded, without fetching or verifying
// it again. It is absent, Bloom-only (bloom set) or loaded (full set).
type shardEntry struct {
	name  string
	size  int64
	rules int

	bloom   atomic.Pointer[shardfmt.Bloom] // kept once fetched
	full    atomic.Pointer[shardfmt.Shard] // dropped by the cache's LRU
	lastUse atomic.Int64                   // shardCache.tick when last used

	mu        sync.Mutex // guards the rest
	flight    *flight    // the fetch running, if any
	fails     int        // failed fetches in a row
	failUntil time.Time  // no new fetch before (backoff)
	lastErr   error
}

// shardCache holds the shard entries of the builds a remote Live serves
// and bounds the bytes of the loaded shards (least recently used out).
// Bloom filters are not counted: they are about 2 bytes per rule of the
// shards touched and are kept.
type shardCache struct {
	limit int64
	m     *RemoteMetrics
	// tick advances on every load; a lookup stamps its entry with it (a
	// store only when the stamp changes, so hot shards cost no writes).
	tick atomic.Int64

	mu      sync.Mutex
	entries map[string]*shardEntry
	bytes   int64
}

func newShardCache(limit int64, m *RemoteMetrics) *shardCache {
	return &shardCache{limit: limit, m: m, entries: map[string]*shardEntry{}}
}

// entry returns the entry of shard i of ix, and whether it is new (no
// build the cache knows names it).
func (c *shardCache) entry(ix *shardfmt.Index, i int) (*shardEntry, bool) {
	s := &ix.Shards[i]
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[s.File]; e != nil && e.size == s.Size && e.rules == s.Rules {
		return e, false
	}
	// A new name, or (in a hand-edited index) the same name with other
	// sizes: a fresh entry, verified against this index when fetched.
	return &shardEntry{name: s.File, size: s.Size, rules: s.Rules}, true
}

// touch marks e used now.
func (c *shardCache) touch(e *shardEntry) {
	if t := c.tick.Load(); e.lastUse.Load() != t {
		e.lastUse.Store(t)
	}
}

// add stores verified shard s in e and evicts least recently used shards
// until the loaded bytes fit the limit again (e itself stays).
func (c *shardCache) add(e *shardEntry, s *shardfmt.Shard) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.lastUse.Store(c.tick.Add(1))
	if c.entries[e.name] != e {
		if _, known := c.entries[e.name]; known {
			// An entry of a build no longer served: serve it to the
			// requests still using that build, count nothing.
			e.full.Store(s)
			return
		}
		// A build being prepared (not yet retained): take it in.
		c.entries[e.name] = e
	}
	if e.full.Swap(s) == nil {
		c.bytes += e.size
	}
	for c.bytes > c.limit {
		var victim *shardEntry
		for _, o := range c.entries {
			if o != e && o.full.Load() != nil && (victim == nil || o.lastUse.Load() < victim.lastUse.Load()) {
				victim = o
			}
		}
		if victim == nil {
			break
		}
		victim.full.Store(nil)
		c.bytes -= victim.size
		c.m.evicted()
	}
	c.m.setBytes(c.bytes)
}

// retain makes the entries of slots (the build just installed) the cache's
// entries and drops the others: the shards of the previous build that
// the new one does not name. Requests still using the previous build keep
// what they hold until they return.
func (c *shardCache) retain(slots []*shardEntry) {
	keep := make(map[string]*shardEntry, len(slots))
	for _, e := range slots {
		keep[e.name] = e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var bytes int64
	for _, e := range keep {
		if e.full.Load() != nil {
			bytes += e.size
		}
	}
	c.entries, c.bytes = keep, bytes
	c.m.setBytes(c.bytes)
}

// RemoteMetrics counts what builds served from an origin do: origin
// requests, bytes, errors and latency, and the shard cache's hits, misses
// and evictions. A nil *RemoteMetrics counts nothing. Share one between
// the Lives of a process, or give each its own.
type RemoteMetrics struct {
	requests, bytes, errors, latencyNanos, responses counter
	hits, misses, evictions, timeouts                counter
	cacheBytes                                       atomic.Int64
}

// NewRemoteMetrics returns zeroed remote metrics.
func NewRemoteMetrics() *RemoteMetrics { return &RemoteMetrics{} }

func (m *RemoteMetrics) request() {
	if m != nil {
		m.requests.n.Add(1)
	}
}

func (m *RemoteMetrics) error() {
	if m != nil {
		m.errors.n.Add(1)
	}
}

func (m *RemoteMetrics) done(n int64, d time.Duration) {
	if m != nil {
		m.bytes.n.Add(uint64(n))
		m.latencyNanos.n.Add(uint64(d))
		m.responses.n.Add(1)
	}
}

func (m *RemoteMetrics) hit() {
	if m != nil {
		m.hits.n.Add(1)
	}
}

func (m *RemoteMetrics) miss() {
	if m != nil {
		m.misses.n.Add(1)
	}
}

func (m *RemoteMetrics) evicted() {
	if m != nil {
		m.evictions.n.Add(1)
	}
}

func (m *RemoteMetrics) setBytes(n int64) {
	if m != nil {
		m.cacheBytes.Store(n)
	}
}

func (m *RemoteMetrics) timeout() {
	if m != nil {
		m.timeouts.n.Add(1)
	}
}

// Requests returns the number of requests made to the origin.
func (m *RemoteMetrics) Requests() uint64 {
	if m == nil {
		return 0
	}
	return m.requests.n.Load()
}

// Errors returns the number of origin requests that failed (no answer,
// an error status, a body cut short).
func (m *RemoteMetrics) Errors() uint64 {
	if m == nil {
		return 0
	}
	return m.errors.n.Load()
}

// Evictions returns the number of shards the cache dropped for room.
func (m *RemoteMetrics) Evictions() uint64 {
	if m == nil {
		return 0
	}
	return m.evictions.n.Load()
}

// CacheBytes returns the bytes of the shards held now.
func (m *RemoteMetrics) CacheBytes() int64 {
	if m == nil {
		return 0
	}
	return m.cacheBytes.Load()
}

// WritePrometheus writes the metrics in the Prometheus text format (the
// series Collect gives).
func (m *RemoteMetrics) WritePrometheus(w io.Writer) error {
	if m == nil {
		return nil
	}
	return WriteCollector(w, m)
}
