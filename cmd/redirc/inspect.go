package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/redirc/redirc/internal/inspect"
	"github.com/redirc/redirc/shardfmt"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "describe a build directory, or write its rules back as CSV",
		ArgsUsage: "DIR",
		Description: `Loads and verifies the build in DIR and prints what its index says (build
id, format, rules, shards, flags, sizes) and how the rules spread over the
shards (rules and bytes per shard, Bloom filter bits per rule, rule kinds
and statuses). --per-shard adds one line per shard; --json prints it all as
one JSON object.

--rules writes every rule as CSV on stdout instead (source, destination,
statusCode, caseSensitive, query, expires; destinations as the build
answers them, after chain flattening). "redirc build" of that CSV with the
same --shards, --bloom-fp and --strict-trailing-slash gives the same build,
with the same build id; except where a host-scoped rule's chain ran through
a rule for any host to a path its own host also redirects: rebuilt, that
rule is flattened one hop further.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the summary as one JSON object"},
			&cli.BoolFlag{Name: "per-shard", Usage: "add a line per shard to the text summary"},
			&cli.BoolFlag{Name: "rules", Usage: "write every rule as CSV instead of the summary"},
		},
		OnUsageError: cmdUsageError,
		Action:       runInspect,
	}
}

func runInspect(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErr("inspect: want one build directory (usage: redirc inspect [--json|--rules] DIR)")
	}
	if c.Bool("rules") && c.Bool("json") {
		return usageErr("inspect: --rules and --json exclude each other")
	}
	dir := c.Args().First()
	b, err := shardfmt.LoadBuild(dir)
	if err != nil {
		return failErr("inspect: %v", err)
	}
	if c.Bool("rules") {
		if err := inspect.WriteCSV(c.App.Writer, b); err != nil {
			return failErr("%v", err) // inspect's errors name the package
		}
		return nil
	}
	s, err := inspect.Summarize(b)
	if err != nil {
		return failErr("inspect: %v", err)
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Command string `json:"command"`
			OK      bool   `json:"ok"` // false only in a failure document
			Dir     string `json:"dir"`
			*inspect.Summary
		}{"inspect", true, dir, s}); err != nil {
			return failErr("inspect: %v", err)
		}
		return nil
	}
	w := bufio.NewWriter(c.App.Writer)
	writeSummary(w, dir, s, c.Bool("per-shard"))
	if err := w.Flush(); err != nil {
		return failErr("inspect: %v", err)
	}
	return nil
}

// writeSummary prints a build summary for people.
func writeSummary(w io.Writer, dir string, s *inspect.Summary, perShard bool) {
	fmt.Fprintf(w, "build       %s (%s)\n", s.BuildID, dir)
	fmt.Fprintf(w, "format      index %d, shard %d.x\n", s.IndexFormat, shardfmt.MajorVersion)
	fmt.Fprintf(w, "rules       %s in %s, %s (%.1f B/rule)\n", nounCount(s.Rules, "rule"), nounCount(s.Shards, "shard"), humanBytes(s.Bytes), s.BytesPerRule)
	if s.PatternRules > 0 {
		fmt.Fprintf(w, "patterns    %s (placeholders, regular expressions) in the pattern file\n", nounCount(s.PatternRules, "rule"))
	}
	var flags []string
	for _, f := range []struct {
		on   bool
		name string
	}{{s.StrictTrailingSlash, "strictTrailingSlash"}, {s.HostRules, "hostRules"}, {s.CaseSensitiveRules, "caseSensitiveRules"}, {s.PrefixRules, "prefixRules"}} {
		if f.on {
			flags = append(flags, f.name)
		}
	}
	if s.PrefixRules {
		flags = append(flags, fmt.Sprintf("maxPrefixSegments=%d", s.MaxPrefixSegments))
	}
	if len(flags) == 0 {
		flags = []string{"none"}
	}
	fmt.Fprintf(w, "flags       %s\n", strings.Join(flags, " "))
	fmt.Fprintf(w, "hash seed   %d\n", s.HashSeed)
	k := s.Kinds
	fmt.Fprintf(w, "kinds       %d exact, %d exact case-sensitive, %d prefix, %d prefix case-sensitive\n", k.Exact, k.ExactCase, k.Prefix, k.PrefixCase)
	fmt.Fprintf(w, "            %d host-scoped, %d keep the query, %d splat, %d expiring, %d to other sites\n", k.HostScoped, k.Query, k.Splat, k.Expiring, k.ExternalDests)
	statuses := make([]int, 0, len(s.Statuses))
	for st := range s.Statuses {
		statuses = append(statuses, st)
	}
	slices.Sort(statuses)
	var sts []string
	for _, st := range statuses {
		sts = append(sts, fmt.Sprintf("%d: %d", st, s.Statuses[st]))
	}
	if len(sts) == 0 {
		sts = []string{"none"}
	}
	fmt.Fprintf(w, "statuses    %s\n", strings.Join(sts, ", "))
	r, b := s.RulesPerShard, s.BytesPerShard
	fmt.Fprintf(w, "per shard   rules min %d, mean %.1f, max %d; bytes min %d, mean %.0f, max %d\n", r.Min, r.Mean, r.Max, b.Min, b.Mean, b.Max)
	fmt.Fprintf(w, "bloom       %.1f bits/rule\n", s.BloomBitsPerRule)
	if !perShard {
		return
	}
	fmt.Fprintf(w, "\n%6s  %-28s %9s %11s %6s %3s\n", "shard", "file", "rules", "bytes", "bits/r", "k")
	for _, sh := range s.PerShard {
		bpr := 0.0
		if sh.Rules > 0 {
			bpr = float64(sh.BloomBits) / float64(sh.Rules)
		}
		fmt.Fprintf(w, "%6d  %-28s %9d %11d %6.1f %3d\n", sh.Index, sh.File, sh.Rules, sh.Bytes, bpr, sh.BloomK)
	}
}

// nounCount formats n with the noun, in the plural unless n is 1.
func nounCount(n int, noun string) string { return nounCount64(int64(n), noun) }

// nounCount64 is nounCount for an int64.
func nounCount64(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
