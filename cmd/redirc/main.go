// Command redirc compiles redirect manifests into a build directory and
// serves redirects from it.
//
// Exit codes: 0 success, 1 validation or lookup errors, 2 usage errors.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

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
	app := newApp(stdout, stderr)
	err := app.Run(args)
	if err == nil {
		return 0
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(stderr, "redirc:", msg)
		}
		return ec.ExitCode()
	}
	// Anything not raised by our own commands comes from flag parsing.
	fmt.Fprintln(stderr, "redirc:", err)
	return 2
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
