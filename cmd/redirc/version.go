package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"

	"github.com/redirc/redirc/shardfmt"
)

// versionInfo is what `redirc version` reports.
type versionInfo struct {
	// Version is the -X main.version the Makefile links in, else the
	// module version from the build info (what `go install …@vX` records),
	// else "dev".
	Version string `json:"version"`
	// Revision and Modified come from the build info's VCS stamp, present
	// when the binary was built inside a checkout (not with go install).
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
	// ShardFormat is the shard format version written ("major.minor");
	// readers accept every minor version of that major.
	ShardFormat string `json:"shardFormat"`
	// IndexFormat is the index.json format written and read.
	IndexFormat int `json:"indexFormat"`
}

// currentVersion describes this binary.
func currentVersion() versionInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return versionFrom(version, bi)
}

// versionFrom derives the version report from the link-time version and the
// build info (nil when the binary carries none).
func versionFrom(linked string, bi *debug.BuildInfo) versionInfo {
	v := versionInfo{
		Version:     linked,
		Go:          runtime.Version(),
		Platform:    runtime.GOOS + "/" + runtime.GOARCH,
		ShardFormat: fmt.Sprintf("%d.%d", shardfmt.MajorVersion, shardfmt.MinorVersion),
		IndexFormat: shardfmt.IndexFormat,
	}
	if bi == nil {
		return v
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	// A version given with -X wins: the Makefile's `git describe` says more
	// than the "(devel)" a build inside a checkout records.
	if (linked == "" || linked == "dev") && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v.Version = bi.Main.Version
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// writeText prints the report for people, one fact a line.
func (v versionInfo) writeText(w io.Writer) {
	fmt.Fprintf(w, "redirc %s\n", v.Version)
	if v.Revision != "" {
		rev := v.Revision
		if v.Modified {
			rev += " (modified)"
		}
		if v.Time != "" {
			rev += " " + v.Time
		}
		fmt.Fprintf(w, "revision: %s\n", rev)
	}
	fmt.Fprintf(w, "go: %s %s\n", v.Go, v.Platform)
	fmt.Fprintf(w, "formats: shard %s (reads %d.x), index %d\n", v.ShardFormat, shardfmt.MajorVersion, v.IndexFormat)
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, commit, Go version and supported build formats",
		Description: `Prints the module version (as "go install …@vX" recorded it, or as
"make build" linked it), the VCS revision when the binary was built in a
checkout, the Go version, and the shard and index format versions this
binary writes and reads. --json prints the same as one JSON object.`,
		Flags:        []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print as JSON"}},
		OnUsageError: cmdUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("version: takes no arguments")
			}
			v := currentVersion()
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				if err := enc.Encode(v); err != nil {
					return failErr("version: %v", err)
				}
				return nil
			}
			v.writeText(c.App.Writer)
			return nil
		},
	}
}
