package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/redirc/redirc/internal/clickstats"
	"github.com/redirc/redirc/runtime/clicks"
)

func statsCommand() *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "summarize click records per link",
		ArgsUsage: "[--json|--csv] [--since T] [--top N] CLICKS...",
		Description: `Reads click records written by 'redirc serve --clicks DIR' (or fetched from
another sink as JSON lines): each CLICKS is a file (plain, or zstd when it
ends in .zst) or a directory of them. Records are streamed, so the files may
be larger than memory; lines that are not records (a line torn by a crash)
are counted and skipped.

Per link (request path), sorted by clicks:
  clicks    redirects answered
  unique    distinct human visitors, estimated with HyperLogLog (~1%);
            visitor hashes change daily, so a person counts once per day
  humans    clicks by browsers
  bots      every other click: crawlers, HTTP libraries, link previews
            (Slackbot, Twitterbot, WhatsApp ...) and security scanners;
            previews and scanners are also shown on their own
--json adds per-hour and per-day series and the top referring hosts.

--since takes an RFC 3339 time, a date (2026-11-29, UTC) or a duration back
from now (36h, 7d).`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array of objects (code, clicks, unique, humans, bots, previews, scanners, first, last, hours, days, referrers)"},
			&cli.BoolFlag{Name: "csv", Usage: "print CSV (the columns of the table)"},
			&cli.StringFlag{Name: "since", Usage: "count only clicks at or after `T`"},
			&cli.IntFlag{Name: "top", Usage: "show only the `N` links with the most clicks (0: all)"},
			&cli.BoolFlag{Name: "by-host", Usage: "count HOST/PATH as the link (for servers answering several domains); default: the path alone"},
		},
		OnUsageError: cmdUsageError,
		Action:       runStats,
	}
}

func runStats(c *cli.Context) error {
	paths := c.Args().Slice()
	if len(paths) == 0 {
		return usageErr("stats: no click files given (usage: redirc stats [--json|--csv] [--since T] [--top N] CLICKS...)")
	}
	if c.Bool("json") && c.Bool("csv") {
		return usageErr("stats: --json and --csv exclude each other")
	}
	if c.Int("top") < 0 {
		return usageErr("--top %d: want 0 or more", c.Int("top"))
	}
	var since time.Time
	if s := c.String("since"); s != "" {
		t, err := parseSince(s, time.Now())
		if err != nil {
			return usageErr("--since: %v", err)
		}
		since = t
	}
	agg := clickstats.New(since, c.Bool("by-host"))
	rs, err := clicks.Read(paths, func(rc *clicks.RawClick) error { agg.Add(rc); return nil })
	if err != nil {
		return failErr("stats: %v", err)
	}
	if rs.Bad > 0 {
		fmt.Fprintf(c.App.ErrWriter, "redirc: stats: skipped %s that are not click records\n", nounCount64(rs.Bad, "line"))
	}
	links := agg.Links(c.Int("top"))
	w := c.App.Writer
	switch {
	case c.Bool("json"):
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if links == nil {
			links = []clickstats.Link{}
		}
		return enc.Encode(links)
	case c.Bool("csv"):
		cw := csv.NewWriter(w)
		cw.Write([]string{"code", "clicks", "unique", "humans", "bots", "previews", "scanners", "first", "last"})
		for _, l := range links {
			cw.Write([]string{l.Code, u(l.Clicks), u(l.Unique), u(l.Humans), u(l.Bots), u(l.Previews), u(l.Scanners),
				l.First.Format(time.RFC3339), l.Last.Format(time.RFC3339)})
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "code\tclicks\tunique\thumans\tbots\tpreviews\tscanners\tlast\t")
	for _, l := range links {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", l.Code, l.Clicks, l.Unique, l.Humans, l.Bots, l.Previews, l.Scanners, l.Last.Format("2006-01-02 15:04"))
	}
	tw.Flush()
	fmt.Fprintf(c.App.ErrWriter, "%s in %s, %s\n", nounCount64(rs.Lines-int64(agg.Skipped), "record"), nounCount(rs.Files, "file"), nounCount(agg.Len(), "link"))
	return nil
}

func u(n uint64) string { return strconv.FormatUint(n, 10) }

// parseSince reads an RFC 3339 time, a date, or a duration before now
// (Go durations, plus a "d" suffix for days).
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time, a date (2026-11-29) or a duration (36h, 7d)", s)
}
