package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/runtime/server"
)

// A program that serves the redirects of a build directory, misses going
// to its own files, with the admin endpoints on the main address (as
// `redirc serve --fallback ./public out` does). A real one would call
// srv.ListenAndServe(ctx) instead of answering one request.
func Example() {
	dir, _ := os.MkdirTemp("", "redirc-example")
	defer os.RemoveAll(dir)
	b, _, _ := compiler.Compile([]compiler.Rule{{Source: "/old", Destination: "/new", Status: 301}}, compiler.Options{})
	b.WriteDir(dir)

	fallback, err := server.FallbackDir(os.TempDir())
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := server.New(dir, server.Options{
		Fallback:  fallback,
		Logger:    slog.New(slog.DiscardHandler),
		GCPercent: -1, // leave this program's GC settings alone
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	for _, path := range []string{"/old", server.AdminPaths(server.DefaultAdminPrefix)[0]} {
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, w.Code, w.Header().Get("Location"))
	}
	// Output:
	// /old 301 /new
	// /.redirc/healthz 200
}

// A program with metrics of its own gives the server its registry: one
// /metrics endpoint then serves both, with the binary's version in
// redirc_build_info.
func ExampleOptions_registry() {
	dir, _ := os.MkdirTemp("", "redirc-example")
	defer os.RemoveAll(dir)
	b, _, _ := compiler.Compile([]compiler.Rule{{Source: "/old", Destination: "/new", Status: 301}}, compiler.Options{})
	b.WriteDir(dir)

	reg := prometheus.NewRegistry()
	jobs := prometheus.NewCounter(prometheus.CounterOpts{Name: "app_jobs_total", Help: "Jobs done."})
	reg.MustRegister(jobs)
	srv, err := server.New(dir, server.Options{
		Registry:  reg,
		Version:   "v1.4.0",
		Logger:    slog.New(slog.DiscardHandler),
		GCPercent: -1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/.redirc/metrics", nil))
	for line := range strings.Lines(w.Body.String()) {
		if strings.HasPrefix(line, "app_jobs_total") || strings.HasPrefix(line, "redirc_hits_total") {
			fmt.Print(line)
		}
	}
	// Output:
	// app_jobs_total 0
	// redirc_hits_total 0
}

// Serve through net/http's server instead of the default fasthttp engine
// (what `redirc serve --engine net/http` does). Handler answers alike on
// both; only the engine behind Serve changes.
func ExampleOptions_engine() {
	dir, _ := os.MkdirTemp("", "redirc-example")
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _, _ := compiler.Compile([]compiler.Rule{{Source: "/old", Destination: "/new", Status: 301}}, compiler.Options{})
	b.WriteDir(dir)
	srv, err := server.New(dir, server.Options{
		Engine:    server.EngineNetHTTP,
		Logger:    slog.New(slog.DiscardHandler),
		GCPercent: -1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, nil) }()

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("http://" + ln.Addr().String() + "/old")
	if err != nil {
		fmt.Println(err)
	} else {
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Location"))
	}
	stop()
	fmt.Println(<-done)
	// Output:
	// 301 /new
	// <nil>
}
