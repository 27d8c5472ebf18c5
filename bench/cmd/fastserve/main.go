// Command fastserve is a measuring prototype, not a product: redirc's
// runtime (runtime.Live, Set.Lookup) behind github.com/valyala/fasthttp
// instead of net/http, answering hits like runtime.Handler does (status,
// Location, Cache-Control, Content-Type, X-Content-Type-Options, a one-line
// body) and misses with 404. bench/http.sh runs it beside `redirc serve`
// and nginx to tell how much of the gap to nginx is net/http's. It lives in
// the benchmark module so that fasthttp stays out of redirc's dependencies.
//
//	fastserve -addr 127.0.0.1:18083 BUILD-DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/redirc/redirc/runtime"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18083", "address to listen on")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: fastserve [-addr HOST:PORT] BUILD-DIR")
		os.Exit(2)
	}
	live, err := runtime.OpenLive(flag.Arg(0), runtime.LiveOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fastserve:", err)
		os.Exit(1)
	}
	go live.Watch(context.Background())

	var cc [600][]byte
	for _, st := range []int{301, 302, 303, 307, 308, 410} {
		cc[st] = []byte(runtime.DefaultCacheControl(st))
	}
	srv := &fasthttp.Server{
		Name:                          "redirc",
		NoDefaultServerHeader:         true,
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			set := live.Set()
			var res runtime.Result
			if set != nil {
				// PathOriginal is the path as sent, which Lookup wants.
				p := ctx.URI().PathOriginal()
				path := string(p)
				if i := indexByte(p, '?'); i >= 0 {
					path = string(p[:i])
				}
				res = set.Lookup(string(ctx.Host()), path, string(ctx.URI().QueryString()))
			}
			if res.Status == 0 {
				ctx.SetStatusCode(http.StatusNotFound)
				ctx.SetBodyString("404 page not found\n")
				return
			}
			ctx.SetStatusCode(res.Status)
			h := &ctx.Response.Header
			if res.Location != "" {
				h.Set("Location", res.Location)
			}
			if v := cc[res.Status]; v != nil {
				h.SetBytesV("Cache-Control", v)
			}
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("X-Content-Type-Options", "nosniff")
			if !ctx.IsHead() {
				b := ctx.Response.BodyWriter()
				if res.Location == "" {
					fmt.Fprintf(b, "<p>%s.</p>\n", http.StatusText(res.Status))
				} else {
					// Synthetic destinations hold no character that needs
					// HTML escaping; a product would escape as runtime does.
					ctx.Response.AppendBodyString(`<a href="` + res.Location + `">` + http.StatusText(res.Status) + "</a>.\n")
				}
			}
		},
	}
	fmt.Fprintln(os.Stderr, "fastserve: listening on", *addr, "rules", strconv.Itoa(live.Set().Rules()))
	if err := srv.ListenAndServe(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "fastserve:", err)
		os.Exit(1)
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
