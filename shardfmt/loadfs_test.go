package shardfmt

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"
	"testing/fstest"
	"testing/iotest"
)

// goldenMapFS returns the golden builds as an in-memory file system, each
// under "builds/<name>".
func goldenMapFS(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	for _, g := range goldenBuilds() {
		dir := copyGolden(t, g.name)
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			m[path.Join("builds", g.name, e.Name())] = &fstest.MapFile{Data: readFile(t, dir, e.Name()), Mode: 0o444}
		}
	}
	return m
}

func TestLoadBuildFS(t *testing.T) {
	m := goldenMapFS(t)
	for _, g := range goldenBuilds() {
		for _, tc := range []struct {
			name string
			fsys fs.FS
			dir  string
		}{
			{"DirFS", os.DirFS(goldenDir), g.name},
			{"DirFSRoot", os.DirFS(goldenDir + "/" + g.name), "."},
			{"MapFS", m, "builds/" + g.name},
		} {
			t.Run(g.name+"/"+tc.name, func(t *testing.T) {
				b, err := LoadBuildFS(tc.fsys, tc.dir)
				if err != nil {
					t.Fatal(err)
				}
				checkGoldenBuild(t, b, g)
			})
		}
	}
	// A file system whose files return one byte per Read loads the same.
	b, err := LoadBuildFS(oneByteFS{m}, "builds/build")
	if err != nil {
		t.Fatal(err)
	}
	checkGoldenBuild(t, b, goldenBuilds()[0])
}

// oneByteFS is a file system whose files return at most one byte per Read.
type oneByteFS struct{ fs.FS }

func (f oneByteFS) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return oneByteFile{file}, nil
}

type oneByteFile struct{ fs.File }

func (f oneByteFile) Read(b []byte) (int, error) { return iotest.OneByteReader(f.File).Read(b) }

func TestLoadBuildFSErrors(t *testing.T) {
	golden := goldenBuilds()[0]
	_, gix := encodeGolden(t, golden)
	f1 := gix.Shards[1].File
	for _, tc := range []struct {
		name  string
		dir   string
		edit  func(m fstest.MapFS)
		want  string
		is    error
		notIs error
	}{
		{"InvalidDir", "../builds/build", nil, "shardfmt: load build: open ../builds/build: invalid argument", fs.ErrInvalid, ErrCorrupt},
		{"MissingIndex", "builds/none", nil, "open builds/none/index.json: file does not exist", fs.ErrNotExist, ErrCorrupt},
		{"MissingShard", "builds/build", func(m fstest.MapFS) { delete(m, "builds/build/"+f1) }, "builds/build/" + f1 + ": file does not exist", fs.ErrNotExist, ErrCorrupt},
		{"ShardIsDir", "builds/build", func(m fstest.MapFS) {
			m["builds/build/"+f1] = &fstest.MapFile{Mode: fs.ModeDir | 0o755}
		}, "shardfmt: builds/build/" + f1 + ": not a regular file", nil, ErrCorrupt},
		{"FlippedByte", "builds/build", func(m fstest.MapFS) {
			d := clone(m["builds/build/"+f1].Data)
			d[len(d)/2] ^= 0x10
			m["builds/build/"+f1] = &fstest.MapFile{Data: d}
		}, "builds/build/" + f1 + ": shardfmt: corrupt shard at byte", ErrCorrupt, nil},
		{"TruncatedShard", "builds/build", func(m fstest.MapFS) {
			d := m["builds/build/"+f1].Data
			m["builds/build/"+f1] = &fstest.MapFile{Data: d[:len(d)-1]}
		}, "builds/build/" + f1 + ": shardfmt: corrupt shard at byte", ErrCorrupt, nil},
		{"AlteredIndex", "builds/build", func(m fstest.MapFS) {
			d := strings.Replace(string(m["builds/build/index.json"].Data), `"hostRules": true`, `"hostRules": false`, 1)
			m["builds/build/index.json"] = &fstest.MapFile{Data: []byte(d)}
		}, "builds/build/index.json: shardfmt: corrupt index: build id ", ErrCorrupt, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := goldenMapFS(t)
			if tc.edit != nil {
				tc.edit(m)
			}
			_, err := LoadBuildFS(m, tc.dir)
			if err == nil {
				t.Fatal("LoadBuildFS succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
			if tc.notIs != nil && errors.Is(err, tc.notIs) {
				t.Errorf("error %v wraps %v", err, tc.notIs)
			}
		})
	}
}
