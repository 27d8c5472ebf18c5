package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/redirc/redirc/compiler"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "validate manifests without writing anything",
		ArgsUsage: "FILE...",
		Description: `Runs every check "redirc build" runs (syntax, fields, statuses, unsafe
destinations, duplicates, conflicts, loops, chains) and prints every
problem with file:line. Exits 1 if any problem is an error.

--output github prints GitHub Actions annotations (::error file=...,line=...::).`,
		Flags: append(inputFlags(),
			&cli.StringFlag{Name: "output", Value: "text", Usage: "problem format: text, json or github"},
		),
		OnUsageError: cmdUsageError,
		Action: func(c *cli.Context) error {
			files, ro, opt, err := inputs(c, "FILE...")
			if err != nil {
				return err
			}
			pf, err := problemFormat(c.String("output"))
			if err != nil {
				return err
			}
			rules, probs, err := readAll(files, ro)
			if err != nil {
				return readFailure(err)
			}
			probs = placeProblems(probs, compiler.Check(rules, opt), files)
			printProblems(c.App.Writer, c.App.ErrWriter, pf, probs)
			if pf == "text" {
				fmt.Fprintf(c.App.ErrWriter, "checked %d rules in %d file(s): %s\n", len(rules), len(files), countProblems(probs))
			}
			if compiler.HasErrors(probs) {
				return cli.Exit("", 1)
			}
			return nil
		},
	}
}

func problemFormat(s string) (string, error) {
	switch s {
	case "text", "json", "github":
		return s, nil
	}
	return "", usageErr("unknown problem format %q: want text, json or github", s)
}

// printProblems writes problems: text to stderr, json and github to stdout.
// Hints name the flags that set the options they refer to.
func printProblems(stdout, stderr io.Writer, format string, probs []compiler.Problem) {
	switch format {
	case "json":
		type jp struct {
			File     string `json:"file"`
			Line     int    `json:"line"`
			Severity string `json:"severity"`
			Message  string `json:"message"`
		}
		out := make([]jp, len(probs))
		for i, p := range probs {
			out[i] = jp{p.Pos.File, p.Pos.Line, p.Severity.String(), p.Message(flagName)}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	case "github":
		for _, p := range probs {
			fmt.Fprintf(stdout, "::%s file=%s,line=%d::%s\n", p.Severity, ghProp(p.Pos.File), max(p.Pos.Line, 1), ghData(p.Message(flagName)))
		}
	default:
		for _, p := range probs {
			fmt.Fprintf(stderr, "%s: %s: %s\n", p.Pos, p.Severity, p.Message(flagName))
		}
	}
}

// ghData escapes a GitHub workflow command message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProp escapes a GitHub workflow command property value.
func ghProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
