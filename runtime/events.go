package runtime

import (
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Event describes one click: a request a Handler answered from a rule,
// sent to its click sink (HandlerOptions.Clicks). Its strings refer to the
// request's own memory; nothing is copied.
type Event struct {
	Time   time.Time
	Method string
	Host   string // the Host header as sent
	Path   string // the path as the handler saw it (escaped form)
	Query  string // the raw query, without '?'
	// Status is the rule's status: 301, 302, 303, 307, 308 or 410.
	Status int
	// Location is the redirect target ("" for 410 Gone).
	Location   string
	Referer    string
	UserAgent  string
	RemoteAddr string
}

// ClickRecorder receives the click Events of a Handler (HandlerOptions.Clicks).
// Record is called on the request's goroutine: it must not block, and it
// must copy what it keeps, since an Event's strings belong to the request.
type ClickRecorder interface {
	Record(Event)
}

// Sink delivers values of type T (events) to a function on one goroutine
// of its own, through a buffer. Send never blocks: when the buffer is full
// the event is dropped and counted, so a slow consumer (a remote analytics
// API, a full disk) can never slow the requests that produce the events.
//
// A Handler sends clicks to an EventSink (a Sink of Event); other producers,
// such as an access log, use a Sink of their own record type.
type Sink[T any] struct {
	name string
	ch   chan T
	fn   func(T)
	quit chan struct{}
	done chan struct{}
	// inflight counts the Sends between their closed check and the end
	// of their channel send; Close adds sinkClosing to it and then waits
	// until no Send is left in between. So when Close starts draining, an
	// event counted as sent is one that the drain will deliver. (A
	// sync.RWMutex's TryRLock does the same, but its compare-and-swap
	// loop made a parallel Send about 1.5 times as slow on 2 cores,
	// BenchmarkEventSinkSend; these two adds cost what the unprotected
	// Send's one atomic load did, within the noise.)
	inflight atomic.Int64
	sent     atomic.Uint64
	dropped  atomic.Uint64
	once     sync.Once
}

// sinkClosing is added to Sink.inflight by Close: any value at or above it
// means closed. Fewer than 2^62 Sends are ever in flight at once.
const sinkClosing = 1 << 62

// EventSink is the Sink a Handler sends its clicks to.
type EventSink = Sink[Event]

// DefaultSinkBuffer is the buffer NewSink and NewEventSink use when given 0.
const DefaultSinkBuffer = 4096

// NewSink starts a sink named name (used as a metrics label) that calls fn
// for every event sent, in order, on one goroutine. buffer is the number of
// events that may wait (0 means DefaultSinkBuffer). Close stops it.
func NewSink[T any](name string, buffer int, fn func(T)) *Sink[T] {
	if buffer <= 0 {
		buffer = DefaultSinkBuffer
	}
	s := &Sink[T]{
		name: name,
		ch:   make(chan T, buffer),
		fn:   fn,
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go s.run()
	return s
}

// NewEventSink is NewSink for click events.
func NewEventSink(name string, buffer int, fn func(Event)) *EventSink {
	return NewSink(name, buffer, fn)
}

func (s *Sink[T]) run() {
	defer close(s.done)
	for {
		select {
		case e := <-s.ch:
			s.fn(e)
		case <-s.quit:
			// Deliver what was accepted before Close, then stop. No Send
			// can add to ch any more (see inflight).
			for {
				select {
				case e := <-s.ch:
					s.fn(e)
				default:
					return
				}
			}
		}
	}
}

// Send queues e without blocking and reports whether it was accepted. It is
// safe to call from any goroutine, also after Close (the event is then
// dropped): the channel is never closed, so a late Send cannot panic.
// Besides the channel send it costs two atomic adds and one for a counter.
func (s *Sink[T]) Send(e T) bool {
	if s.inflight.Add(1) >= sinkClosing {
		s.inflight.Add(-1)
		s.dropped.Add(1)
		return false
	}
	ok := false
	select {
	case s.ch <- e:
		s.sent.Add(1)
		ok = true
	default:
		s.dropped.Add(1)
	}
	s.inflight.Add(-1)
	return ok
}

// Close stops accepting events, waits until the events already accepted
// have been delivered, and stops the sink's goroutine. It is idempotent.
// Once it has returned, Sent no longer changes and every event it counts
// has been delivered.
func (s *Sink[T]) Close() {
	s.once.Do(func() {
		s.inflight.Add(sinkClosing)
		// Wait for the Sends in flight; none of them blocks.
		for s.inflight.Load() != sinkClosing {
			goruntime.Gosched()
		}
		close(s.quit)
	})
	<-s.done
}

// Pending returns the number of events waiting in the buffer. A consumer
// that buffers its own output can flush when it sees 0.
func (s *Sink[T]) Pending() int { return len(s.ch) }

// Name returns the name the sink was created with.
func (s *Sink[T]) Name() string { return s.name }

// Sent returns the number of events accepted.
func (s *Sink[T]) Sent() uint64 { return s.sent.Load() }

// Dropped returns the number of events dropped because the buffer was full
// or the sink was closed (or closing).
func (s *Sink[T]) Dropped() uint64 { return s.dropped.Load() }

// isNil lets Metrics.AddSink ignore a nil *Sink passed as a SinkCounter.
func (s *Sink[T]) isNil() bool { return s == nil }

// Record is Send without its result, so that an EventSink is a
// ClickRecorder. The sink hands the value to its own goroutine: with
// net/http, whose request strings are never reused, that is safe.
func (s *Sink[T]) Record(e T) { s.Send(e) }
