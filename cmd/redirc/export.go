package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/internal/export"
	"github.com/redirc/redirc/internal/inspect"
	"github.com/redirc/redirc/shardfmt"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a build's rules in a platform's own redirect format",
		ArgsUsage: "INPUT…",
		Description: `INPUT is one build directory, or one or more manifests (compiled in memory
with the input flags below). Writes into the directory OUT (-o):

  --to netlify      _redirects (first match wins; written in redirc's order)
  --to vercel       redirects-001.json… bulk redirects (point bulkRedirectsPath
                    at OUT); split into files under 50 MB, at most 100 files
  --to cloudflare   bulk-redirects.csv for a Bulk Redirect List (no header);
                    rules for any host need --host
  --to nginx        redirc-maps.conf (http {}) and redirc-server.conf (server {})
  --to apache       redirc.map (RewriteMap txt:) and redirc.conf (mod_rewrite)
  --to html         PATH/index.html stub pages (meta refresh, canonical link,
                    location.replace, a plain link) for hosts with no redirects

A rule the format cannot express (a host-scoped rule on a one-site platform,
a case-sensitive rule where matching ignores case, an expiry, a prefix rule
where there are no wildcards, a status the platform lacks) is an error that
names the rule and the reason; with --skip-unsupported it is a warning and
the rule is left out. A platform limit the export exceeds is an error that
names the limit; --max-rules N applies a smaller one (your plan's quota).
See the README's Export section for each format's limits.`,
		Flags: append(inputFlags(),
			&cli.StringFlag{Name: "to", Usage: "the format: netlify, vercel, cloudflare, nginx, apache or html", Required: true},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the output `DIR` (created if missing)", Required: true},
			&cli.StringFlag{Name: "host", Usage: "cloudflare: the `HOST` source URLs get for rules that apply to any host"},
			&cli.IntFlag{Name: "max-rules", Usage: "fail when the export has more than `N` entries (instead of the platform's documented limit)"},
		),
		OnUsageError: cmdUsageError,
		Action:       runExport,
	}
}

func runExport(c *cli.Context) error {
	format := export.Format(strings.ToLower(c.String("to")))
	known := false
	for _, f := range export.Formats {
		known = known || f == format
	}
	if !known {
		return usageErr("export: unknown --to %q: want netlify, vercel, cloudflare, nginx, apache or html", c.String("to"))
	}
	if c.NArg() == 0 {
		return usageErr("export: no input given (usage: redirc export --to FORMAT -o OUT INPUT…)")
	}
	if c.Int("max-rules") < 0 {
		return usageErr("export: --max-rules must not be negative")
	}
	b, err := exportInput(c)
	if err != nil {
		return err
	}
	outDir := c.String("output")
	abs, err := filepath.Abs(outDir)
	if err != nil {
		return failErr("export: %v", err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return failErr("export: %v", err)
	}
	opt := export.Options{
		SkipUnsupported: c.Bool("skip-unsupported"),
		Host:            c.String("host"),
		MaxRules:        c.Int("max-rules"),
		Location:        abs,
	}
	res, err := export.Export(format, b, export.Dir(outDir), opt)
	var ue *export.UnsupportedError
	if errors.As(err, &ue) {
		for _, u := range ue.Rules {
			fmt.Fprintf(c.App.ErrWriter, "error: %s\n", u)
		}
		return failErr("export: %d rule(s) cannot be expressed as %s (leave them out with --skip-unsupported); nothing written", len(ue.Rules), format)
	}
	var pe *inspect.PatternsError
	if errors.As(err, &pe) {
		return failErr("export: the build has %s (placeholders or regular expressions), which no export format writes yet (leave them out with --skip-unsupported); nothing written", nounCount(pe.Rules, "pattern rule"))
	}
	if err != nil {
		return failErr("%v", err)
	}
	if res.SkippedPatterns > 0 {
		fmt.Fprintf(c.App.ErrWriter, "warning: skipped %s (placeholders or regular expressions): no export format writes them yet\n", nounCount(res.SkippedPatterns, "pattern rule"))
	}
	for _, u := range res.Skipped {
		fmt.Fprintf(c.App.ErrWriter, "warning: skipped %s\n", u)
	}
	files := strings.Join(res.Files, ", ")
	if len(res.Files) > 5 {
		files = fmt.Sprintf("%s, … (%d files)", strings.Join(res.Files[:5], ", "), len(res.Files))
	}
	fmt.Fprintf(c.App.Writer, "exported %s (%d entries) as %s to %s: %s", nounCount(res.Rules, "rule"), res.Entries, format, outDir, files)
	if len(res.Skipped) > 0 {
		fmt.Fprintf(c.App.Writer, "; skipped %d", len(res.Skipped))
	}
	fmt.Fprintln(c.App.Writer)
	return nil
}

// exportInput loads the build directory given, or reads and compiles the
// manifests given into an in-memory build.
func exportInput(c *cli.Context) (*shardfmt.Build, error) {
	args := c.Args().Slice()
	if fi, err := os.Stat(args[0]); err == nil && fi.IsDir() {
		if len(args) > 1 {
			return nil, usageErr("export: give one build directory, or manifests only")
		}
		b, err := shardfmt.LoadBuild(args[0])
		if err != nil {
			return nil, failErr("export: %v", err)
		}
		return b, nil
	}
	ro, err := readOptions(c)
	if err != nil {
		return nil, err
	}
	opt, err := compileOptions(c)
	if err != nil {
		return nil, err
	}
	opt.Reserved = nil // the export is served by another server
	rules, probs, err := readAll(args, c.App.Reader, ro)
	if err != nil {
		return nil, failErr("export: %v", err)
	}
	// Pattern rules (placeholders, regular expressions) have no exact or
	// prefix key to export yet.
	kept := rules[:0]
	for _, r := range rules {
		if r.Syntax != compiler.SyntaxPath {
			sev := compiler.Error
			if ro.SkipUnsupported {
				sev = compiler.Warning
			}
			probs = append(probs, compiler.Problem{Pos: r.Pos, Severity: sev, Msg: fmt.Sprintf("%s pattern rule %q: export writes exact and prefix rules only", r.Syntax, r.Source)})
			continue
		}
		kept = append(kept, r)
	}
	cb, cprobs, err := compiler.Compile(kept, opt)
	probs = append(probs, cprobs...)
	for _, p := range probs {
		fmt.Fprintf(c.App.ErrWriter, "%s: %s: %s\n", p.Pos, p.Severity, p.Message(flagName))
	}
	if compiler.HasErrors(probs) || errors.Is(err, compiler.ErrInvalid) {
		return nil, failErr("export: the input has errors (%s); nothing written", countProblems(probs))
	}
	if err != nil {
		return nil, failErr("export: %v", err)
	}
	shards := make([]*shardfmt.Shard, len(cb.Shards))
	for i, img := range cb.Shards {
		if shards[i], err = shardfmt.OpenShard(img); err != nil {
			return nil, failErr("export: shard %d: %v", i, err)
		}
	}
	b, err := shardfmt.NewBuild(cb.Index, shards)
	if err != nil {
		return nil, failErr("export: %v", err)
	}
	return b, nil
}
