package compiler

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redirc/redirc/shardfmt"
)

// TestAlteredIndexRefused is the regression test for index.json flags being
// trusted: flipping hostRules (or any other field that changes answers) in a
// written build's index used to load fine, and host-scoped rules silently
// stopped matching. Every such edit must now be refused as corruption,
// because the build id no longer matches the index's content.
func TestAlteredIndexRefused(t *testing.T) {
	rules := []Rule{
		{Source: "shop.example.com/cards", Destination: "/gift-cards", Status: 301, Pos: Pos{"m", 1}},
		{Source: "/Docs/*", Destination: "/manual/:splat", Status: 308, CaseSensitive: true, Pos: Pos{"m", 2}},
		{Source: "/old", Destination: "/new", Status: 301, Pos: Pos{"m", 3}},
	}
	b, _, err := Compile(rules, Options{HashSeed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Index.HostRules || !b.Index.PrefixRules || !b.Index.CaseSensitiveRules || b.Index.MaxPrefixSegments == 0 {
		t.Fatalf("test bug: the build should have every kind of rule: %+v", b.Index)
	}
	if want := b.Index.ComputeBuildID(); b.Index.BuildID != want {
		t.Fatalf("Compile wrote build id %s, shardfmt computes %s", b.Index.BuildID, want)
	}
	src := t.TempDir()
	if err := b.WriteDir(src); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(src, shardfmt.IndexFileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new string }{
		{"hostRules", `"hostRules": true`, `"hostRules": false`},
		{"caseSensitiveRules", `"caseSensitiveRules": true`, `"caseSensitiveRules": false`},
		{"prefixRules", `"prefixRules": true`, `"prefixRules": false`},
		{"strictTrailingSlash", `"strictTrailingSlash": false`, `"strictTrailingSlash": true`},
		{"maxPrefixSegments", `"maxPrefixSegments": 1`, `"maxPrefixSegments": 2`},
		{"hashSeed", `"hashSeed": 7`, `"hashSeed": 8`},
		{"buildId", b.Index.BuildID, strings.Repeat("0", 32)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(good), tc.old) {
				t.Fatalf("test bug: %q not in the index:\n%s", tc.old, good)
			}
			dir := t.TempDir()
			for _, s := range b.Index.Shards {
				data, err := os.ReadFile(filepath.Join(src, s.File))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, s.File), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			bad := strings.Replace(string(good), tc.old, tc.new, 1)
			if err := os.WriteFile(filepath.Join(dir, shardfmt.IndexFileName), []byte(bad), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := shardfmt.LoadBuild(dir)
			if !errors.Is(err, shardfmt.ErrCorrupt) || !strings.Contains(err.Error(), "build id") {
				t.Fatalf("LoadBuild of an index with %s altered = %v, want ErrCorrupt about the build id", tc.name, err)
			}
		})
	}
	if _, err := shardfmt.LoadBuild(src); err != nil {
		t.Fatalf("the unaltered build: %v", err)
	}
}
