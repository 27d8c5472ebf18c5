package server

import (
	"bufio"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkEngineHit answers one hit through each engine's request path,
// in process (no sockets): the fasthttp engine's handler on a parsed
// request, and net/http's Handler on an httptest request and recorder.
//
//	go test -run '^$' -bench EngineHit -benchmem ./runtime/server
func BenchmarkEngineHit(b *testing.B) {
	dir := b.TempDir()
	writeBuild(&testing.T{}, dir, "/perm /to-perm 301")
	s, err := New(dir, Options{Logger: quiet, GCPercent: -1, NoWatch: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Run("fasthttp", func(b *testing.B) {
		m := newFastMain(s)
		var req fasthttp.Request
		if err := req.Read(bufio.NewReader(strings.NewReader("GET /perm?x=1 HTTP/1.1\r\nHost: site.example\r\n\r\n"))); err != nil {
			b.Fatal(err)
		}
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, nil)
		b.ReportAllocs()
		for b.Loop() {
			ctx.Response.Reset()
			m.serve(&ctx)
		}
		if ctx.Response.StatusCode() != 301 {
			b.Fatalf("status %d", ctx.Response.StatusCode())
		}
	})
	b.Run("nethttp", func(b *testing.B) {
		h := s.Handler()
		req := httptest.NewRequest("GET", "http://site.example/perm?x=1", nil)
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
		}
	})
}
