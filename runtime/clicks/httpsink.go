package clicks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// HTTPOptions configures an HTTPSink. The zero value is usable.
type HTTPOptions struct {
	// Client sends the requests (default: a client with a 10s timeout).
	Client *http.Client
	// Header is added to every request (authentication, for example).
	Header http.Header
	// MaxSpillBytes bounds the NDJSON waiting to be sent while the
	// endpoint is slow or down (default 64 MiB). A batch that does not
	// fit is dropped and its clicks counted.
	MaxSpillBytes int64
	// MaxPostBytes is the most NDJSON sent in one request (default 4 MiB;
	// queued batches are merged up to it).
	MaxPostBytes int
	// MinBackoff and MaxBackoff bound the wait between retries, which
	// doubles after each failure (defaults 100ms and 30s), with jitter.
	MinBackoff, MaxBackoff time.Duration
	// CloseTimeout is how long Close keeps trying to deliver what is
	// queued (default 5s); the rest is dropped and counted.
	CloseTimeout time.Duration
	// Logger receives delivery errors (default slog.Default()), at most
	// one message per retry.
	Logger *slog.Logger

	// sleep waits d or until ctx ends (tests replace it to observe the
	// backoff without waiting).
	sleep func(ctx context.Context, d time.Duration)
}

// HTTPStats are an HTTPSink's counters.
type HTTPStats struct {
	Sent       uint64 // clicks delivered (2xx)
	Requests   uint64 // POSTs made, including failed ones
	Retries    uint64 // POSTs that failed and were retried
	Dropped    uint64 // clicks dropped: spill full, rejected (4xx) or left at Close
	SpillBytes int64  // NDJSON waiting now
}

// HTTPSink POSTs clicks as NDJSON (Content-Type application/x-ndjson) to
// a URL, from a goroutine of its own: WriteBatch only appends to a bounded
// spill, so a dead or stalled endpoint never slows the Recorder. Failed
// POSTs (network errors, 408, 429, 5xx) are retried with exponential
// backoff; other 4xx answers mean the endpoint will never take the batch,
// which is dropped and counted.
//
// The body is accepted as is by ClickHouse's HTTP interface, for example
//
//	http://clickhouse:8123/?query=INSERT%20INTO%20clicks%20FORMAT%20JSONEachRow
//
// (see the package documentation for the table), and by log collectors
// that take NDJSON over HTTP.
type HTTPSink struct {
	url string
	opt HTTPOptions

	mu     sync.Mutex
	spill  []spillBatch
	bytes  int64
	closed bool
	wake   chan struct{}

	ctx    context.Context // canceled when Close gives up
	cancel context.CancelFunc
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once

	sent, requests, retries, dropped atomic.Uint64
}

type spillBatch struct {
	body   []byte
	clicks int
}

// NewHTTPSink returns a sink that POSTs to url and starts its sender.
func NewHTTPSink(url string, opt HTTPOptions) *HTTPSink {
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opt.MaxSpillBytes <= 0 {
		opt.MaxSpillBytes = 64 << 20
	}
	if opt.MaxPostBytes <= 0 {
		opt.MaxPostBytes = 4 << 20
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = 100 * time.Millisecond
	}
	if opt.MaxBackoff < opt.MinBackoff {
		opt.MaxBackoff = max(30*time.Second, opt.MinBackoff)
	}
	if opt.CloseTimeout <= 0 {
		opt.CloseTimeout = 5 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.sleep == nil {
		opt.sleep = func(ctx context.Context, d time.Duration) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &HTTPSink{
		url: url, opt: opt,
		wake: make(chan struct{}, 1),
		ctx:  ctx, cancel: cancel,
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go s.run()
	return s
}

// WriteBatch encodes clicks and queues them for sending; it never waits
// for the network. When the spill is full the batch is dropped, counted,
// and ErrSpillFull returned.
func (s *HTTPSink) WriteBatch(clicks []Click) error {
	if len(clicks) == 0 {
		return nil
	}
	var body []byte
	for i := range clicks {
		body = clicks[i].AppendJSON(body)
	}
	s.mu.Lock()
	if s.closed || s.bytes+int64(len(body)) > s.opt.MaxSpillBytes {
		s.mu.Unlock()
		s.dropped.Add(uint64(len(clicks)))
		return ErrSpillFull
	}
	s.spill = append(s.spill, spillBatch{body, len(clicks)})
	s.bytes += int64(len(body))
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// ErrSpillFull is returned by WriteBatch when the endpoint is behind by
// more than MaxSpillBytes; the batch is dropped.
var ErrSpillFull = errors.New("clicks: HTTP spill full; batch dropped")

// take returns up to MaxPostBytes of queued batches merged into one body
// (at least one batch), without removing them.
func (s *HTTPSink) take() (body []byte, clicks, batches int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.spill {
		if batches > 0 && len(body)+len(b.body) > s.opt.MaxPostBytes {
			break
		}
		if batches == 0 {
			body = b.body
		} else {
			if batches == 1 {
				body = append([]byte(nil), body...)
			}
			body = append(body, b.body...)
		}
		clicks += b.clicks
		batches++
	}
	return body, clicks, batches
}

// remove drops the first n batches from the spill.
func (s *HTTPSink) remove(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.spill[:n] {
		s.bytes -= int64(len(b.body))
	}
	clear(s.spill[:n])
	s.spill = s.spill[n:]
}

func (s *HTTPSink) run() {
	defer close(s.done)
	backoff := time.Duration(0)
	for {
		body, clicks, batches := s.take()
		if batches == 0 {
			select {
			case <-s.wake:
				continue
			case <-s.quit:
				return
			}
		}
		err := s.post(body)
		switch {
		case err == nil:
			s.sent.Add(uint64(clicks))
			s.remove(batches)
			backoff = 0
		case errors.Is(err, errRejected):
			s.opt.Logger.Error("clicks: endpoint rejected a batch; dropped", "url", s.url, "clicks", clicks, "err", err)
			s.dropped.Add(uint64(clicks))
			s.remove(batches)
		default:
			if s.ctx.Err() != nil {
				return // Close gave up; it counts what is left
			}
			s.retries.Add(1)
			backoff = min(max(2*backoff, s.opt.MinBackoff), s.opt.MaxBackoff)
			wait := backoff/2 + rand.N(backoff/2+1) // jitter: no thundering herd after an outage
			s.opt.Logger.Warn("clicks: POST failed; retrying", "url", s.url, "clicks", clicks, "in", wait, "err", err)
			s.opt.sleep(s.ctx, wait)
			if s.ctx.Err() != nil {
				return
			}
		}
	}
}

var errRejected = errors.New("rejected")

func (s *HTTPSink) post(body []byte) error {
	s.requests.Add(1)
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", errRejected, err)
	}
	for k, v := range s.opt.Header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := s.opt.Client.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	default:
		return fmt.Errorf("%w: %s: %s", errRejected, resp.Status, bytes.TrimSpace(msg))
	}
}

// Close stops accepting batches and tries for up to CloseTimeout to send
// what is queued; then it cancels any request in flight and counts what is
// left as dropped.
func (s *HTTPSink) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.quit)
		t := time.AfterFunc(s.opt.CloseTimeout, s.cancel)
		<-s.done
		t.Stop()
		s.cancel()
		s.mu.Lock()
		for _, b := range s.spill {
			s.dropped.Add(uint64(b.clicks))
		}
		s.spill, s.bytes = nil, 0
		s.mu.Unlock()
	})
	<-s.done
	if n := s.dropped.Load(); n > 0 {
		return fmt.Errorf("clicks: %d click(s) could not be delivered to %s", n, s.url)
	}
	return nil
}

// Stats returns the sink's counters.
func (s *HTTPSink) Stats() HTTPStats {
	s.mu.Lock()
	b := s.bytes
	s.mu.Unlock()
	return HTTPStats{Sent: s.sent.Load(), Requests: s.requests.Load(), Retries: s.retries.Load(), Dropped: s.dropped.Load(), SpillBytes: b}
}
