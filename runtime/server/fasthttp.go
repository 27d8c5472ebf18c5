package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/redirc/redirc/runtime"
)

// fastEngine is the engine built on github.com/valyala/fasthttp: its
// request parser, connection handling, keep-alive, pipelining and
// timeouts. Redirects (hits, and misses answered 404) are answered
// without building a net/http request; every other request (the admin
// endpoints, misses handed to a fallback, targets that are not a plain
// path) goes to the same net/http handlers as on the net/http engine,
// through fasthttpadaptor, which streams their responses.
//
// fasthttp's parser accepts some requests net/http refuses (obs-fold,
// whitespace before a colon, control bytes, a missing or a second Host,
// two Content-Lengths); checkRequest refuses them first, with the
// answer net/http gives, so that both engines answer every request the
// same way (conformance_test.go).
type fastEngine struct {
	srv   *fasthttp.Server
	conns *connTracker
}

// newFastEngine returns the fasthttp engine serving the main handler
// (main true) or the admin handler.
func (s *Server) newFastEngine(main bool) engine {
	o := s.opts
	headerTimeout := o.ReadHeaderTimeout
	if headerTimeout <= 0 {
		headerTimeout = o.ReadTimeout
	}
	var h fasthttp.RequestHandler
	if main {
		h = newFastMain(s).serve
	} else {
		adapted := fasthttpadaptor.NewFastHTTPHandler(s.admin)
		h = func(ctx *fasthttp.RequestCtx) {
			if checkRequest(ctx) {
				adapted(ctx)
			}
		}
	}
	srv := &fasthttp.Server{
		Handler: h,
		// The request line and header block must fit in the read buffer;
		// a larger one is answered 431. net/http allows MaxHeaderBytes
		// plus 4096 bytes of slack: so does this.
		ReadBufferSize:                o.MaxHeaderBytes + 4096,
		ReadTimeout:                   headerTimeout,
		WriteTimeout:                  o.WriteTimeout,
		IdleTimeout:                   o.IdleTimeout,
		StreamRequestBody:             true,
		NoDefaultServerHeader:         true,
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: false,
		CloseOnShutdown:               true,
		SecureErrorLogMessage:         true, // typed errors, no request bytes in logs
		ErrorHandler:                  fastError,
		Logger:                        fastLogger{s.log},
	}
	if o.ReadTimeout > 0 {
		// The body (read while the handler runs) gets ReadTimeout from
		// the end of the header block.
		srv.HeaderReceived = func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
			return fasthttp.RequestConfig{ReadTimeout: o.ReadTimeout}
		}
	}
	return &fastEngine{srv: srv, conns: &connTracker{conns: map[net.Conn]struct{}{}}}
}

func (e *fastEngine) serve(ln net.Listener) error {
	err := e.srv.Serve(trackedListener{ln, e.conns})
	if err == nil || e.conns.isClosed() {
		return errEngineClosed
	}
	return err
}

func (e *fastEngine) shutdown(ctx context.Context) error {
	e.conns.markClosed()
	return e.srv.ShutdownWithContext(ctx)
}

func (e *fastEngine) close() error {
	e.conns.markClosed()
	e.conns.closeAll()
	return nil
}

// fastError answers a request fasthttp could not read, as net/http does:
// 431 for a header block over the limit, 501 for a transfer coding other
// than chunked, nothing on a timeout, else 400; the
// connection is then closed.
func fastError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.As(err, &small):
		answerError(ctx, http.StatusRequestHeaderFieldsTooLarge)
	case errors.Is(err, fasthttp.ErrUnsupportedTransferEncoding):
		answerError(ctx, http.StatusNotImplemented)
	case errors.As(err, &ne) && ne.Timeout():
		// As net/http does: a request that did not arrive in time gets
		// no answer, only the connection closed.
		ctx.Conn().Close()
	default:
		answerError(ctx, http.StatusBadRequest)
	}
}

// answerError answers code with net/http's body for it ("400 Bad
// Request") and closes the connection.
func answerError(ctx *fasthttp.RequestCtx, code int) {
	ctx.Response.Reset()
	ctx.SetStatusCode(code)
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString(http.StatusText(code))
	if code == http.StatusRequestHeaderFieldsTooLarge || code == http.StatusBadRequest {
		ctx.SetBodyString(itoa3(code) + " " + http.StatusText(code))
	}
	ctx.SetConnectionClose()
}

func itoa3(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

// fastLogger sends fasthttp's own messages (connection errors, mostly
// clients gone) to the server's logger at debug level.
type fastLogger struct{ log *slog.Logger }

func (l fastLogger) Printf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug("redirc: fasthttp: " + sprintf(format, args...))
	}
}

// fastMain answers requests on the main address.
type fastMain struct {
	s         *Server
	redirects http.Handler // runtime.Handler; misses to fastMiss
	delegate  fasthttp.RequestHandler
	fallback  fasthttp.RequestHandler // nil without Options.Fallback
	pool      sync.Pool               // *fastRequest
}

// fastMiss marks a miss on the fastWriter, for fastMain to hand the
// request to the fallback (or answer it 404).
type fastMiss struct{}

func (fastMiss) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// w is the fastWriter, or wraps it (the access log's recorder, the
	// Handler's status recorder for metrics).
	for {
		if fw, ok := w.(*fastWriter); ok {
			fw.miss = true
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			panic(fmt.Sprintf("server: fastMiss: %T does not wrap the fast engine's writer", w))
		}
		w = u.Unwrap()
	}
}

func newFastMain(s *Server) *fastMain {
	m := &fastMain{s: s, delegate: fasthttpadaptor.NewFastHTTPHandler(detached{s.main})}
	var next http.Handler = fastMiss{}
	if s.opts.Fallback == nil {
		next = nil // runtime.Handler's 404
	} else {
		var fb http.Handler = streaming{s.opts.Fallback}
		if s.access != nil {
			fb = accessLogged{s, fb}
		}
		m.fallback = fasthttpadaptor.NewFastHTTPHandler(detached{fb})
	}
	m.redirects = runtime.NewHandler(s.live, next, s.handlerOptions())
	m.pool.New = func() any {
		fr := &fastRequest{}
		fr.req.URL = &fr.url
		fr.req.Header = http.Header{}
		fr.req.Proto, fr.req.ProtoMajor, fr.req.ProtoMinor = "HTTP/1.1", 1, 1
		fr.w.hdr = http.Header{}
		return fr
	}
	return m
}

// detached serves h a request whose strings are its own: fasthttpadaptor
// hands over strings that alias fasthttp's buffers, reused after the
// request, and the access log keeps them longer. Its context is not
// canceled by a graceful shutdown (fasthttp's RequestCtx is), so a
// request in flight to an upstream finishes, as on net/http.
type detached struct{ h http.Handler }

func (d detached) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r2 := new(http.Request)
	*r2 = *r
	r2.Method = strings.Clone(r.Method)
	r2.Host = strings.Clone(r.Host)
	r2.RequestURI = strings.Clone(r.RequestURI)
	r2.RemoteAddr = strings.Clone(r.RemoteAddr)
	r2.Proto = strings.Clone(r.Proto)
	if r.URL != nil {
		u := *r.URL
		u.Scheme, u.Host, u.Path, u.RawPath, u.RawQuery = strings.Clone(u.Scheme), strings.Clone(u.Host), strings.Clone(u.Path), strings.Clone(u.RawPath), strings.Clone(u.RawQuery)
		u.Opaque, u.Fragment = strings.Clone(u.Opaque), strings.Clone(u.Fragment)
		r2.URL = &u
	}
	r2.Header = make(http.Header, len(r.Header))
	for k, vs := range r.Header {
		c := make([]string, len(vs))
		for i, v := range vs {
			c[i] = strings.Clone(v)
		}
		r2.Header[strings.Clone(k)] = c
	}
	d.h.ServeHTTP(w, r2.WithContext(context.WithoutCancel(r.Context())))
}

// streaming makes fasthttpadaptor stream h's answer (a file, a proxied
// response) once it passes streamAfter bytes, instead of holding it all in
// memory; WriteTimeout then bounds the rest. Smaller answers (a 404, a
// small page) stay buffered, which costs the adaptor less.
type streaming struct{ h http.Handler }

const streamAfter = 64 << 10

func (s streaming) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.h.ServeHTTP(&flushingWriter{ResponseWriter: w}, r)
}

type flushingWriter struct {
	http.ResponseWriter
	written int
	flushed bool
}

func (f *flushingWriter) Write(b []byte) (int, error) {
	n, err := f.ResponseWriter.Write(b)
	f.written += n
	if !f.flushed && f.written >= streamAfter {
		f.flushed = true
		http.NewResponseController(f.ResponseWriter).Flush()
	}
	return n, err
}

func (f *flushingWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// accessLogged records the requests h answers in the access log (the
// fallback's, on the fast engine; mainHandler does it on net/http).
type accessLogged struct {
	s *Server
	h http.Handler
}

func (a accessLogged) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &accessRecorder{ResponseWriter: w}
	a.h.ServeHTTP(rec, r)
	a.s.access.Send(newAccessRecord(r, rec, start))
}

// fastRequest is the net/http request a hit is answered from, reused.
type fastRequest struct {
	req http.Request
	url url.URL
	w   fastWriter
	rec accessRecorder
}

func (m *fastMain) serve(ctx *fasthttp.RequestCtx) {
	if !checkRequest(ctx) {
		return
	}
	uri := ctx.Request.Header.RequestURI()
	if string(uri) == "*" && ctx.IsOptions() {
		// OPTIONS *: net/http's answer for the server as a whole.
		ctx.SetStatusCode(http.StatusOK)
		return
	}
	if len(uri) == 0 || uri[0] != '/' {
		// Absolute-form or asterisk-form: net/http's reading of them.
		m.delegate(ctx)
		return
	}
	rawPath, rawQuery := uri, []byte(nil)
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		rawPath, rawQuery = uri[:i], uri[i+1:]
	}
	if bytes.IndexByte(rawPath, '#') >= 0 || m.s.adminRoute(string(rawPath)) != nil {
		m.delegate(ctx)
		return
	}
	fr := m.pool.Get().(*fastRequest)
	defer m.pool.Put(fr)
	r := &fr.req
	raw := string(rawPath)
	p, err := url.PathUnescape(raw)
	if err != nil {
		answerError(ctx, http.StatusBadRequest)
		return
	}
	fr.url = url.URL{Path: p}
	if p != raw {
		fr.url.RawPath = raw
	}
	if len(rawQuery) > 0 {
		fr.url.RawQuery = string(rawQuery)
	}
	r.Method = methodString(ctx.Method())
	r.Host = string(ctx.Host())
	clear(r.Header)
	fr.w = fastWriter{ctx: ctx, hdr: fr.w.hdr}
	clear(fr.w.hdr)
	var w http.ResponseWriter = &fr.w
	var start time.Time
	if m.s.access != nil || m.s.opts.Clicks != nil {
		// The access log and click events read these; without either,
		// the lookup needs none of them.
		r.RemoteAddr = ctx.RemoteAddr().String()
		r.RequestURI = string(uri)
		if v := ctx.Request.Header.Referer(); len(v) > 0 {
			r.Header["Referer"] = []string{string(v)}
		}
		if v := ctx.Request.Header.UserAgent(); len(v) > 0 {
			r.Header["User-Agent"] = []string{string(v)}
		}
	}
	if m.s.access != nil {
		start = time.Now()
		fr.rec = accessRecorder{ResponseWriter: w}
		w = &fr.rec
	}
	m.redirects.ServeHTTP(w, r)
	if fr.w.miss {
		// A miss with a fallback: net/http's request, in full.
		ctx.Response.Reset()
		m.fallback(ctx)
		return
	}
	fr.w.finish()
	if m.s.access != nil {
		m.s.access.Send(newAccessRecord(r, &fr.rec, start))
	}
}

// methodString returns m as a string, without allocating for the common
// methods.
func methodString(m []byte) string {
	switch string(m) {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodHead:
		return http.MethodHead
	case http.MethodPost:
		return http.MethodPost
	}
	return string(m)
}

// fastWriter is the http.ResponseWriter runtime.Handler answers a hit
// (or a 404) through: headers are collected, then copied into the
// fasthttp response.
type fastWriter struct {
	ctx    *fasthttp.RequestCtx
	hdr    http.Header
	status int
	miss   bool
}

func (w *fastWriter) Header() http.Header { return w.hdr }

func (w *fastWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	rh := &w.ctx.Response.Header
	rh.SetStatusCode(code)
	for k, vs := range w.hdr {
		for i, v := range vs {
			if i == 0 {
				rh.Set(k, v)
			} else {
				rh.Add(k, v)
			}
		}
	}
}

func (w *fastWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.ctx.Response.AppendBody(b)
	return len(b), nil
}

// finish completes a response nothing was written to.
func (w *fastWriter) finish() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
}

// connTracker remembers the open connections of a listener, so that close
// can cut them (fasthttp's shutdown only waits for them).
type connTracker struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (t *connTracker) add(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *connTracker) remove(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

func (t *connTracker) markClosed() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
}

func (t *connTracker) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

func (t *connTracker) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns {
		c.Close()
	}
}

type trackedListener struct {
	net.Listener
	t *connTracker
}

func (l trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if !l.t.add(c) {
		c.Close()
		return nil, net.ErrClosed
	}
	return &trackedConn{Conn: c, t: l.t}, nil
}

type trackedConn struct {
	net.Conn
	t    *connTracker
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.t.remove(c.Conn) })
	return c.Conn.Close()
}
