package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/redirc/redirc/internal/shorten"
)

func shortenCommand() *cli.Command {
	return &cli.Command{
		Name:      "shorten",
		Usage:     "give long URLs short codes and write a manifest for them",
		ArgsUsage: "--state STATE -o MANIFEST INPUT.csv...",
		Description: `Reads every INPUT.csv (a header row with a url column and optionally alias,
expires, status and tags), gives each long URL a short code, and writes
STATE and MANIFEST. MANIFEST is a CSV that 'redirc build' compiles: one
case-sensitive rule /CODE -> URL per code.

STATE (CSV, sorted by code, meant to be committed and reviewed) is the
source of truth. A code is never given to another URL; a URL that has a code
keeps it; a link removed from the inputs stays in STATE as gone and its
rule answers 410 Gone, so its code is never reused. Running twice on the
same inputs changes nothing, byte for byte. Both files are written
atomically (temporary file, fsync, rename), STATE first; if any row is
refused nothing is written and every refusal is listed as file:line.

Codes:
  --codes hash     (default) digits of a keyed xxhash64 of the URL, at least
                   --length characters, one longer only when the shorter
                   one is taken or blocked. The same URL gets the same code
                   on every branch, whatever the order of the rows.
  --codes counter  a counter kept in STATE, written in the alphabet. With
                   --writer NAME --reserve N, each writer draws from its own
                   blocks of N values recorded in STATE, so writers on
                   parallel branches never draw the same code.
The default alphabet is base62 without 0 O 1 l I. Generated codes never
contain a word of --blocklist (one word per line, case-insensitive).

Aliases (the alias column) are codes chosen by people: letters, digits,
'-', '_', '.', '/', at most 64 characters, starting and ending with a letter
or digit; not under /.redirc/ or /.well-known/, not robots.txt or
favicon.ico, not a code already taken, and no segment equal to a blocked
word. An active alias may be pointed at a new URL; a retired one may not.

Status: 302 unless --status or the row's status says otherwise; 302 keeps
browsers from caching the answer, so clicks are counted and later edits
work. expires (RFC 3339) makes the link answer 410 after that time.

Exit codes: 0 written (or unchanged), 1 rows refused, 2 usage errors.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "state", Usage: "state `FILE` (CSV; created if missing)", Required: true},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "manifest `FILE` to write", Required: true},
			&cli.StringFlag{Name: "codes", Value: "hash", Usage: "how codes are made: hash or counter"},
			&cli.StringFlag{Name: "alphabet", Value: shorten.DefaultAlphabet, Usage: "characters of generated codes"},
			&cli.IntFlag{Name: "length", Value: shorten.DefaultLength, Usage: "minimum length of generated codes"},
			&cli.IntFlag{Name: "status", Value: 302, Usage: "status of links whose row gives none: 301, 302, 303, 307 or 308"},
			&cli.StringFlag{Name: "host", Usage: "scope every rule to `HOST` (sources become HOST/CODE)"},
			&cli.StringFlag{Name: "writer", Usage: "with --codes counter: draw from this writer's reserved blocks"},
			&cli.Uint64Flag{Name: "reserve", Usage: "with --codes counter --writer: size `N` of the blocks to reserve (default 1000)"},
			&cli.StringFlag{Name: "blocklist", Usage: "`FILE` of words (one per line, # comments) generated codes never contain"},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "report what would change, write nothing"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "list every change (default: the first 20 of each kind)"},
		},
		OnUsageError: cmdUsageError,
		Action:       runShorten,
	}
}

func runShorten(c *cli.Context) error {
	files := c.Args().Slice()
	if len(files) == 0 {
		return usageErr("shorten: no input given (usage: redirc shorten --state STATE -o MANIFEST INPUT.csv...)")
	}
	alpha, err := shorten.NewAlphabet(c.String("alphabet"))
	if err != nil {
		return usageErr("--alphabet: %v", err)
	}
	opt := shorten.Options{
		Codes:    shorten.Codes(c.String("codes")),
		Alphabet: alpha,
		Length:   c.Int("length"),
		Status:   c.Int("status"),
		Host:     strings.TrimSuffix(c.String("host"), "/"),
		Writer:   c.String("writer"),
		Reserve:  c.Uint64("reserve"),
	}
	if opt.Codes != shorten.CodesHash && opt.Codes != shorten.CodesCounter {
		return usageErr("--codes %q: want hash or counter", opt.Codes)
	}
	if (opt.Writer != "" || opt.Reserve > 0) && opt.Codes != shorten.CodesCounter {
		return usageErr("--writer and --reserve need --codes counter")
	}
	if opt.Reserve > 0 && opt.Writer == "" {
		return usageErr("--reserve needs --writer NAME")
	}
	if opt.Length < 1 || opt.Length > shorten.MaxCodeLength {
		return usageErr("--length %d: want 1 to %d", opt.Length, shorten.MaxCodeLength)
	}
	switch opt.Status {
	case 301, 302, 303, 307, 308:
	default:
		return usageErr("--status %d: want 301, 302, 303, 307 or 308", opt.Status)
	}
	if p := c.String("blocklist"); p != "" {
		words, err := readLines(p)
		if err != nil {
			return usageErr("--blocklist: %v", err)
		}
		opt.Blocklist = shorten.NewBlocklist(words)
	}
	statePath, out := c.String("state"), c.String("output")

	st, err := shorten.ReadState(statePath)
	if err != nil {
		return failErr("%v", err)
	}
	var rows []shorten.Row
	var probs []shorten.Problem
	for _, f := range files {
		r, p, err := shorten.ReadInputFile(f)
		if err != nil {
			return failErr("%v", err)
		}
		rows, probs = append(rows, r...), append(probs, p...)
	}
	if len(probs) > 0 {
		return refused(c, probs, statePath, out)
	}
	res, err := shorten.Apply(st, rows, opt)
	var pe shorten.ProblemsError
	if errors.As(err, &pe) {
		return refused(c, pe, statePath, out)
	}
	if err != nil {
		return failErr("shorten: %v; nothing written", err)
	}
	errw := c.App.ErrWriter
	limit := 20
	if c.Bool("verbose") {
		limit = -1
	}
	list(errw, "added  ", res.Added, limit, "")
	list(errw, "changed", res.Changed, limit, "")
	list(errw, "revived", res.Revived, limit, "")
	list(errw, "gone   ", res.Retired, limit, " (now answers 410)")
	verb := "wrote"
	if c.Bool("dry-run") {
		verb = "would write"
	} else {
		// State first: it is the source of truth, and the manifest can
		// always be made again from it.
		ch1, err := shorten.WriteFileAtomic(statePath, st.Marshal())
		if err != nil {
			return failErr("%v", err)
		}
		ch2, err := shorten.WriteFileAtomic(out, shorten.Manifest(st, opt.Host))
		if err != nil {
			return failErr("%v (the state %s is already written; run again to write the manifest)", err, statePath)
		}
		if !ch1 && !ch2 {
			verb = "unchanged:"
		}
	}
	fmt.Fprintf(errw, "%s %s and %s: %d active, %d gone; %d added, %d changed, %d revived, %d retired\n",
		verb, statePath, out, res.Active, res.Gone, len(res.Added), len(res.Changed), len(res.Revived), len(res.Retired))
	return nil
}

// list prints changed links, at most limit of them (-1: all).
func list(w io.Writer, what string, links []shorten.Link, limit int, note string) {
	for i, l := range links {
		if i == limit {
			fmt.Fprintf(w, "%s ... and %d more (--verbose lists all)\n", what, len(links)-limit)
			return
		}
		fmt.Fprintf(w, "%s /%s -> %s%s\n", what, l.Code, l.URL, note)
	}
}

func refused(c *cli.Context, probs []shorten.Problem, state, out string) error {
	for _, p := range probs {
		fmt.Fprintln(c.App.ErrWriter, p)
	}
	return failErr("shorten: %s refused; %s and %s left unchanged", nounCount(len(probs), "row"), state, out)
}

// readLines returns the lines of the named file.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}
