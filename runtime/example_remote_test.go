package runtime_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/redirc/redirc/runtime"
)

// Serve a build published on a static host: here an httptest server
// standing in for a CDN or a bucket (https://cdn.example.com/redirects/).
// Only the index is fetched at open; shards are fetched when a lookup
// needs them, verified, and kept within CacheBytes.
func ExampleOpenRemote() {
	dir := exampleBuild()
	defer os.RemoveAll(dir)
	origin := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer origin.Close()

	live, err := runtime.OpenRemote(context.Background(), origin.URL, runtime.LiveOptions{
		Poll: 10 * time.Second, // for Watch, which follows new builds
		Remote: runtime.RemoteOptions{
			CacheBytes:   64 << 20,
			FetchTimeout: time.Second,
			OnFetchError: runtime.OnFetchErrorUnavailable,
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// go live.Watch(ctx) follows new builds; live is a Source:
	// runtime.NewHandler(live, next, opts) serves it.
	res := live.Lookup("", "/docs/v1/install", "")
	fmt.Println(res.Status, res.Location)
	// Output: 308 /docs/v2/install
}
