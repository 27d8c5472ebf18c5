package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/redirc/redirc/compiler"
)

// This file holds what build, check and diff share about their output:
// --output-format (text, json, github) and --json, the JSON document, the
// order of problems, plurals, and reading a manifest from standard input.

// outputFlags are the output flags of build, check and diff. legacy is the
// command's older name for --output-format (build: --problems; check and
// diff: --output), kept hidden so that scripts keep working.
func outputFlags(legacy string) []cli.Flag {
	fl := []cli.Flag{
		&cli.StringFlag{Name: "output-format", Value: "text", Usage: "how to print the result: text, json (one document on stdout, on success and failure alike) or github (workflow annotations)"},
		&cli.BoolFlag{Name: "json", Usage: "same as --output-format json"},
	}
	if legacy != "" {
		fl = append(fl, &cli.StringFlag{Name: legacy, Hidden: true, Usage: "older name of --output-format"})
	}
	return fl
}

// outputFormat returns the output format asked for with --output-format,
// --json or the command's older flag name legacy.
func outputFormat(c *cli.Context, legacy string) (string, error) {
	f, from := c.String("output-format"), ""
	if c.IsSet("output-format") {
		from = "--output-format"
	}
	if legacy != "" && c.IsSet(legacy) {
		if from != "" && c.String(legacy) != f {
			return "", usageErr("%s: --%s %s and %s %s disagree; give --output-format alone", c.Command.Name, legacy, c.String(legacy), from, f)
		}
		f, from = c.String(legacy), "--"+legacy
	}
	if c.Bool("json") {
		if from != "" && f != "json" {
			return "", usageErr("%s: --json and %s %s exclude each other", c.Command.Name, from, f)
		}
		f = "json"
	}
	switch f {
	case "text", "json", "github":
		return f, nil
	}
	return "", usageErr("%s: unknown output format %q: want text, json or github", c.Command.Name, f)
}

// problemJSON is one problem in a JSON document.
type problemJSON struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

func problemsJSON(probs []compiler.Problem) []problemJSON {
	out := make([]problemJSON, len(probs))
	for i, p := range probs {
		out[i] = problemJSON{p.Pos.File, p.Pos.Line, p.Severity.String(), p.Message(flagName)}
	}
	return out
}

// writeJSON writes v as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// sortProblems orders problems by file, as the files were given on the
// command line, then by line.
func sortProblems(probs []compiler.Problem, files []string) {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = displayName(f)
	}
	compiler.SortProblems(probs, names)
}

func countProblems(ps []compiler.Problem) string {
	return nounCount(countSeverity(ps, compiler.Error), "error") + ", " + nounCount(countSeverity(ps, compiler.Warning), "warning")
}

// stdinName is how a manifest read from standard input ("-") is named in
// problems.
const stdinName = "<stdin>"

// displayName is the name problems give a manifest argument.
func displayName(arg string) string {
	if arg == "-" {
		return stdinName
	}
	return arg
}

// errStdinFormat is returned when the format of standard input can be
// neither taken from --format nor told from its first bytes.
var errStdinFormat = errors.New("cannot tell the format of standard input from its first bytes")

// readManifest reads one manifest argument: a file, or standard input for
// "-", whose format is --format or else sniffed from its start.
func readManifest(arg string, stdin io.Reader, ro compiler.ReadOptions) ([]compiler.Rule, []compiler.Problem, error) {
	if arg != "-" {
		return compiler.ReadFile(arg, ro)
	}
	if stdin == nil {
		stdin = os.Stdin
	}
	br := bufio.NewReaderSize(stdin, 64<<10)
	if ro.Format == compiler.FormatAuto {
		head, _ := br.Peek(64 << 10)
		f, ok := compiler.SniffFormat(head)
		if !ok {
			return nil, nil, errStdinFormat
		}
		ro.Format = f
	}
	return compiler.Read(stdinName, br, ro)
}

// checkManifestArgs refuses "-" given twice: standard input can be read once.
func checkManifestArgs(cmd string, files []string) error {
	n := 0
	for _, f := range files {
		if f == "-" {
			n++
		}
	}
	if n > 1 {
		return usageErr("%s: \"-\" (standard input) given %d times; it can be read once", cmd, n)
	}
	return nil
}

// isBuildDir reports whether dir holds a build (an index.json).
func isBuildDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "index.json"))
	return err == nil
}
