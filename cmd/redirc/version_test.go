package main

import (
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/redirc/redirc/shardfmt"
)

func TestVersionFrom(t *testing.T) {
	stamped := &debug.BuildInfo{
		GoVersion: "go1.99.1",
		Main:      debug.Module{Path: "github.com/redirc/redirc", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef"},
			{Key: "vcs.time", Value: "2026-11-29T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	for _, tc := range []struct {
		name, linked string
		bi           *debug.BuildInfo
		want         string
	}{
		{"go install @v1.2.3", "dev", stamped, "v1.2.3"},
		{"make build wins", "v1.2.3-4-gabc-dirty", stamped, "v1.2.3-4-gabc-dirty"},
		{"devel", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"no build info", "dev", nil, "dev"},
		{"empty link", "", &debug.BuildInfo{}, "dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := versionFrom(tc.linked, tc.bi)
			if v.Version != tc.want {
				t.Errorf("version %q, want %q", v.Version, tc.want)
			}
			if v.ShardFormat != "1.0" || v.IndexFormat != shardfmt.IndexFormat || v.Go == "" {
				t.Errorf("%+v", v)
			}
		})
	}
	v := versionFrom("dev", stamped)
	if v.Revision != "0123456789abcdef" || !v.Modified || v.Go != "go1.99.1" || v.Time == "" {
		t.Errorf("vcs stamp: %+v", v)
	}
	var b strings.Builder
	v.writeText(&b)
	if want := "redirc v1.2.3\nrevision: 0123456789abcdef (modified) 2026-11-29T10:00:00Z\ngo: go1.99.1 "; !strings.HasPrefix(b.String(), want) {
		t.Errorf("text %q, want prefix %q", b.String(), want)
	}
}

func TestVersionCommand(t *testing.T) {
	code, out, stderr := redirc(t, "version")
	if code != 0 || !strings.HasPrefix(out, "redirc ") || !strings.Contains(out, "formats: shard 1.0 (reads 1.x), index 1\n") {
		t.Errorf("version: exit %d\n%s%s", code, out, stderr)
	}
	code, flagOut, _ := redirc(t, "--version")
	if code != 0 || flagOut != out {
		t.Errorf("--version: exit %d, %q, want %q", code, flagOut, out)
	}
	code, js, _ := redirc(t, "version", "--json")
	var v versionInfo
	if err := json.Unmarshal([]byte(js), &v); err != nil || code != 0 || v.IndexFormat != 1 || v.ShardFormat != "1.0" {
		t.Errorf("version --json: exit %d, %v, %s", code, err, js)
	}
	if code, _, _ := redirc(t, "version", "extra"); code != 2 {
		t.Errorf("version extra: exit %d, want 2", code)
	}
	// -v stays --verbose in build and check; it is not the app's version flag.
	if code, _, _ := redirc(t, "-v"); code != 2 {
		t.Errorf("-v: exit %d, want 2 (usage)", code)
	}
}
