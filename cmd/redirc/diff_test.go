package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

const diffOld = `source,destination,statusCode,query
/keep,/k,301,
/change,/c1,301,
/remove,/r,302,
/Case-Only,/x,301,
`

// diffNew changes /change (line 3), adds /add (line 4), removes /remove and
// keeps the rest.
const diffNew = `source,destination,statusCode,query
/keep,/k,301,
/change,/c2,302,true
/add,/a,308,
/case-only,/x,301,
`

func TestDiffText(t *testing.T) {
	dir := t.TempDir()
	oldCSV, newCSV := writeFile(t, dir, "old.csv", diffOld), writeFile(t, dir, "new.csv", diffNew)
	oldDir, _ := buildDir(t, nil, oldCSV)
	newDir, _ := buildDir(t, []string{"--shards", "5"}, newCSV) // the sorted path
	want := `~ /change: 301 /c1 -> 302 /c2 +query
+ /add: 308 /a
- /remove: 302 /r
1 added, 1 removed, 1 changed, 2 unchanged (OLD -> NEW)
`
	for _, pair := range [][2]string{{oldCSV, newCSV}, {oldDir, newCSV}, {oldCSV, newDir}, {oldDir, newDir}} {
		code, out, stderr := redirc(t, "diff", pair[0], pair[1])
		w := strings.NewReplacer("OLD", pair[0], "NEW", pair[1]).Replace(want)
		if code != 1 || out != w {
			t.Errorf("diff %s %s: exit %d, stderr %s\n%s\nwant\n%s", pair[0], pair[1], code, stderr, out, w)
		}
	}
	for _, pair := range [][2]string{{oldCSV, oldDir}, {oldDir, oldCSV}, {newDir, newCSV}, {oldDir, oldDir}} {
		code, out, stderr := redirc(t, "diff", pair[0], pair[1])
		if code != 0 || !strings.HasPrefix(out, "0 added, 0 removed, 0 changed, 4 unchanged") {
			t.Errorf("diff %s %s: exit %d, stderr %s\n%s", pair[0], pair[1], code, stderr, out)
		}
	}
}

func TestDiffJSON(t *testing.T) {
	dir := t.TempDir()
	oldCSV, newCSV := writeFile(t, dir, "old.csv", diffOld), writeFile(t, dir, "new.csv", diffNew)
	oldDir, oldID := buildDir(t, nil, oldCSV)
	code, out, stderr := redirc(t, "diff", "--output", "json", oldDir, newCSV)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	type answer struct {
		Status      int
		Destination string
		Query       bool
	}
	var doc struct {
		Old, New struct {
			Path, Kind, BuildID string
			Rules               int
		}
		Same   bool
		Counts struct{ Added, Removed, Changed, Unchanged int }
		Added  []struct {
			Source string
			Answer answer
			File   string
			Line   int
		}
		Removed []struct {
			Source string
			Answer answer
		}
		Changed []struct {
			Source   string
			Old, New answer
			File     string
			Line     int
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if doc.Same || doc.Counts.Added != 1 || doc.Counts.Removed != 1 || doc.Counts.Changed != 1 || doc.Counts.Unchanged != 2 ||
		doc.Old.Kind != "build" || doc.Old.BuildID != oldID || doc.New.Kind != "manifest" || doc.New.Rules != 4 {
		t.Errorf("document %+v", doc)
	}
	if len(doc.Added) != 1 || doc.Added[0].Source != "/add" || doc.Added[0].Answer != (answer{308, "/a", false}) || doc.Added[0].File != newCSV || doc.Added[0].Line != 4 {
		t.Errorf("added %+v", doc.Added)
	}
	if len(doc.Removed) != 1 || doc.Removed[0].Source != "/remove" || doc.Removed[0].Answer != (answer{302, "/r", false}) {
		t.Errorf("removed %+v", doc.Removed)
	}
	if len(doc.Changed) != 1 || doc.Changed[0].Old != (answer{301, "/c1", false}) || doc.Changed[0].New != (answer{302, "/c2", true}) || doc.Changed[0].Line != 3 {
		t.Errorf("changed %+v", doc.Changed)
	}
	// No difference: empty arrays, not null.
	code, out, _ = redirc(t, "diff", "--output", "json", oldDir, oldCSV)
	if code != 0 || !strings.Contains(out, `"added": []`) || !strings.Contains(out, `"same": true`) {
		t.Errorf("same: exit %d\n%s", code, out)
	}
}

func TestDiffGitHub(t *testing.T) {
	dir := t.TempDir()
	oldCSV, newCSV := writeFile(t, dir, "old.csv", diffOld), writeFile(t, dir, "new.csv", diffNew)
	code, out, stderr := redirc(t, "diff", "--output", "github", oldCSV, newCSV)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f := ghProp(newCSV)
	want := "::warning file=" + f + ",line=3,title=redirect changed::/change: 301 /c1 -> 302 /c2 +query\n" +
		"::notice file=" + f + ",line=4,title=redirect added::/add: 308 /a\n" +
		"::warning file=" + f + ",title=redirect removed::/remove: was 302 /r\n" +
		"::notice title=redirc diff::1 added, 1 removed, 1 changed, 2 unchanged (" + oldCSV + " -> " + newCSV + ")\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	// NEW is a build: no file to point at.
	newDir, _ := buildDir(t, nil, newCSV)
	_, out, _ = redirc(t, "diff", "--output", "github", oldCSV, newDir)
	if strings.Contains(out, "file=") || !strings.Contains(out, "::notice title=redirect added::/add: 308 /a\n") {
		t.Errorf("NEW a build:\n%s", out)
	}
}

func TestDiffSettings(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "r.csv", "source,destination,statusCode\n/a/,/b,301\n")
	loose, _ := buildDir(t, nil, f)
	strict, _ := buildDir(t, []string{"--strict-trailing-slash"}, f)
	code, out, _ := redirc(t, "diff", loose, strict)
	if code != 1 || !strings.Contains(out, "! strictTrailingSlash: false -> true\n") {
		t.Errorf("exit %d\n%s", code, out)
	}
	// A manifest takes the build's trailing-slash mode unless told otherwise.
	if code, out, _ := redirc(t, "diff", strict, f); code != 0 {
		t.Errorf("strict build against its manifest: exit %d\n%s", code, out)
	}
	if code, _, _ := redirc(t, "diff", "--strict-trailing-slash=false", strict, f); code != 1 {
		t.Errorf("--strict-trailing-slash=false: exit %d, want 1", code)
	}
}

func TestDiffErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.csv", diffOld)
	bad := writeFile(t, dir, "bad.tsv", "/a\t/b\n/a\t/c\n")
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"diff", good}, "want two arguments"},
		{[]string{"diff", good, good, good}, "want two arguments"},
		{[]string{"diff", "--output", "xml", good, good}, "unknown output format"},
		{[]string{"diff", "--format", "xml", good, good}, "unknown --format"},
		{[]string{"diff", good, filepath.Join(dir, "missing")}, "no such file"},
		{[]string{"diff", good, dir}, "index.json"}, // a directory that is not a build
		{[]string{"diff", good, bad}, "bad.tsv:2: error: conflicting rule"},
	} {
		code, _, stderr := redirc(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%v: exit %d, want 2 and %q in\n%s", tc.args, code, tc.stderr, stderr)
		}
	}
}
