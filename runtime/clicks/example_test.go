package clicks_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/redirc/redirc/runtime"
	"github.com/redirc/redirc/runtime/clicks"
)

// Record clicks into a directory of rotated, compressed JSON-lines files,
// then read them back.
func Example() {
	dir, _ := os.MkdirTemp("", "clicks")
	defer os.RemoveAll(dir)
	sink, err := clicks.NewDirSink(filepath.Join(dir, "clicks"), clicks.DirOptions{})
	if err != nil {
		panic(err)
	}
	rec := clicks.New(sink, clicks.Options{})
	// A server calls rec.Record for each redirect it answers; it never blocks.
	rec.Record(runtime.Event{
		Time: time.Date(2026, 11, 29, 10, 6, 23, 0, time.UTC), Host: "sho.rt", Path: "/aB3xYz", Status: 302,
		Referer: "https://news.example/item?id=1", UserAgent: "Slackbot-LinkExpanding 1.0", RemoteAddr: "192.0.2.1:5555",
	})
	rec.Close()
	clicks.Read([]string{filepath.Join(dir, "clicks")}, func(c *clicks.RawClick) error {
		fmt.Printf("%s %d %s %s\n", c.Path, c.Status, c.Referrer, c.Agent)
		return nil
	})
	// Output: /aB3xYz 302 news.example preview
}
