package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/redirc/redirc/runtime"
)

func lookupCommand() *cli.Command {
	return &cli.Command{
		Name:      "lookup",
		Usage:     "answer requests from a build, one line each",
		ArgsUsage: "DIR|BUILD-URL URL-or-PATH...",
		Description: `Prints one line per argument: "STATUS LOCATION", with "-" where there is
no Location ("404 -" on a miss, "410 -" for Gone). An argument is a path
("/old?x=1") or a full URL ("https://example.com/old"), whose host is used
for host-scoped rules; give it as a browser sends it (percent-encoded).
The build may be an http(s) URL of a published build directory: only the
index and the shards the lookups need are fetched.`,
		OnUsageError: cmdUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() < 2 {
				return usageErr("lookup: want a build directory and at least one URL or path")
			}
			var set *runtime.Set
			if loc := c.Args().First(); runtime.IsRemote(loc) {
				l, err := runtime.OpenRemote(c.Context, loc, runtime.LiveOptions{Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					return failErr("%v", err)
				}
				set = l.Set()
			} else {
				var err error
				if set, err = runtime.Open(loc); err != nil {
					return failErr("%v", err)
				}
			}
			for _, arg := range c.Args().Slice()[1:] {
				host, path, query := splitTarget(arg)
				res := set.Lookup(host, path, query)
				status, loc := res.Status, res.Location
				if status == 0 {
					status = 404
				}
				if loc == "" {
					loc = "-"
				}
				fmt.Fprintf(c.App.Writer, "%d %s\n", status, loc)
			}
			return nil
		},
	}
}

// splitTarget splits a URL or path, as sent by a browser, into host, raw
// path and raw query; the fragment is dropped (browsers never send it).
func splitTarget(s string) (host, path, query string) {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "://"); i >= 0 && !strings.HasPrefix(s, "/") {
		rest := s[i+3:]
		j := strings.IndexAny(rest, "/?")
		if j < 0 {
			return rest, "/", ""
		}
		host, s = rest[:j], rest[j:]
	}
	path, query, _ = strings.Cut(s, "?")
	if path == "" {
		path = "/"
	}
	return host, path, query
}
