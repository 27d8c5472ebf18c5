package runtime

import (
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
