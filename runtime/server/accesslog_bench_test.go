package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/redirc/redirc/runtime"
)

// discardWriter is a ResponseWriter that keeps nothing but its header map.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// cpuTime returns the CPU time the process has used (user and system),
// in nanoseconds: what a request costs a core, whichever goroutine spends
// it and however busy the machine is.
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkAccessLog prices the access log side by side in one run: a hit
// through Server.Handler with the log off and on (the request's side:
// recording and queueing a record), and the writer goroutine's side,
// formatting one record as text and as JSON. cpu-ns/op is the process's
// CPU time per request, the writer goroutine's included: on one core a
// request costs that.
func BenchmarkAccessLog(b *testing.B) {
	dir := b.TempDir()
	writeBuild(b, dir, "/perm /to-perm 301")
	req := httptest.NewRequest("GET", "/perm?utm_source=x", nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/130.0")
	req.Header.Set("Referer", "https://example.com/some/page")
	req.RemoteAddr = "192.0.2.7:53422"
	for _, c := range []struct {
		name string
		log  io.Writer
		slog bool
	}{{"request/log-off", nil, false}, {"request/log-on", io.Discard, false}, {"request/log-on-slog", io.Discard, true}} {
		b.Run(c.name, func(b *testing.B) {
			s, err := New(dir, Options{AccessLog: c.log, AccessLogBuffer: 1 << 20, NoWatch: true, GCPercent: -1, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if c.slog { // the peer: lines formatted by slog's TextHandler, as before
				s.access.Close()
				f := newSlogFormatter("text")
				s.access = runtime.NewSink(accessSinkName, 1<<20, func(e AccessRecord) { f.buf.Reset(); f.write(e) })
			}
			h := s.Handler()
			w := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
			s.Close() // the writer has formatted every record
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
			if c.log != nil && s.access.Dropped() > 0 {
				n := s.access.Dropped()
				b.Logf("%d of %d records dropped", n, b.N)
			}
		})
	}
	rec := AccessRecord{
		Time: time.Now(), RemoteAddr: req.RemoteAddr, Method: "GET", Host: "example.com", Path: "/perm", Query: "utm_source=x",
		Status: 301, Bytes: 45, Duration: 1234 * time.Nanosecond, Location: "/to-perm",
		Referer: req.Header.Get("Referer"), UserAgent: req.Header.Get("User-Agent"),
	}
	for _, format := range []string{"text", "json"} {
		b.Run("format/"+format, func(b *testing.B) {
			f := newAccessFormatter(io.Discard, format)
			b.ReportAllocs()
			for b.Loop() {
				f.write(rec)
			}
			f.flush()
		})
		// The peer: slog's handler, which formatted these lines before.
		b.Run("format/"+format+"-slog", func(b *testing.B) {
			f := newSlogFormatter(format)
			b.ReportAllocs()
			for b.Loop() {
				f.buf.Reset()
				f.write(rec)
			}
		})
	}
}
