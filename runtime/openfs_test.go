package runtime_test

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/runtime"
	"github.com/redirc/redirc/shardfmt"
)

// openFSBuild compiles a few rules into parent/build and returns that
// directory.
func openFSBuild(t *testing.T) string {
	t.Helper()
	b, _, err := compiler.Compile([]compiler.Rule{
		{Source: "/old", Destination: "/new", Status: 301},
		{Source: "shop.example.com/cards", Destination: "https://shop.example.com/gift-cards", Status: 308},
		{Source: "/docs/v1/*", Destination: "/docs/v2/:splat", Status: 302},
	}, compiler.Options{Shards: 4})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "build")
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// openFSMap copies the files of dir into a MapFS under prefix, the way go:embed
// would (dot files left out).
func openFSMap(t *testing.T, dir, prefix string) fstest.MapFS {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := fstest.MapFS{}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[path.Join(prefix, e.Name())] = &fstest.MapFile{Data: b, Mode: 0o444}
	}
	return m
}

func TestOpenFS(t *testing.T) {
	dir := openFSBuild(t)
	want, err := runtime.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fsys fs.FS
		dir  string
	}{
		{"DirFS", os.DirFS(filepath.Dir(dir)), "build"},
		{"DirFSRoot", os.DirFS(dir), "."},
		{"MapFS", openFSMap(t, dir, "assets/redirects"), "assets/redirects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := runtime.OpenFS(tc.fsys, tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			if s.BuildID() != want.BuildID() || s.Rules() != 3 {
				t.Errorf("build %s with %d rules, want %s with 3", s.BuildID(), s.Rules(), want.BuildID())
			}
			for _, q := range []struct{ host, path, status, loc string }{
				{"example.com", "/old", "301", "/new"},
				{"shop.example.com", "/cards", "308", "https://shop.example.com/gift-cards"},
				{"example.com", "/cards", "0", ""},
				{"example.com", "/docs/v1/install", "302", "/docs/v2/install"},
				{"example.com", "/nothing", "0", ""},
			} {
				r := s.Lookup(q.host, q.path, "")
				w := want.Lookup(q.host, q.path, "")
				if r != w || strconv.Itoa(r.Status) != q.status || r.Location != q.loc {
					t.Errorf("Lookup(%q, %q) = %+v (Open gives %+v), want %s %q", q.host, q.path, r, w, q.status, q.loc)
				}
			}
		})
	}
}

func TestOpenFSErrors(t *testing.T) {
	dir := openFSBuild(t)
	for _, tc := range []struct {
		name string
		edit func(m fstest.MapFS)
		dir  string
		is   error
		not  error
	}{
		{"NoBuild", nil, "elsewhere", fs.ErrNotExist, shardfmt.ErrCorrupt},
		{"InvalidDir", nil, "/abs", fs.ErrInvalid, shardfmt.ErrCorrupt},
		{"MissingShard", func(m fstest.MapFS) {
			for name := range m {
				if strings.HasSuffix(name, ".rdx") {
					delete(m, name)
					return
				}
			}
		}, "r", fs.ErrNotExist, shardfmt.ErrCorrupt},
		{"AlteredIndex", func(m fstest.MapFS) {
			f := m["r/"+shardfmt.IndexFileName]
			f.Data = []byte(strings.Replace(string(f.Data), `"hostRules": true`, `"hostRules": false`, 1))
		}, "r", shardfmt.ErrCorrupt, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := openFSMap(t, dir, "r")
			if tc.edit != nil {
				tc.edit(m)
			}
			s, err := runtime.OpenFS(m, tc.dir)
			if err == nil || s != nil {
				t.Fatalf("OpenFS = %v, %v; want an error", s, err)
			}
			if !errors.Is(err, tc.is) || tc.not != nil && errors.Is(err, tc.not) {
				t.Errorf("error %v: want it to wrap %v and not %v", err, tc.is, tc.not)
			}
			if !strings.HasPrefix(err.Error(), "opening build "+tc.dir+": ") {
				t.Errorf("error %q does not name the directory", err)
			}
		})
	}
}
