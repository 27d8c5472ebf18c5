package runtime

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEventSinkDropsWhenFull(t *testing.T) {
	release := make(chan struct{})
	var delivered atomic.Int64
	s := NewEventSink("test", 2, func(Event) {
		<-release
		delivered.Add(1)
	})
	const n = 50
	start := time.Now()
	accepted := 0
	for i := 0; i < n; i++ {
		if s.Send(Event{Status: i}) {
			accepted++
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Send blocked for %v on a full sink", d)
	}
	// The buffer holds 2 and the consumer may hold one more.
	if accepted < 2 || accepted > 3 {
		t.Errorf("accepted %d events with a buffer of 2", accepted)
	}
	if s.Sent() != uint64(accepted) || s.Dropped() != uint64(n-accepted) {
		t.Errorf("Sent %d Dropped %d, want %d and %d", s.Sent(), s.Dropped(), accepted, n-accepted)
	}
	close(release)
	s.Close() // delivers what was accepted, then stops
	if got := delivered.Load(); got != int64(accepted) {
		t.Errorf("delivered %d of %d accepted events", got, accepted)
	}
	if s.Send(Event{}) {
		t.Error("Send after Close accepted an event")
	}
	s.Close() // idempotent
}

func TestEventSinkOrder(t *testing.T) {
	var got []int
	s := NewEventSink("order", 0, func(e Event) { got = append(got, e.Status) })
	for i := 0; i < 100; i++ {
		if !s.Send(Event{Status: i}) {
			t.Fatalf("event %d dropped with a large buffer", i)
		}
	}
	s.Close()
	for i, v := range got {
		if v != i {
			t.Fatalf("event %d delivered as %d", i, v)
		}
	}
	if len(got) != 100 {
		t.Fatalf("delivered %d events, want 100", len(got))
	}
}

// TestEventSinkCloseRacingSend is the regression test for a Send racing
// Close: Send passed the closed check, Close drained the buffer and
// returned, and then Send put the event in the buffer and counted it as
// sent, although it was never delivered. Every event counted as sent must
// have been delivered once Close returns, and none counted after.
func TestEventSinkCloseRacingSend(t *testing.T) {
	const rounds, senders, sends = 1000, 16, 100
	for round := range rounds {
		var delivered atomic.Uint64
		s := NewEventSink("race", senders*sends, func(Event) { delivered.Add(1) })
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range senders {
			wg.Go(func() {
				<-start
				for range sends {
					s.Send(Event{})
				}
			})
		}
		close(start)
		s.Close()
		got, sent := delivered.Load(), s.Sent()
		wg.Wait()
		if got != sent {
			t.Fatalf("round %d: Close returned with %d events counted as sent but %d delivered", round, sent, got)
		}
		if late := s.Sent(); late != sent {
			t.Fatalf("round %d: %d events counted as sent after Close returned", round, late-sent)
		}
	}
}

// TestSinkOfAnyTypeInMetrics checks that a Sink of a type other than Event
// is reported by Metrics, and that a nil *Sink is ignored.
func TestSinkOfAnyTypeInMetrics(t *testing.T) {
	type line struct{ n int }
	var got []int
	s := NewSink("lines", 0, func(l line) { got = append(got, l.n) })
	m := NewMetrics()
	m.AddSink(s)
	m.AddSink((*EventSink)(nil))
	for i := range 3 {
		s.Send(line{i})
	}
	s.Close()
	if len(got) != 3 || got[2] != 2 {
		t.Errorf("delivered %v", got)
	}
	var sb strings.Builder
	if err := m.WritePrometheus(&sb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), `redirc_events_total{sink="lines"} 3`) || strings.Contains(sb.String(), `sink=""`) {
		t.Errorf("metrics:\n%s", sb.String())
	}
}

// BenchmarkEventSinkSend measures Send from parallel goroutines, the way
// a Handler's requests send clicks, with a consumer that keeps up.
func BenchmarkEventSinkSend(b *testing.B) {
	s := NewEventSink("bench", 1<<16, func(Event) {})
	defer s.Close()
	e := Event{Method: "GET", Path: "/x", Status: 301, Location: "/y"}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Send(e)
		}
	})
}
