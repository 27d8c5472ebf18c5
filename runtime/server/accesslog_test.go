package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"testing"
	"time"
)

// slogFormatter formats records as this log did with slog's handlers
// (level and message left out): the oracle and the benchmark peer of
// accessFormatter.
type slogFormatter struct {
	buf bytes.Buffer
	h   slog.Handler
}

func newSlogFormatter(format string) *slogFormatter {
	f := &slogFormatter{}
	opts := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && (a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
			return slog.Attr{}
		}
		return a
	}}
	f.h = slog.NewTextHandler(&f.buf, opts)
	if format == "json" {
		f.h = slog.NewJSONHandler(&f.buf, opts)
	}
	return f
}

func (f *slogFormatter) write(e AccessRecord) {
	rec := slog.NewRecord(e.Time, slog.LevelInfo, "", 0)
	rec.AddAttrs(slog.String("remote", e.RemoteAddr), slog.String("method", e.Method), slog.String("host", e.Host), slog.String("path", e.Path))
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
	f.h.Handle(context.Background(), rec)
}

func slogAccessLine(e AccessRecord, format string) string {
	f := newSlogFormatter(format)
	f.write(e)
	return f.buf.String()
}

// formatLine formats e with an accessFormatter.
func formatLine(e AccessRecord, format string) string {
	var buf bytes.Buffer
	f := newAccessFormatter(&buf, format)
	f.write(e)
	f.flush()
	return buf.String()
}

var accessSamples = []AccessRecord{
	{Time: time.Date(2026, 11, 29, 10, 30, 58, 123456789, time.UTC), RemoteAddr: "192.0.2.7:53422", Method: "GET", Host: "example.com",
		Path: "/perm", Query: "utm=1", Status: 301, Bytes: 45, Duration: 1234 * time.Nanosecond, Location: "/to-perm",
		Referer: "https://example.com/a b", UserAgent: `Mozilla/5.0 "quoted" \ back`},
	{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", -7*3600)), RemoteAddr: "[::1]:1", Method: "HEAD", Host: "",
		Path: "/caf\xc3\xa9/\xff\x00\x1f\x7f=\u2028\u00a0", Status: 404, Bytes: 19, Duration: 3 * time.Second},
	{Method: "GET", Path: "/no-time", Status: 200, Duration: -1},
}

// TestAccessFormatMatchesSlog: the hand-written lines are the ones slog
// wrote, so a log pipeline reading them sees no change.
func TestAccessFormatMatchesSlog(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		for _, e := range accessSamples {
			if got, want := formatLine(e, format), slogAccessLine(e, format); got != want {
				t.Errorf("%s:\ngot  %q\nwant %q", format, got, want)
			}
		}
	}
	// And every JSON line is JSON.
	for _, e := range accessSamples {
		var m map[string]any
		if err := json.Unmarshal([]byte(formatLine(e, "json")), &m); err != nil {
			t.Errorf("%q: %v", formatLine(e, "json"), err)
		}
	}
}

func TestAppendQuote(t *testing.T) {
	for _, s := range []string{"", "a b", `say "hi" \ back`, "tab\there", "caf\u00e9", "\x7f", "\xff", "ok"} {
		if got, want := string(appendQuote(nil, s)), strconv.Quote(s); got != want {
			t.Errorf("appendQuote(%q) = %s, want %s", s, got, want)
		}
	}
}

// FuzzAccessFormat holds accessFormatter to slog's output for any field
// values.
func FuzzAccessFormat(f *testing.F) {
	for _, e := range accessSamples {
		f.Add(e.Time.UnixNano(), e.RemoteAddr, e.Method, e.Host, e.Path, e.Query, e.Status, e.Bytes, int64(e.Duration), e.Location, e.Referer, e.UserAgent)
	}
	f.Fuzz(func(t *testing.T, ns int64, remote, method, host, path, query string, status int, n, dur int64, loc, ref, ua string) {
		e := AccessRecord{Time: time.Unix(0, ns).UTC(), RemoteAddr: remote, Method: method, Host: host, Path: path, Query: query,
			Status: status, Bytes: n, Duration: time.Duration(dur), Location: loc, Referer: ref, UserAgent: ua}
		for _, format := range []string{"text", "json"} {
			if got, want := formatLine(e, format), slogAccessLine(e, format); got != want {
				t.Fatalf("%s:\ngot  %q\nwant %q", format, got, want)
			}
		}
	})
}
