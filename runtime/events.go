package runtime

import (
	"sync"
	"sync/atomic"
	"time"
)

// Event describes one answered request: a click on a redirect (sent by a
// Handler to its click sink) or, in `redirc serve`, an access-log line.
// Its strings refer to the request's own memory; nothing is copied.
type Event struct {
	Time   time.Time
	Method string
	Host   string // the Host header as sent
	Path   string // the path as the handler saw it (escaped form)
	Query  string // the raw query, without '?'
	// Status is the status answered: the rule's for a hit, or the
	// fallback's when the event comes from an access log.
	Status int
	// Location is the redirect target ("" for 410 Gone and for misses).
	Location string
	// Hit says a redirect rule answered the request.
	Hit        bool
	Referer    string
	UserAgent  string
	RemoteAddr string
	// Bytes and Duration are filled in by access logs: the body bytes
	// written and the time the request took. Click events leave them zero.
	Bytes    int64
	Duration time.Duration
}

// EventSink delivers events to a function on one goroutine of its own,
// through a buffer. Send never blocks: when the buffer is full the event is
// dropped and counted, so a slow consumer (a remote analytics API, a full
// disk) can never slow the requests that produce the events.
type EventSink struct {
	name    string
	ch      chan Event
	fn      func(Event)
	quit    chan struct{}
	done    chan struct{}
	closed  atomic.Bool
	sent    atomic.Uint64
	dropped atomic.Uint64
	once    sync.Once
}

// DefaultSinkBuffer is the buffer NewEventSink uses when given 0.
const DefaultSinkBuffer = 4096

// NewEventSink starts a sink named name (used as a metrics label) that calls
// fn for every event sent, in order, on one goroutine. buffer is the number
// of events that may wait (0 means DefaultSinkBuffer). Close stops it.
func NewEventSink(name string, buffer int, fn func(Event)) *EventSink {
	if buffer <= 0 {
		buffer = DefaultSinkBuffer
	}
	s := &EventSink{
		name: name,
		ch:   make(chan Event, buffer),
		fn:   fn,
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go s.run()
	return s
}

func (s *EventSink) run() {
	defer close(s.done)
	for {
		select {
		case e := <-s.ch:
			s.fn(e)
		case <-s.quit:
			// Deliver what was accepted before Close, then stop.
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
func (s *EventSink) Send(e Event) bool {
	if s.closed.Load() {
		s.dropped.Add(1)
		return false
	}
	select {
	case s.ch <- e:
		s.sent.Add(1)
		return true
	default:
		s.dropped.Add(1)
		return false
	}
}

// Close stops accepting events, waits until the events already accepted
// have been delivered, and stops the sink's goroutine. It is idempotent.
func (s *EventSink) Close() {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.quit)
	})
	<-s.done
}

// Pending returns the number of events waiting in the buffer. A consumer
// that buffers its own output can flush when it sees 0.
func (s *EventSink) Pending() int { return len(s.ch) }

// Name returns the name the sink was created with.
func (s *EventSink) Name() string { return s.name }

// Sent returns the number of events accepted.
func (s *EventSink) Sent() uint64 { return s.sent.Load() }

// Dropped returns the number of events dropped because the buffer was full
// or the sink was closed.
func (s *EventSink) Dropped() uint64 { return s.dropped.Load() }
