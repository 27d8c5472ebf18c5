package server

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/redirc/redirc/runtime"
)

// AccessRecord is one access-log line: a request the main address
// answered, by a rule or by the fallback.
type AccessRecord struct {
	Time       time.Time // when the request began
	RemoteAddr string
	Method     string
	Host       string // the Host header as sent
	Path       string // the path as sent (escaped form)
	Query      string // the raw query, without '?'
	Status     int    // the status answered
	Bytes      int64  // body bytes written
	Duration   time.Duration
	Location   string // the Location answered, if any
	Referer    string
	UserAgent  string
}

// accessSinkName labels the access log's counters in the metrics.
const accessSinkName = "access_log"

// newAccessRecord describes r, answered through rec, which began at start.
func newAccessRecord(r *http.Request, rec *accessRecorder, start time.Time) AccessRecord {
	p, q, _ := strings.Cut(r.RequestURI, "?")
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	return AccessRecord{
		Time:       start,
		RemoteAddr: r.RemoteAddr,
		Method:     r.Method,
		Host:       r.Host,
		Path:       p,
		Query:      q,
		Status:     status,
		Bytes:      rec.bytes,
		Duration:   time.Since(start),
		Location:   rec.Header().Get("Location"),
		Referer:    r.Header.Get("Referer"),
		UserAgent:  r.Header.Get("User-Agent"),
	}
}

// accessRecorder captures the status and size of a response for the
// access log.
type accessRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (a *accessRecorder) WriteHeader(code int) {
	if a.status == 0 && code >= 200 {
		a.status = code
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *accessRecorder) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	n, err := a.ResponseWriter.Write(b)
	a.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController (used by the reverse proxy to flush)
// reach the real writer.
func (a *accessRecorder) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// newAccessLog starts the access log's writer goroutine. Lines go through
// a buffer that is flushed whenever no record is waiting, so a busy server
// writes in large blocks and a quiet one line by line. format is "text"
// or "json".
func newAccessLog(w io.Writer, format string, buffer int) *runtime.Sink[AccessRecord] {
	bw := bufio.NewWriterSize(w, 64<<10)
	opts := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && (a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
			return slog.Attr{} // every line is an access: no level, no message
		}
		return a
	}}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(bw, opts)
	} else {
		h = slog.NewTextHandler(bw, opts)
	}
	var sink *runtime.Sink[AccessRecord]
	sink = runtime.NewSink(accessSinkName, buffer, func(e AccessRecord) {
		rec := slog.NewRecord(e.Time, slog.LevelInfo, "", 0)
		rec.AddAttrs(
			slog.String("remote", e.RemoteAddr),
			slog.String("method", e.Method),
			slog.String("host", e.Host),
			slog.String("path", e.Path),
		)
		if e.Query != "" {
			rec.AddAttrs(slog.String("query", e.Query))
		}
		rec.AddAttrs(slog.Int("status", e.Status), slog.Int64("bytes", e.Bytes), slog.Duration("duration", e.Duration))
		if e.Location != "" {
			rec.AddAttrs(slog.String("location", e.Location))
		}
		if e.Referer != "" {
			rec.AddAttrs(slog.String("referer", e.Referer))
		}
		if e.UserAgent != "" {
			rec.AddAttrs(slog.String("ua", e.UserAgent))
		}
		h.Handle(context.Background(), rec)
		if sink.Pending() == 0 {
			bw.Flush()
		}
	})
	return sink
}
