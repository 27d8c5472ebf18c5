package server

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redirc/redirc/runtime"
)

// AccessRecord is one access-log line: a request the main address
// answered, by a rule or by the fallback. It is what the request's
// goroutine hands to the log (by value, through a bounded queue that
// drops rather than waits); the log's own goroutine formats it.
//
// An engine fills one per request and calls Server.logAccess. Its strings
// are kept until the line is written, after the request is done: an
// engine whose request bytes are reused (fasthttp, gnet) must give it
// copies (one allocation for all of them: build them in one []byte).
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

// accessLogOn reports whether requests are logged, so that an engine
// fills an AccessRecord only then.
func (s *Server) accessLogOn() bool { return s.access != nil }

// logAccess queues rec for the access log without blocking (a full
// queue drops it and counts the drop); it does nothing with the log off.
// Admin requests (health checks, scrapes) are not logged.
func (s *Server) logAccess(rec AccessRecord) {
	if s.access != nil {
		s.access.Send(rec)
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

// accessRecorders recycles accessRecorders, so that logging a request
// allocates nothing. A handler does not use its ResponseWriter after
// returning, so mainHandler puts it back once it has read it.
var accessRecorders = sync.Pool{New: func() any { return new(accessRecorder) }}

// Unwrap lets http.ResponseController (used by the reverse proxy to flush)
// reach the real writer.
func (a *accessRecorder) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// newAccessLog starts the access log's writer goroutine. Lines go through
// a buffer that is flushed whenever no record is waiting, so a busy server
// writes in large blocks and a quiet one line by line. format is "text"
// or "json".
func newAccessLog(w io.Writer, format string, buffer int) *runtime.Sink[AccessRecord] {
	f := newAccessFormatter(w, format)
	var sink *runtime.Sink[AccessRecord]
	sink = runtime.NewSink(accessSinkName, buffer, func(e AccessRecord) {
		f.write(e)
		if sink.Pending() == 0 {
			f.flush()
		}
	})
	return sink
}

// accessFormatter formats access records into a buffered writer, on the
// writer goroutine. Its lines are byte for byte those of slog's
// TextHandler and JSONHandler with the level and message left out (what
// this log wrote before), at a fraction of their cost: they are appended
// to one reused buffer, with no Record, no attribute values and no
// interface calls (FuzzAccessFormat holds it to slog's output).
type accessFormatter struct {
	bw   *bufio.Writer
	json bool
	buf  []byte
}

func newAccessFormatter(w io.Writer, format string) *accessFormatter {
	return &accessFormatter{bw: bufio.NewWriterSize(w, 64<<10), json: format == "json", buf: make([]byte, 0, 1024)}
}

func (f *accessFormatter) flush() { f.bw.Flush() }

func (f *accessFormatter) write(e AccessRecord) {
	b := f.buf[:0]
	if f.json {
		b = append(b, '{')
	}
	first := true
	if !e.Time.IsZero() {
		if f.json {
			b = append(b, `"time":"`...)
			b = e.Time.AppendFormat(b, time.RFC3339Nano)
			b = append(b, '"')
		} else {
			b = append(b, "time="...)
			b = appendRFC3339Millis(b, e.Time)
		}
		first = false
	}
	b = f.str(b, &first, "remote", e.RemoteAddr)
	b = f.str(b, &first, "method", e.Method)
	b = f.str(b, &first, "host", e.Host)
	b = f.str(b, &first, "path", e.Path)
	if e.Query != "" {
		b = f.str(b, &first, "query", e.Query)
	}
	b = strconv.AppendInt(f.key(b, &first, "status"), int64(e.Status), 10)
	b = strconv.AppendInt(f.key(b, &first, "bytes"), e.Bytes, 10)
	if f.json {
		b = strconv.AppendInt(f.key(b, &first, "duration"), int64(e.Duration), 10)
	} else {
		b = f.key(b, &first, "duration")
		b = appendTextString(b, e.Duration.String())
	}
	if e.Location != "" {
		b = f.str(b, &first, "location", e.Location)
	}
	if e.Referer != "" {
		b = f.str(b, &first, "referer", e.Referer)
	}
	if e.UserAgent != "" {
		b = f.str(b, &first, "ua", e.UserAgent)
	}
	if f.json {
		b = append(b, '}')
	}
	b = append(b, '\n')
	f.bw.Write(b)
	if cap(b) <= 64<<10 { // do not keep a buffer grown by a huge record
		f.buf = b
	}
}

// key appends the separator before a field and its key.
func (f *accessFormatter) key(b []byte, first *bool, k string) []byte {
	if !*first {
		if f.json {
			b = append(b, ',')
		} else {
			b = append(b, ' ')
		}
	}
	*first = false
	if f.json {
		b = append(b, '"')
		b = append(b, k...)
		return append(b, `":`...)
	}
	b = append(b, k...)
	return append(b, '=')
}

// str appends a string field.
func (f *accessFormatter) str(b []byte, first *bool, k, v string) []byte {
	b = f.key(b, first, k)
	if f.json {
		b = append(b, '"')
		b = appendJSONString(b, v)
		return append(b, '"')
	}
	return appendTextString(b, v)
}

// appendRFC3339Millis appends t as slog's TextHandler writes a time:
// RFC 3339 with exactly three fractional digits.
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	// RFC3339Nano trims trailing zeros: add 1/10 ms so that there are
	// exactly four digits, and drop the fourth.
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...)
}

// appendTextString appends s as a logfmt value, quoted (strconv.Quote)
// when it is empty or holds a space, '=', '"', a control character
// below 0x20, invalid UTF-8 or a non-ASCII space or unprintable rune, as
// slog's TextHandler does.
func appendTextString(b []byte, s string) []byte {
	if textNeedsQuoting(s) {
		return appendQuote(b, s)
	}
	return append(b, s...)
}

// appendQuote is strconv.AppendQuote, with a fast path for the usual
// printable-ASCII string (a User-Agent, say), where only '"' and '\\'
// are escaped.
func appendQuote(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f {
			return strconv.AppendQuote(b, s)
		}
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', c)
			start = i + 1
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func textNeedsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' { // not '\\' nor DEL, as slog
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s escaped for a JSON string, as slog's
// JSONHandler does: '"', '\\' and control characters escaped, invalid
// UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' { // DEL passes, as in slog
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, '\\')
			switch c {
			case '\\', '"':
				b = append(b, c)
			case '\n':
				b = append(b, 'n')
			case '\r':
				b = append(b, 'r')
			case '\t':
				b = append(b, 't')
			default:
				b = append(b, 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
