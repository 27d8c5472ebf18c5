// Command redirc compiles redirect manifests into a build directory and
// serves redirects from it.
//
// Exit codes: 0 success, 1 validation or lookup errors, 2 usage errors.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// version is set at link time by the Makefile (-X main.version=...); when
// it is not, currentVersion reports the module version from the build info.
var version = "dev"

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run executes the CLI and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return runIO(args, os.Stdin, stdout, stderr)
}

// runIO is run with the standard input given too (a manifest named "-").
//
// When JSON output was asked for (--json or --output-format json) and the
// command failed before writing its own JSON document, it writes one
// describing the failure, so that stdout always holds one document.
func runIO(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	out := &countingWriter{w: stdout}
	app := newApp(out, stderr)
	app.Reader = stdin
	err := app.Run(args)
	if err == nil {
		return 0
	}
	code := 2 // anything not raised by our own commands comes from flag parsing
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	msg := err.Error()
	if msg != "" {
		fmt.Fprintln(stderr, "redirc:", msg)
	}
	if out.n == 0 && wantsJSON(args) {
		writeFailureJSON(stdout, args, code, msg)
	}
	return code
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// wantsJSON reports whether the command line asks for JSON output: --json,
// or json as --output-format or one of its older names. It looks at the
// arguments as written, so that it works when flag parsing itself failed.
func wantsJSON(args []string) bool {
	cmd := ""
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") {
			if cmd == "" {
				cmd = a
			}
			continue
		}
		// The older names of --output-format: build --problems, check and
		// diff --output (elsewhere -o/--output names a file).
		legacy := (name == "problems" && cmd == "build") || (name == "output" && (cmd == "check" || cmd == "diff"))
		switch {
		case name == "json":
			if !hasVal || val == "true" {
				return true
			}
		case name == "output-format" || legacy:
			if !hasVal && i+1 < len(args) {
				val = args[i+1]
			}
			if val == "json" {
				return true
			}
		}
	}
	return false
}

// failureDoc is the JSON document of a command that failed before it
// could write its own.
type failureDoc struct {
	Command  string `json:"command,omitempty"`
	OK       bool   `json:"ok"`
	ExitCode int    `json:"exitCode"`
	Error    string `json:"error"`
	// Problems are the problems found before the failure, if any.
	Problems []problemJSON `json:"problems"`
}

func writeFailureJSON(w io.Writer, args []string, code int, msg string) {
	doc := failureDoc{ExitCode: code, Error: msg, Problems: []problemJSON{}}
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "-") {
			doc.Command = a
			break
		}
	}
	if doc.Error == "" {
		doc.Error = fmt.Sprintf("exit status %d", code)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(doc)
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:    "redirc",
		Usage:   "compile redirect manifests into sharded lookup files and serve them",
		Version: currentVersion().Version,
		// --version prints what `redirc version` prints (urfave/cli's own
		// flag would print only the version string, and claim -v, which
		// build and check use for --verbose).
		HideVersion: true,
		Flags:       []cli.Flag{&cli.BoolFlag{Name: "version", Usage: "print the version (see redirc version)"}},
		Description: `redirc turns redirect manifests (CSV, JSON, JSONL, Netlify _redirects,
tab-separated lists; optionally .gz or .zst) into a build directory of
hash-sharded files, then answers redirects from it in memory.

  redirc build -o out examples/redirects.csv   compile
  redirc check examples/redirects.csv          validate only
  redirc lookup out /old-page                  ask the build
  redirc serve out                             serve it over HTTP
  redirc diff old-out new.csv                  what a change does to the answers
  redirc inspect out                           what a build holds
  redirc export --to netlify -o site out       the build as a platform's redirect file
  redirc version                               version, commit, formats

Exit codes: 0 ok, 1 validation or lookup errors, 2 usage errors.`,
		Writer:                 stdout,
		ErrWriter:              stderr,
		HideHelpCommand:        true,
		UseShortOptionHandling: true,
		ExitErrHandler:         func(*cli.Context, error) {}, // run() reports and exits
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return cli.Exit(fmt.Sprintf("%v (see --help)", err), 2)
		},
		Commands: commands(),
		Action: func(c *cli.Context) error {
			if c.Bool("version") {
				currentVersion().writeText(c.App.Writer)
				return nil
			}
			if c.NArg() > 0 {
				return usageErr("unknown command %q (see redirc --help)", c.Args().First())
			}
			cli.ShowAppHelp(c)
			return usageErr("")
		},
	}
}

// commands lists the subcommands; each lives in its own file.
func commands() []*cli.Command {
	return []*cli.Command{buildCommand(), checkCommand(), lookupCommand(), serveCommand(),
		diffCommand(), inspectCommand(), exportCommand(), versionCommand(), shortenCommand(), statsCommand()}
}

// usageErr reports a usage mistake (exit code 2).
func usageErr(format string, args ...any) error {
	return cli.Exit(fmt.Sprintf(format, args...), 2)
}

// failErr reports a failure of the work itself (exit code 1).
func failErr(format string, args ...any) error {
	return cli.Exit(fmt.Sprintf(format, args...), 1)
}
