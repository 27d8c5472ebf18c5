package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestEnginesManyIdleConnections: 10,000 idle connections (5,000 when the
// file limit cannot be raised that far) do not keep a live one from being
// answered. The latencies before and after are logged, not asserted.
func TestEnginesManyIdleConnections(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	old := lim
	n := 10000
	if lim.Cur < uint64(2*n+1000) {
		lim.Cur = min(lim.Max, uint64(2*n+1000))
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Logf("raising RLIMIT_NOFILE: %v", err)
		}
		defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if lim.Cur < uint64(2*n+1000) {
		n = int(lim.Cur/2) - 500
		t.Logf("RLIMIT_NOFILE %d: %d idle connections", lim.Cur, n)
	}
	dir := t.TempDir()
	writeBuild(t, dir, "/x /y")
	forEngines(t, func(t *testing.T, engine string) {
		_, addr, _, _ := serveEngine(t, engine, dir, Options{ReadHeaderTimeout: time.Minute, IdleTimeout: time.Minute})
		live, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer live.Close()
		br := bufio.NewReader(live)
		p50 := func() time.Duration {
			var ds []time.Duration
			for range 200 {
				start := time.Now()
				io.WriteString(live, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
				live.SetReadDeadline(time.Now().Add(30 * time.Second)) // hangs only
				r, err := http.ReadResponse(br, nil)
				if err != nil || r.StatusCode != 301 {
					t.Fatalf("live connection: %v", err)
				}
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
				ds = append(ds, time.Since(start))
			}
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			return ds[len(ds)/2]
		}
		before := p50()
		// Dial from 64 goroutines: on a loaded machine the accept queue
		// fills and a refused SYN is retried a second later.
		idle := make([]net.Conn, n)
		defer func() {
			for _, c := range idle {
				if c != nil {
					c.Close()
				}
			}
		}()
		var wg sync.WaitGroup
		var failed atomic.Int64
		for w := range 64 {
			wg.Go(func() {
				for i := w; i < n; i += 64 {
					c, err := net.DialTimeout("tcp", addr, 30*time.Second)
					if err != nil {
						failed.Add(1)
						continue
					}
					idle[i] = c
				}
			})
		}
		wg.Wait()
		if f := failed.Load(); f > 0 {
			t.Fatalf("%d of %d idle connections failed to connect", f, n)
		}
		// Half of them send half a request.
		for i, c := range idle {
			if i%2 == 0 {
				io.WriteString(c, "GET /x HTTP/1.1\r\n")
			}
		}
		after := p50()
		t.Logf("%s: median answer on a live connection %v alone, %v beside %d idle ones", engine, before, after, len(idle))
	})
}
