package clicks

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/redirc/redirc/runtime"
)

// memSink keeps what it is given; with a gate it blocks every WriteBatch
// until the gate is closed (a stalled sink).
type memSink struct {
	mu      sync.Mutex
	clicks  []Click
	gate    chan struct{}
	entered chan struct{} // receives once per WriteBatch with clicks
	closed  bool
}

func (m *memSink) WriteBatch(c []Click) error {
	if len(c) == 0 {
		return nil
	}
	if m.entered != nil {
		select {
		case m.entered <- struct{}{}:
		default:
		}
	}
	if m.gate != nil {
		<-m.gate
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clicks = append(m.clicks, c...)
	return nil
}

func (m *memSink) Close() error { m.closed = true; return nil }

func event(i int) runtime.Event {
	return runtime.Event{
		Time:       time.Date(2026, 11, 29, 10, 0, i%60, 0, time.UTC),
		Host:       "Sho.RT:443",
		Path:       fmt.Sprintf("/c%d", i%7),
		Status:     302,
		Referer:    "https://News.Example/item?id=1",
		UserAgent:  "Mozilla/5.0 (X11; Linux) Firefox/120.0",
		RemoteAddr: fmt.Sprintf("192.0.2.%d:5555", i%250),
	}
}

func TestRecorderWritesClicks(t *testing.T) {
	sink := &memSink{}
	r := New(sink, Options{Secret: []byte("0123456789abcdef")})
	for i := range 1000 {
		r.Record(event(i))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if st.Recorded+st.Dropped != 1000 || st.Written != st.Recorded || len(sink.clicks) != int(st.Written) || !sink.closed {
		t.Fatalf("stats %+v, sink has %d, closed %v", st, len(sink.clicks), sink.closed)
	}
	c := sink.clicks[0]
	if c.Host != "sho.rt" || c.Path != "/c0" || c.Referrer != "news.example" || c.Agent != AgentHuman || c.Status != 302 || c.Visitor == 0 {
		t.Fatalf("click %v", c)
	}
	r.Record(event(0)) // after Close: dropped, no panic
	if r.Stats().Dropped != st.Dropped+1 {
		t.Fatal("a click after Close was not counted as dropped")
	}
}

// TestRecorderQueueFullDrops stalls the sink: Record must return for every
// event, and every event is either queued or counted as dropped.
func TestRecorderQueueFullDrops(t *testing.T) {
	sink := &memSink{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	r := New(sink, Options{QueueSize: 16, BatchSize: 1})
	r.Record(event(0))
	<-sink.entered // the writer is now stuck in WriteBatch
	const n = 10000
	for i := range n {
		r.Record(event(i))
	}
	st := r.Stats()
	if st.Recorded+st.Dropped != n+1 {
		t.Fatalf("recorded %d + dropped %d != %d", st.Recorded, st.Dropped, n+1)
	}
	if st.Recorded > 1+16+1 || st.Dropped < n-17 {
		t.Fatalf("queue of 16 held %d clicks (dropped %d)", st.Recorded, st.Dropped)
	}
	close(sink.gate)
	r.Close()
	if got := r.Stats().Written; got != st.Recorded {
		t.Fatalf("written %d, want the %d recorded", got, st.Recorded)
	}
}

// TestRecorderCopiesEvent reuses the request's memory after Record
// returns, as a server with pooled buffers does.
func TestRecorderCopiesEvent(t *testing.T) {
	sink := &memSink{}
	r := New(sink, Options{})
	buf := []byte("sho.rt/abcdefMozilla/5.0 Firefox")
	str := func(b []byte) string { return unsafe.String(&b[0], len(b)) }
	e := runtime.Event{Time: time.Unix(1e9, 0), Host: str(buf[:6]), Path: str(buf[6:13]), UserAgent: str(buf[13:]), Status: 302, RemoteAddr: "192.0.2.1:1"}
	r.Record(e)
	for i := range buf {
		buf[i] = 'X'
	}
	r.Close()
	if c := sink.clicks[0]; c.Host != "sho.rt" || c.Path != "/abcdef" || c.Agent != AgentHuman {
		t.Fatalf("click %v: Record kept pointers into the request", c)
	}
}

func TestRecordAllocs(t *testing.T) {
	r := New(&memSink{}, Options{QueueSize: 1})
	defer r.Close()
	e := event(1)
	if n := testing.AllocsPerRun(1000, func() { r.Record(e) }); n > 1 {
		t.Errorf("Record allocates %v times, want at most 1", n)
	}
}

func BenchmarkRecord(b *testing.B) {
	r := New(&memSink{}, Options{QueueSize: 1 << 20})
	defer r.Close()
	e := event(1)
	b.ReportAllocs()
	for b.Loop() {
		r.Record(e)
	}
}

type failSink struct{ closed bool }

func (f *failSink) WriteBatch(c []Click) error {
	if len(c) > 0 {
		return ErrSpillFull
	}
	return nil
}
func (f *failSink) Close() error { f.closed = true; return nil }

func TestTee(t *testing.T) {
	a, bad := &memSink{}, &failSink{}
	r := New(Tee(bad, a), Options{Logger: discardLogger()})
	for i := range 10 {
		r.Record(event(i))
	}
	r.Close()
	if len(a.clicks) != 10 || !a.closed || !bad.closed {
		t.Fatalf("tee: %d clicks, closed %v %v", len(a.clicks), a.closed, bad.closed)
	}
	if st := r.Stats(); st.SinkErrors == 0 || st.Written != 0 {
		t.Fatalf("a failing sink in a tee must count as a sink error: %+v", st)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestWritePrometheus(t *testing.T) {
	d, err := NewDirSink(t.TempDir(), DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHTTPSink("http://127.0.0.1:1/", HTTPOptions{CloseTimeout: time.Millisecond, Logger: discardLogger()})
	r := New(Tee(d, h), Options{Logger: discardLogger()})
	r.Record(event(1))
	r.Close()
	var b strings.Builder
	if err := r.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"redirc_clicks_recorded_total 1\n", "redirc_clicks_written_total 1\n", "redirc_clicks_files_total 1\n", "redirc_clicks_http_dropped_total 1\n", "# TYPE redirc_clicks_queued gauge\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, b.String())
		}
	}
}
