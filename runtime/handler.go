package runtime

import (
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Handler is an http.Handler that answers requests from a build's redirect
// rules and passes every other request, untouched, to the next handler.
//
// A hit is answered by the Handler alone:
//
//   - the rule's status: 301, 302, 303, 307, 308, or 410 Gone;
//   - Location: the rule's destination (not sent for 410);
//   - Cache-Control: per status, see DefaultCacheControl, overridable with
//     HandlerOptions.CacheControl;
//   - Content-Type: text/html; charset=utf-8 and X-Content-Type-Options:
//     nosniff, with a one-line body linking to the destination (as
//     http.Redirect writes), or saying "Gone";
//   - never Set-Cookie: one set earlier by an outer middleware is removed,
//     so a cacheable redirect can never carry someone's session to a shared
//     cache.
//
// HEAD gets the same status and headers and no body (without a
// Content-Length, which RFC 9110 §9.3.2 allows). Every other method gets the
// rule's answer too, following the status semantics of RFC 9110 §15.4: 307
// and 308 tell the client to repeat the same method and body at the new
// location, 303 to use GET, and 301 and 302 allow a client to change POST to
// GET (browsers do). A redirect rule is about a URL, not a method, so
// answering every method keeps one URL from behaving two ways.
//
// A Handler answers from a Source: a fixed *Set, or a *Live, whose current
// build it loads once per request (until a Live has a build, every request
// is a miss). It looks each request up with Set.LookupRequest: r.URL's path
// as sent and r.Host, so it also works behind http.StripPrefix, and
// requests whose target is not a path (OPTIONS *, CONNECT) are misses.
//
// On a hit the Handler takes no lock and does not log; with metrics it
// reads the clock twice and does three atomic adds (a counter and the
// latency histogram, see Metrics), with a click sink one non-blocking
// channel send. It
// allocates only the Location header's value for most paths (see
// BenchmarkHandler).
type Handler struct {
	src  Source
	next http.Handler
	// notFound: no next handler was given, so a miss is answered 404
	// (OutcomeMiss rather than a fallback's).
	notFound bool
	metrics  *Metrics
	clicks   ClickRecorder
	shadowed func(*http.Request) bool
	// cc holds the Cache-Control header value per status slot, ready to be
	// put in a Header map (nil: no header). The slices are shared by every
	// response: their capacity equals their length, so an append by a
	// wrapper copies instead of writing into them.
	cc [numSlots][]string
}

// HandlerOptions configures a Handler. The zero value is usable.
type HandlerOptions struct {
	// CacheControl overrides the Cache-Control value sent with a status;
	// "" sends none. Statuses not in the map get DefaultCacheControl.
	CacheControl map[int]string
	// Metrics, if not nil, counts hits by status and misses, and times
	// every request into its latency histogram by outcome (hit; miss
	// when next is nil; fallback, or error when next answers 5xx).
	Metrics *Metrics
	// Clicks, if not nil, receives an Event for every hit, on the
	// request's goroutine: Record must not block (a full queue drops and
	// counts) and must copy what it keeps, as the Event's strings belong
	// to the request. An *EventSink (a Sink of Event) and a
	// clicks.Recorder are both ClickRecorders; one that is also a
	// SinkCounter is added to Metrics, and one that is a
	// prometheus.Collector is added with Metrics.AddCollector.
	Clicks ClickRecorder
	// Shadowed, if not nil, is asked about each hit on an unforced rule
	// (Result.Unforced: a Netlify rule without "!"); when it reports true,
	// as when a static file exists at the request path, the request goes
	// to the next handler instead, as on Netlify. Hits on forced rules
	// never call it.
	Shadowed func(r *http.Request) bool
}

// DefaultCacheControl returns the Cache-Control value a Handler sends with
// status by default:
//
//   - 301 and 308 (permanent): "public, max-age=86400". A day saves nearly
//     all repeat requests, yet a mistaken permanent redirect heals within a
//     day instead of living in browsers forever (which is what browsers
//     do with a 301 that has no Cache-Control).
//   - 302, 303 and 307 (temporary): "no-store". A temporary redirect is
//     meant to be asked again: it may change or expire at any moment, and
//     a shared cache must not keep it.
//   - 410 Gone: "public, max-age=3600".
//
// A rule with an expiry date may thus be answered from a cache for up to
// max-age after it expired; lower max-age if that matters.
func DefaultCacheControl(status int) string {
	switch status {
	case 301, 308:
		return "public, max-age=86400"
	case 302, 303, 307:
		return "no-store"
	case 410:
		return "public, max-age=3600"
	case http.StatusServiceUnavailable:
		// A build served from an origin whose shard could not be
		// fetched in time (RemoteOptions.OnFetchError): never cached.
		return "no-store"
	}
	return ""
}

// Source is where a Handler gets the build to answer from. *Set (a build
// that never changes) and *Live (the build a directory holds now) are
// Sources; a program with builds of its own making can write another.
//
// Current is called once per request, on the request's goroutine, so it
// must be cheap and safe for concurrent use; the Handler answers the whole
// request from the Set it returns. A nil Set means no build: the request
// is passed to the next handler.
type Source interface {
	Current() *Set
}

// Current returns s itself: it makes a Set a Source, for NewHandler.
func (s *Set) Current() *Set { return s }

// NewHandler returns a Handler that answers from src's current build and
// passes misses to next. A nil next answers misses with 404 Not Found.
// src is usually a *Set or a *Live:
//
//	runtime.NewHandler(set, app, opts)  // a fixed build
//	runtime.NewHandler(live, app, opts) // the build live serves now
//
// While src has no build (a Live before its first, a nil *Set), every
// request is a miss. NewHandler panics if src is nil.
func NewHandler(src Source, next http.Handler, opts HandlerOptions) *Handler {
	if src == nil {
		panic("runtime: NewHandler: nil Source")
	}
	h := &Handler{src: src, next: next, metrics: opts.Metrics, clicks: opts.Clicks, shadowed: opts.Shadowed}
	if next == nil {
		h.next, h.notFound = http.NotFoundHandler(), true
	}
	for i := range h.cc {
		st := fetchFailed // the slot of statuses no rule has: a remote build's 503
		if i < len(Statuses) {
			st = Statuses[i]
		}
		v, ok := opts.CacheControl[st]
		if !ok {
			v = DefaultCacheControl(st)
		}
		if v != "" {
			h.cc[i] = []string{v}[:1:1]
		}
	}
	if sc, ok := opts.Clicks.(SinkCounter); ok {
		opts.Metrics.AddSink(sc)
	}
	if c, ok := opts.Clicks.(prometheus.Collector); ok && opts.Metrics != nil {
		opts.Metrics.AddCollector(c)
	}
	return h
}

// Handler returns a Handler with default options that answers from the
// build l serves and passes misses to next (nil: 404), counting in l's
// LiveOptions.Metrics. Call NewHandler(l, next, opts) for other options.
func (l *Live) Handler(next http.Handler) *Handler {
	return NewHandler(l, next, HandlerOptions{Metrics: l.opts.Metrics})
}

// Handler returns a Handler with default options that answers from s and
// passes misses to next (nil: 404). It is NewHandler(s, next,
// HandlerOptions{}); call NewHandler for options. s is never reloaded; use
// a Live for that.
func (s *Set) Handler(next http.Handler) *Handler {
	return NewHandler(s, next, HandlerOptions{})
}

// Header values shared by every response (see Handler.cc).
var (
	htmlType = []string{"text/html; charset=utf-8"}[:1:1]
	nosniff  = []string{"nosniff"}[:1:1]
)

// ServeHTTP answers r from the current build, or passes it to the next
// handler on a miss. With metrics it times the request and observes it
// with its outcome (Metrics.ObserveRequest): a hit, a miss (no next
// handler: 404), or, from the status the next handler answers, a fallback
// or an error (5xx).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := h.metrics
	var start time.Duration
	if m != nil {
		start = sinceEpoch()
	}
	if s := h.src.Current(); s != nil {
		if res, path := s.lookupRequest(r); res.Status != 0 && !(res.Unforced && h.shadowed != nil && h.shadowed(r)) {
			h.answer(w, r, res, path, start)
			if m != nil {
				m.ObserveRequest(OutcomeHit, sinceEpoch()-start)
			}
			return
		}
	}
	if m == nil {
		h.next.ServeHTTP(w, r)
		return
	}
	m.CountMiss()
	if h.notFound {
		h.next.ServeHTTP(w, r)
		m.ObserveRequest(OutcomeMiss, sinceEpoch()-start)
		return
	}
	// Only a miss handed to a fallback pays for learning its status.
	sw := statusWriters.Get().(*statusWriter)
	sw.ResponseWriter, sw.status = w, 0
	h.next.ServeHTTP(sw, r)
	o := OutcomeFallback
	if sw.status >= 500 {
		o = OutcomeError
	}
	sw.ResponseWriter = nil
	statusWriters.Put(sw)
	m.ObserveRequest(o, sinceEpoch()-start)
}

// statusWriters recycles statusWriters, so that a miss allocates nothing
// either. A handler must not use its ResponseWriter after returning, so
// the fallback is done with it when it is put back.
var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// epoch is the reference of sinceEpoch.
var epoch = time.Now()

// sinceEpoch reads the monotonic clock only: time.Since costs about half
// of time.Now, which reads the wall clock too (24 against 44 ns here).
func sinceEpoch() time.Duration { return time.Since(epoch) }

// statusWriter records the status a fallback answers with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// ReadFrom keeps the underlying writer's ReadFrom (sendfile for a file
// server) in use.
func (s *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	if rf, ok := s.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{s.ResponseWriter}, src)
}

// Unwrap lets http.ResponseController (a reverse proxy flushing, say)
// reach the real writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (h *Handler) answer(w http.ResponseWriter, r *http.Request, res Result, path string, start time.Duration) {
	slot := statusSlot(res.Status)
	hdr := w.Header()
	delete(hdr, "Set-Cookie")
	if res.Location != "" {
		hdr["Location"] = []string{res.Location}
	} else {
		delete(hdr, "Location") // 410 Gone
	}
	if cc := h.cc[slot]; cc != nil {
		hdr["Cache-Control"] = cc
	} else {
		delete(hdr, "Cache-Control")
	}
	hdr["Content-Type"] = htmlType
	hdr["X-Content-Type-Options"] = nosniff
	w.WriteHeader(res.Status)
	if r.Method != http.MethodHead {
		writeBody(w, res)
	}
	h.metrics.CountHit(res.Status)
	if h.clicks != nil {
		now := time.Now()
		if h.metrics != nil {
			now = epoch.Add(start) // the clock read already made
		}
		h.clicks.Record(Event{
			Time:       now,
			Method:     r.Method,
			Host:       r.Host,
			Path:       path,
			Query:      r.URL.RawQuery,
			Status:     res.Status,
			Location:   res.Location,
			Referer:    r.Header.Get("Referer"),
			UserAgent:  r.Header.Get("User-Agent"),
			RemoteAddr: r.RemoteAddr,
		})
	}
}

// bodyPool holds body buffers, so that a body is written with one Write
// call (each Write to a net/http response takes the connection's lock) and
// no allocation.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeBody writes the small HTML body of a hit: a link to the destination,
// HTML-escaped, like the one http.Redirect writes.
func writeBody(w http.ResponseWriter, res Result) {
	bp := bodyPool.Get().(*[]byte)
	b := (*bp)[:0]
	if res.Location == "" {
		b = append(b, "<p>"...)
		b = append(b, http.StatusText(res.Status)...)
		b = append(b, ".</p>\n"...)
	} else {
		b = append(b, `<a href="`...)
		b = appendHTMLEscaped(b, res.Location)
		b = append(b, `">`...)
		b = append(b, http.StatusText(res.Status)...)
		b = append(b, "</a>.\n"...)
	}
	w.Write(b)
	if cap(b) <= 64<<10 { // do not keep a buffer grown by a huge Location
		*bp = b
		bodyPool.Put(bp)
	}
}

// appendHTMLEscaped appends s with the five characters that matter in an
// HTML attribute escaped (as html.EscapeString does, without allocating).
func appendHTMLEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}
