package main

import (
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
problem with file:line, in the order the files were given, then by line.
Exits 1 if any problem is an error. A FILE of "-" is read from standard
input (its format from --format, or told from its first bytes).

--output-format github prints GitHub Actions annotations
(::error file=...,line=...::); --json prints one JSON document on stdout
(command, ok, files, rules, errors, warnings, problems), also on failure.`,
		Flags:        append(inputFlags(), outputFlags("output")...),
		OnUsageError: cmdUsageError,
		Action:       runCheck,
	}
}

// checkDoc is the JSON document of redirc check.
type checkDoc struct {
	Command  string        `json:"command"`
	OK       bool          `json:"ok"`
	Files    []string      `json:"files"`
	Rules    int           `json:"rules"`
	Errors   int           `json:"errors"`
	Warnings int           `json:"warnings"`
	Problems []problemJSON `json:"problems"`
	Error    string        `json:"error,omitempty"`
}

func runCheck(c *cli.Context) error {
	files, ro, opt, err := inputs(c, "FILE...")
	if err != nil {
		return err
	}
	pf, err := outputFormat(c, "output")
	if err != nil {
		return err
	}
	rules, probs, err := readAll(files, c.App.Reader, ro)
	if err != nil {
		return readFailure(err)
	}
	if c.Bool("verbose") {
		// The chains are known once the rules are compiled.
		b, cprobs, _ := compiler.Compile(rules, opt)
		probs = placeProblems(probs, cprobs, files)
		if b != nil {
			for _, ch := range b.Chains {
				fmt.Fprintf(c.App.ErrWriter, "chain flattened: %s\n", ch)
			}
		}
	} else {
		probs = placeProblems(probs, compiler.Check(rules, opt), files)
	}
	sortProblems(probs, files)
	var fail error
	if compiler.HasErrors(probs) {
		fail = cli.Exit("", 1)
	}
	switch pf {
	case "json":
		doc := checkDoc{Command: "check", OK: fail == nil, Files: files, Rules: len(rules),
			Errors: countSeverity(probs, compiler.Error), Warnings: countSeverity(probs, compiler.Warning),
			Problems: problemsJSON(probs)}
		if fail != nil {
			doc.Error = "check failed: " + countProblems(probs)
		}
		writeJSON(c.App.Writer, doc)
	case "text":
		printProblems(c.App.Writer, c.App.ErrWriter, pf, probs)
		fmt.Fprintf(c.App.ErrWriter, "checked %s in %s: %s\n", nounCount(len(rules), "rule"), nounCount(len(files), "file"), countProblems(probs))
	default:
		printProblems(c.App.Writer, c.App.ErrWriter, pf, probs)
	}
	return fail
}

// printProblems writes problems: text to stderr, github annotations to
// stdout (JSON output puts them in the command's document instead).
// Hints name the flags that set the options they refer to.
func printProblems(stdout, stderr io.Writer, format string, probs []compiler.Problem) {
	switch format {
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
