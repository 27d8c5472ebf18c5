package clicks

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countLines returns the NDJSON lines in a request body that parse as
// clicks.
func countLines(t *testing.T, r io.Reader) int {
	n := 0
	sc := bufio.NewScanner(r)
	var rc RawClick
	for sc.Scan() {
		if _, err := ParseLine(sc.Bytes(), &rc, nil); err != nil {
			t.Errorf("bad line %q: %v", sc.Text(), err)
		}
		n++
	}
	return n
}

func TestHTTPSinkRetriesWithBackoff(t *testing.T) {
	var calls, got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/x-ndjson" || r.Header.Get("X-Key") != "k" {
			t.Errorf("headers %v", r.Header)
		}
		n := countLines(t, r.Body)
		if calls.Add(1) <= 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		got.Add(int64(n))
	}))
	defer srv.Close()
	var mu sync.Mutex
	var waits []time.Duration
	s := NewHTTPSink(srv.URL, HTTPOptions{
		Header:     http.Header{"X-Key": {"k"}},
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 250 * time.Millisecond,
		sleep: func(ctx context.Context, d time.Duration) { mu.Lock(); waits = append(waits, d); mu.Unlock() },
	})
	if err := s.WriteBatch(clicksN(10)); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(clicksN(5)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if got.Load() != 15 || st.Sent != 15 || st.Dropped != 0 || st.Retries != 3 {
		t.Fatalf("server got %d; stats %+v", got.Load(), st)
	}
	// Backoff doubles from MinBackoff up to MaxBackoff; each wait is
	// jittered into [b/2, b].
	bounds := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond}
	if len(waits) != 3 {
		t.Fatalf("waits %v", waits)
	}
	for i, w := range waits {
		if w < bounds[i]/2 || w > bounds[i] {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, w, bounds[i]/2, bounds[i])
		}
	}
}

func TestHTTPSinkDropsRejected(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Code: 60. DB::Exception: Table default.nope doesn't exist", http.StatusNotFound)
	}))
	defer srv.Close()
	s := NewHTTPSink(srv.URL, HTTPOptions{sleep: func(context.Context, time.Duration) { t.Error("a 404 was retried") }})
	s.WriteBatch(clicksN(7))
	s.Close()
	if st := s.Stats(); st.Dropped != 7 || st.Sent != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestHTTPSinkDeadEndpoint: nothing listens; the spill fills and further
// batches are dropped and counted, and WriteBatch never waits.
func TestHTTPSinkDeadEndpoint(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // connection refused from now on
	one := len(clicksN(10)[0].AppendJSON(nil)) * 10
	s := NewHTTPSink(url, HTTPOptions{MaxSpillBytes: int64(3 * one), CloseTimeout: time.Millisecond,
		sleep: func(ctx context.Context, d time.Duration) { <-ctx.Done() }})
	accepted, refused := 0, 0
	for range 100 {
		if err := s.WriteBatch(clicksN(10)); err == nil {
			accepted++
		} else {
			refused++
		}
	}
	if accepted > 3 || refused < 97 {
		t.Fatalf("accepted %d batches into a spill of 3", accepted)
	}
	s.Close()
	if st := s.Stats(); st.Dropped != 1000 || st.Sent != 0 {
		t.Fatalf("stats %+v: want all 1000 clicks dropped and counted", st)
	}
}

// TestRecorderStalledEndpoint: the endpoint accepts the connection and
// never answers. Record is called for every event and returns; every event
// is accounted for as queued, handed to the sink, or dropped.
func TestRecorderStalledEndpoint(t *testing.T) {
	stall := make(chan struct{})
	var reqs atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stall)
	hs := NewHTTPSink(srv.URL, HTTPOptions{MaxSpillBytes: 64 << 10, CloseTimeout: time.Millisecond})
	rec := New(hs, Options{QueueSize: 256, BatchSize: 64})
	const n = 50000
	for i := range n {
		rec.Record(event(i))
	}
	st := rec.Stats()
	if st.Recorded+st.Dropped != n {
		t.Fatalf("recorded %d + dropped %d != %d", st.Recorded, st.Dropped, n)
	}
	if st.Dropped == 0 {
		t.Fatalf("a stalled endpoint with a 64 KiB spill took all %d clicks: %+v %+v", n, st, hs.Stats())
	}
	rec.Close()
	hst := hs.Stats()
	fin := rec.Stats()
	// Every click accepted by the Recorder was handed to the sink, which
	// sent none and dropped (spill full, or left at Close) all of them.
	if hst.Sent != 0 || hst.Dropped != fin.Recorded {
		t.Fatalf("recorder %+v, sink %+v", fin, hst)
	}
}
