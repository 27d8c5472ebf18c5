package clicks

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redirc/redirc/runtime"
)

// Sink receives batches of clicks from a Recorder's writer goroutine.
type Sink interface {
	// WriteBatch writes clicks (it must not keep the slice). It is called
	// on one goroutine at every flush: when a batch is full, and at every
	// flush interval even with no clicks (so that a sink can rotate files
	// by time). A slow WriteBatch delays only the Recorder's writer; once
	// its queue is full, new clicks are dropped and counted.
	WriteBatch(clicks []Click) error
	// Close writes what is buffered and releases the sink.
	Close() error
}

// Options configures a Recorder. The zero value is usable.
type Options struct {
	// QueueSize is how many clicks may wait for the writer (default
	// 65536: a few seconds of a busy server, about 16 MB with typical
	// requests; each click holds at most ~3 KB, its fields being cut to
	// bounded lengths). Beyond it, Record drops the click and counts it.
	QueueSize int
	// BatchSize is the largest batch handed to the sink (default 4096).
	BatchSize int
	// FlushInterval is the longest a click waits before it is handed to
	// the sink (default 1s): with the directory sink, what a kill -9 can
	// lose.
	FlushInterval time.Duration
	// Secret keys the daily visitor salt (see Salter). Empty: 32 random
	// bytes, so unique counts restart with the process; use LoadSecret to
	// keep one across restarts and share it between servers.
	Secret []byte
	// Logger receives sink errors (default slog.Default()); at most one
	// message per flush interval.
	Logger *slog.Logger
}

// Stats are a Recorder's counters.
type Stats struct {
	Recorded   uint64 // clicks accepted into the queue (a Record racing with Close may be accepted and never written)
	Dropped    uint64 // clicks dropped: queue full or Recorder closed
	Written    uint64 // clicks handed to the sink without error
	SinkErrors uint64 // WriteBatch calls that failed (their clicks are lost)
	Queued     int    // clicks waiting now
}

// Recorder turns runtime.Events into Click records and hands them to a
// Sink in batches, off the request path. Record never blocks.
type Recorder struct {
	sink  Sink
	opt   Options
	ch    chan pending
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
	close atomic.Bool
	err   error

	recorded, dropped, written, sinkErrors atomic.Uint64
}

// pending is what Record copies out of an Event: the fields a Click needs,
// in one string so that a click costs one allocation.
type pending struct {
	unix   int64
	status int32
	// lengths of host, path, referrer host and agent in data; the client
	// address is the rest.
	nHost, nPath, nRef, nUA uint16
	data                    string
}

// Bounds on what is copied from a request, so that a hostile request
// cannot make the queue hold much memory.
const (
	maxHostBytes = 255
	maxPathBytes = 2048
	maxAddrBytes = 64
)

// New starts a Recorder that writes to sink. Close stops it and closes
// the sink.
func New(sink Sink, opt Options) *Recorder {
	if opt.QueueSize <= 0 {
		opt.QueueSize = 1 << 16
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 4096
	}
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = time.Second
	}
	if len(opt.Secret) == 0 {
		opt.Secret = make([]byte, 32)
		rand.Read(opt.Secret) // never fails (crypto/rand panics instead)
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	r := &Recorder{
		sink: sink,
		opt:  opt,
		ch:   make(chan pending, opt.QueueSize),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go r.run()
	return r
}

// Record queues a click for e without blocking: it copies what it needs
// from e (whose strings may point into request memory that is reused once
// the handler returns) and returns. When the queue is full or the
// Recorder is closed, the click is dropped and counted. Every event given
// is recorded, so give it the clicks (redirects answered), not misses.
// Safe for concurrent use; usable as a func(runtime.Event).
func (r *Recorder) Record(e runtime.Event) {
	if r.close.Load() {
		r.dropped.Add(1)
		return
	}
	host := clip(e.Host, maxHostBytes)
	path := clip(e.Path, maxPathBytes)
	ref := clip(refHostRaw(e.Referer), maxHostBytes)
	ua := clip(e.UserAgent, maxAgentBytes)
	addr := clip(e.RemoteAddr, maxAddrBytes)
	var sb strings.Builder
	sb.Grow(len(host) + len(path) + len(ref) + len(ua) + len(addr))
	sb.WriteString(host)
	sb.WriteString(path)
	sb.WriteString(ref)
	sb.WriteString(ua)
	sb.WriteString(addr)
	t := e.Time
	if t.IsZero() {
		t = time.Now()
	}
	p := pending{
		unix: t.Unix(), status: int32(e.Status),
		nHost: uint16(len(host)), nPath: uint16(len(path)), nRef: uint16(len(ref)), nUA: uint16(len(ua)),
		data: sb.String(),
	}
	select {
	case r.ch <- p:
		r.recorded.Add(1)
	default:
		r.dropped.Add(1)
	}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// refHostRaw returns the host part of a Referer value as written (not
// lower-cased: that happens on the writer goroutine).
func refHostRaw(ref string) string {
	i := strings.Index(ref, "://")
	if i < 0 {
		return ""
	}
	h := ref[i+3:]
	if j := strings.IndexAny(h, "/?#"); j >= 0 {
		h = h[:j]
	}
	return h
}

// agentCache remembers the class of recent User-Agents: real traffic
// repeats a few hundred agents, and a map lookup costs a tenth of
// ClassifyAgent (BenchmarkHandlerClicks profile: ClassifyAgent was 11% of
// the CPU time with clicks on). It is emptied when full, so a flood of
// distinct agents costs memory only up to maxCachedAgents.
type agentCache map[string]Agent

const maxCachedAgents = 4096

func (c agentCache) class(ua string) Agent {
	if a, ok := c[ua]; ok {
		return a
	}
	a := ClassifyAgent(ua)
	if len(c) >= maxCachedAgents {
		clear(c)
	}
	c[strings.Clone(ua)] = a // ua points into a queued click's data
	return a
}

func (r *Recorder) run() {
	defer close(r.done)
	salter := NewSalter(r.opt.Secret)
	agents := agentCache{}
	batch := make([]Click, 0, r.opt.BatchSize)
	tick := time.NewTicker(r.opt.FlushInterval)
	defer tick.Stop()
	var lastLog time.Time
	flush := func() {
		err := r.sink.WriteBatch(batch)
		if err != nil {
			r.sinkErrors.Add(1)
			if time.Since(lastLog) >= r.opt.FlushInterval {
				lastLog = time.Now()
				r.opt.Logger.Error("clicks: writing a batch", "clicks", len(batch), "err", err)
			}
		} else {
			r.written.Add(uint64(len(batch)))
		}
		clear(batch) // let the strings go
		batch = batch[:0]
	}
	add := func(p pending) {
		batch = append(batch, r.click(salter, agents, p))
		if len(batch) == cap(batch) {
			flush()
		}
	}
	for {
		select {
		case p := <-r.ch:
			add(p)
		case <-tick.C:
			flush()
		case <-r.quit:
			for {
				select {
				case p := <-r.ch:
					add(p)
				default:
					flush()
					r.err = r.sink.Close()
					return
				}
			}
		}
	}
}

// click builds the record of p; it runs on the writer goroutine, so the
// classification and hashing cost nothing on the request path.
func (r *Recorder) click(s *Salter, agents agentCache, p pending) Click {
	d := p.data
	host, d := d[:p.nHost], d[p.nHost:]
	path, d := d[:p.nPath], d[p.nPath:]
	ref, d := d[:p.nRef], d[p.nRef:]
	ua, addr := d[:p.nUA], d[p.nUA:]
	t := time.Unix(p.unix, 0).UTC()
	return Click{
		Time:     t,
		Host:     NormalizeHost(host),
		Path:     path,
		Status:   int(p.status),
		Referrer: refHost(ref),
		Agent:    agents.class(ua),
		Visitor:  s.Visitor(t, addr, ua),
	}
}

// Close stops accepting clicks, hands the queued ones to the sink, closes
// the sink and returns its error. It is idempotent.
func (r *Recorder) Close() error {
	r.once.Do(func() {
		r.close.Store(true)
		close(r.quit)
	})
	<-r.done
	return r.err
}

// Stats returns the Recorder's counters.
func (r *Recorder) Stats() Stats {
	return Stats{
		Recorded:   r.recorded.Load(),
		Dropped:    r.dropped.Load(),
		Written:    r.written.Load(),
		SinkErrors: r.sinkErrors.Load(),
		Queued:     len(r.ch),
	}
}

// LoadSecret returns the visitor-salt secret kept in the file at path,
// creating it with 32 random bytes (mode 0600) when it does not exist.
// Share the file between servers that should count the same visitors.
func LoadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < 16 {
			return nil, fmt.Errorf("clicks secret %s: %d bytes, want at least 16", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("clicks secret: %w", err)
	}
	b = make([]byte, 32)
	rand.Read(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another server made it first
			return LoadSecret(path)
		}
		return nil, fmt.Errorf("clicks secret: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("clicks secret: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("clicks secret: %w", err)
	}
	return b, f.Close()
}
