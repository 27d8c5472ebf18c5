// Command gnetserve is a measuring prototype, not a product: redirc's
// runtime (runtime.Live, Set.Lookup) behind github.com/panjf2000/gnet/v2,
// an event loop with a minimal hand-written request reader (request line
// and Host only: no bodies, no validation, so never to face a network).
// bench/http.sh runs it beside `redirc serve` and nginx to measure what an
// event-loop engine would gain over fasthttp's goroutine per connection.
//
//	gnetserve -addr 127.0.0.1:18084 BUILD-DIR
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"

	"github.com/panjf2000/gnet/v2"

	"github.com/redirc/redirc/runtime"
)

type server struct {
	gnet.BuiltinEventEngine
	live *runtime.Live
	out  []byte
}

var crlf2 = []byte("\r\n\r\n")

func (s *server) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Peek(-1)
	out := s.out[:0]
	used := 0
	for {
		i := bytes.Index(buf[used:], crlf2)
		if i < 0 {
			break
		}
		head := buf[used : used+i]
		used += i + 4
		line, rest, _ := bytes.Cut(head, []byte("\r\n"))
		f := bytes.Fields(line)
		if len(f) != 3 {
			out = append(out, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"...)
			c.Write(out)
			return gnet.Close
		}
		var host []byte
		for len(rest) > 0 {
			var h []byte
			h, rest, _ = bytes.Cut(rest, []byte("\r\n"))
			if len(h) > 5 && (h[0]|0x20) == 'h' && bytes.EqualFold(h[:5], []byte("host:")) {
				host = bytes.TrimSpace(h[5:])
			}
		}
		target := f[1]
		path, query, _ := bytes.Cut(target, []byte("?"))
		var res runtime.Result
		if set := s.live.Set(); set != nil {
			res = set.Lookup(string(host), string(path), string(query))
		}
		head_ := bytes.Equal(f[0], []byte("HEAD"))
		out = appendAnswer(out, res, head_)
	}
	c.Discard(used)
	if len(out) > 0 {
		c.Write(out)
	}
	s.out = out
	return gnet.None
}

func appendAnswer(out []byte, res runtime.Result, head bool) []byte {
	if res.Status == 0 {
		body := "404 page not found\n"
		out = append(out, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: 19\r\n\r\n"...)
		if !head {
			out = append(out, body...)
		}
		return out
	}
	var body []byte
	if res.Location == "" {
		body = fmt.Appendf(nil, "<p>%s.</p>\n", http.StatusText(res.Status))
	} else {
		body = []byte(`<a href="` + res.Location + `">` + http.StatusText(res.Status) + "</a>.\n")
	}
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(res.Status), 10)
	out = append(out, ' ')
	out = append(out, http.StatusText(res.Status)...)
	out = append(out, "\r\n"...)
	if res.Location != "" {
		out = append(out, "Location: "...)
		out = append(out, res.Location...)
		out = append(out, "\r\n"...)
	}
	if cc := runtime.DefaultCacheControl(res.Status); cc != "" {
		out = append(out, "Cache-Control: "...)
		out = append(out, cc...)
		out = append(out, "\r\n"...)
	}
	out = append(out, "Content-Type: text/html; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	out = append(out, "\r\n\r\n"...)
	if !head {
		out = append(out, body...)
	}
	return out
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18084", "address to listen on")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gnetserve [-addr HOST:PORT] BUILD-DIR")
		os.Exit(2)
	}
	live, err := runtime.OpenLive(flag.Arg(0), runtime.LiveOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gnetserve:", err)
		os.Exit(1)
	}
	go live.Watch(context.Background())
	fmt.Fprintln(os.Stderr, "gnetserve: listening on", *addr)
	if err := gnet.Run(&server{live: live}, "tcp://"+*addr, gnet.WithMulticore(false), gnet.WithReusePort(false)); err != nil {
		fmt.Fprintln(os.Stderr, "gnetserve:", err)
		os.Exit(1)
	}
}
