package server

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/valyala/fasthttp"
)

// checkRequest answers (and returns false for) a request fasthttp read
// but net/http refuses, with net/http's answer, so that both engines
// answer alike: a header name that is not a token (fasthttp accepts
// "X A: b"), an HTTP/1.1 request without Host, or with two; a Host
// net/http's validation refuses; an Expect other than 100-continue; an
// HTTP major version other than 1 (505).
func checkRequest(ctx *fasthttp.RequestCtx) bool {
	h := &ctx.Request.Header
	if p := h.Protocol(); !bytes.HasPrefix(p, []byte("HTTP/1.")) {
		answerError(ctx, http.StatusHTTPVersionNotSupported)
		return false
	}
	if code := checkHeaderBlock(h.RawHeaders(), !h.IsHTTP11()); code != 0 {
		answerError(ctx, code)
		return false
	}
	return true
}

// checkHeaderBlock reads a raw header block (lines "Name: value" ended by
// CRLF or LF, as fasthttp keeps them after parsing) and returns the status
// net/http answers it with, or 0 if it accepts it. http10 tells an
// HTTP/1.0 request, which may go without Host.
func checkHeaderBlock(raw []byte, http10 bool) int {
	hosts := 0
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			break // the end of the block
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return http.StatusBadRequest
		}
		if !validToken(name) {
			return http.StatusBadRequest
		}
		value = bytes.Trim(value, " \t")
		switch {
		case asciiEqualFold(name, "Host"):
			hosts++
			if hosts > 1 || !validHost(value) {
				return http.StatusBadRequest
			}
		case asciiEqualFold(name, "Expect"):
			if len(value) > 0 && !asciiEqualFold(value, "100-continue") {
				return http.StatusExpectationFailed
			}
		}
	}
	if hosts == 0 && !http10 {
		return http.StatusBadRequest
	}
	return 0
}

// asciiEqualFold reports whether b is s, ignoring ASCII case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i]|0x20, s[i]|0x20
		if x != y || (x < 'a' || x > 'z') && b[i] != s[i] {
			return false
		}
	}
	return true
}

// validHost is net/http's check of a Host header (httpguts.ValidHostHeader):
// only the bytes a host, an IP literal and a port may hold, and the
// sub-delimiters.
func validHost(h []byte) bool {
	for _, c := range h {
		if !hostByte[c] {
			return false
		}
	}
	return true
}

var hostByte = func() (t [256]bool) {
	for _, c := range []byte("!$%&'()*+,-.0123456789:;=ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_abcdefghijklmnopqrstuvwxyz~") {
		t[c] = true
	}
	return t
}()

// validToken reports whether b is a non-empty RFC 9110 token, as a header
// name must be.
func validToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenByte[c] {
			return false
		}
	}
	return true
}

var tokenByte = func() (t [256]bool) {
	for _, c := range []byte("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
		t[c] = true
	}
	return t
}()

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
