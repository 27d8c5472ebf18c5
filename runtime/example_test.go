package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/runtime"
)

// exampleRules are the rules of the examples' builds.
var exampleRules = []compiler.Rule{
	{Source: "/old-page", Destination: "/new-page", Status: 301},
	{Source: "/docs/v1/*", Destination: "/docs/v2/:splat", Status: 308},
	{Source: "/promo", Destination: "/sale", Status: 302, Query: true},
}

// exampleBuild writes a small build the way `redirc build` would, into a
// new temporary directory.
func exampleBuild() string {
	dir, err := os.MkdirTemp("", "redirc-example-")
	if err != nil {
		log.Fatal(err)
	}
	writeExampleBuild(dir)
	return dir
}

// writeExampleBuild writes the examples' build into dir.
func writeExampleBuild(dir string) {
	b, _, err := compiler.Compile(exampleRules, compiler.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := b.WriteDir(dir); err != nil {
		log.Fatal(err)
	}
}

// Open a build and look paths up: the smallest embedding, for a program
// that has the host, path and query at hand.
func ExampleOpen() {
	dir := exampleBuild()
	defer os.RemoveAll(dir)

	set, err := runtime.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	for _, path := range []string{"/old-page", "/docs/v1/install", "/about"} {
		// The path as sent: percent-encoded, without the query.
		res := set.Lookup("example.com", path, "")
		if res.Found() {
			fmt.Println(path, res.Status, res.Location)
		} else {
			fmt.Println(path, "no rule")
		}
	}
	// Output:
	// /old-page 301 /new-page
	// /docs/v1/install 308 /docs/v2/install
	// /about no rule
}

// LookupRequest answers an *http.Request exactly as a Handler would (the
// path as sent, the Host, the query), for a handler of your own that does
// more with a hit than redirect.
func ExampleSet_LookupRequest() {
	dir := exampleBuild()
	defer os.RemoveAll(dir)
	set, err := runtime.Open(dir)
	if err != nil {
		log.Fatal(err)
	}

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if res := set.LookupRequest(r); res.Found() {
			w.Header().Set("X-Redirected-By", "redirc")
			http.Redirect(w, r, res.Location, res.Status)
			return
		}
		fmt.Fprintln(w, "the application")
	})

	for _, target := range []string{"/promo?utm_source=mail", "/docs/v1/a%2Fb", "/about"} {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		fmt.Println(target, rec.Code, rec.Header().Get("Location"))
	}
	// Output:
	// /promo?utm_source=mail 302 /sale?utm_source=mail
	// /docs/v1/a%2Fb 308 /docs/v2/a%2Fb
	// /about 200
}

// A Handler over a fixed Set with options: Cache-Control per status and
// metrics. The same options work over a Live (NewHandler takes either).
func ExampleNewHandler() {
	dir := exampleBuild()
	defer os.RemoveAll(dir)
	set, err := runtime.Open(dir)
	if err != nil {
		log.Fatal(err)
	}

	metrics := runtime.NewMetrics()
	handler := runtime.NewHandler(set, nil, runtime.HandlerOptions{ // nil: 404 on a miss
		CacheControl: map[int]string{301: "public, max-age=300", 308: ""},
		Metrics:      metrics,
	})

	for _, path := range []string{"/old-page", "/docs/v1/install", "/about"} {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%s %d %q\n", path, rec.Code, rec.Header().Get("Cache-Control"))
	}
	fmt.Println(metrics.Hits(), "hits,", metrics.Misses(), "miss")
	// Output:
	// /old-page 301 "public, max-age=300"
	// /docs/v1/install 308 ""
	// /about 404 ""
	// 2 hits, 1 miss
}

// A build put in front of an existing handler: rules answer, everything
// else reaches the application untouched.
func ExampleSet_Handler() {
	dir := exampleBuild()
	defer os.RemoveAll(dir)

	app := http.NewServeMux()
	app.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "the application") })

	set, err := runtime.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	handler := set.Handler(app) // the one line: http.ListenAndServe(addr, set.Handler(app))

	for _, path := range []string{"/old-page", "/docs/v1/install", "/about"} {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, rec.Code, rec.Header().Get("Location"), rec.Header().Get("Cache-Control"))
	}
	// Output:
	// /old-page 301 /new-page public, max-age=86400
	// /docs/v1/install 308 /docs/v2/install public, max-age=86400
	// /about 200
}

// The same with hot reload: a new build written into dir by `redirc build`
// is picked up without a restart, and /healthz and /metrics report on it.
func ExampleLive() {
	dir := exampleBuild()
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	metrics := runtime.NewMetrics()
	live, err := runtime.OpenLive(dir, runtime.LiveOptions{Metrics: metrics})
	if err != nil {
		log.Fatal(err)
	}
	go live.Watch(ctx)

	mux := http.NewServeMux()
	mux.Handle("/healthz", live.HealthHandler())
	mux.Handle("/metrics", metrics)
	mux.Handle("/", live.Handler(http.FileServer(http.Dir("public"))))
	// http.ListenAndServe(":8080", mux)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/old-page", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"), live.Status().Rules, "rules")
	// Output:
	// 301 /new-page 3 rules
}

// A server that starts before its first build: until one lands, requests
// reach the application, and Reload says why with ErrNoBuild.
func ExampleNewLive() {
	dir, err := os.MkdirTemp("", "redirc-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	live := runtime.NewLive(dir, runtime.LiveOptions{
		Logger: slog.New(slog.DiscardHandler), // Reload and Watch log; here, quietly
	})
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "the application") })
	handler := live.Handler(app)
	get := func() {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest("GET", "/old-page", nil))
		if loc := rec.Header().Get("Location"); loc != "" {
			fmt.Println(rec.Code, loc)
		} else {
			fmt.Print(rec.Code, " ", rec.Body)
		}
	}

	err = live.Reload() // Watch would do this when the build lands
	fmt.Println(errors.Is(err, runtime.ErrNoBuild), live.Set() == nil)
	get()

	writeExampleBuild(dir) // `redirc build -o dir`
	if err := live.Reload(); err != nil {
		log.Fatal(err)
	}
	get()
	// Output:
	// true true
	// 200 the application
	// 301 /new-page
}

// Metrics in a program's own Prometheus registry, next to its other
// metrics and the Go runtime's, served by promhttp on one endpoint.
// Collectors of other parts (AddCollector) are gathered with it.
func ExampleMetrics_registry() {
	dir := exampleBuild()
	defer os.RemoveAll(dir)
	metrics := runtime.NewMetrics()
	live, err := runtime.OpenLive(dir, runtime.LiveOptions{Metrics: metrics, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics, collectors.NewGoCollector())
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", live.Handler(nil))

	for _, path := range []string{"/old-page", "/about"} {
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		if strings.HasPrefix(line, "redirc_hits_total") || strings.HasPrefix(line, "redirc_request_duration_seconds_count") {
			fmt.Print(line)
		}
	}
	// Output:
	// redirc_hits_total 1
	// redirc_request_duration_seconds_count{outcome="error"} 0
	// redirc_request_duration_seconds_count{outcome="fallback"} 0
	// redirc_request_duration_seconds_count{outcome="hit"} 1
	// redirc_request_duration_seconds_count{outcome="miss"} 1
}
