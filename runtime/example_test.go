package runtime_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/runtime"
)

// exampleBuild writes a small build the way `redirc build` would.
func exampleBuild() string {
	dir, err := os.MkdirTemp("", "redirc-example-")
	if err != nil {
		log.Fatal(err)
	}
	b, _, err := compiler.Compile([]compiler.Rule{
		{Source: "/old-page", Destination: "/new-page", Status: 301},
		{Source: "/docs/v1/*", Destination: "/docs/v2/:splat", Status: 308},
	}, compiler.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := b.WriteDir(dir); err != nil {
		log.Fatal(err)
	}
	return dir
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
	// 301 /new-page 2 rules
}
