// Command nbioserve is a measuring prototype, not a product: redirc's
// runtime.Handler (the net/http handler `redirc serve` answers with)
// behind github.com/lesismal/nbio's nbhttp, an event-loop engine that
// takes net/http handlers. bench/http.sh runs it beside `redirc serve`
// and nginx.
//
//	nbioserve -addr 127.0.0.1:18085 BUILD-DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/lesismal/nbio/nbhttp"

	"github.com/redirc/redirc/runtime"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18085", "address to listen on")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: nbioserve [-addr HOST:PORT] BUILD-DIR")
		os.Exit(2)
	}
	live, err := runtime.OpenLive(flag.Arg(0), runtime.LiveOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "nbioserve:", err)
		os.Exit(1)
	}
	go live.Watch(context.Background())
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network: "tcp",
		Addrs:   []string{*addr},
		Handler: runtime.NewHandler(live, nil, runtime.HandlerOptions{}),
		NPoller: 1,
	})
	if err := engine.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "nbioserve:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "nbioserve: listening on", *addr)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	<-sig
	engine.Stop()
}
