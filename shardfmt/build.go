package shardfmt

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/redirc/redirc/internal/pattern"
)

// Build is a loaded, fully verified build: its index and every shard, in
// shard order. It is immutable and safe for concurrent use.
type Build struct {
	// Index is the build's table of contents.
	Index *Index
	// Shards holds shard i at position i.
	Shards []*Shard
	// Patterns indexes the build's pattern rules (nil when it has none).
	Patterns *pattern.Index
}

// LoadBuild reads dir/index.json and every shard file it lists, verifies the
// index (ParseIndex, which recomputes the build id, so an edited index is
// refused) and each shard completely (OpenShard), and checks that each
// file's xxhash64 and size
// match the index and that its header agrees with the index on shard index,
// shard count, hash seed and rule count. Shards are read in parallel, on up
// to GOMAXPROCS goroutines. Errors name the file at fault; problems with the
// content wrap ErrCorrupt (or ErrUnsupported), I/O problems wrap the
// underlying error (a missing shard wraps fs.ErrNotExist).
func LoadBuild(dir string) (*Build, error) {
	return loadBuild(osDir(dir), ".", func(name string) string { return filepath.Join(dir, name) })
}

// LoadBuildFS is LoadBuild for a build directory inside a file system, such
// as an embed.FS holding a build compiled into the program: dir is the
// directory's slash-separated path in fsys ("." for its root), and the
// checks are LoadBuild's. Shards are read into memory like LoadBuild's, so
// the Build does not keep fsys.
func LoadBuildFS(fsys fs.FS, dir string) (*Build, error) {
	if !fs.ValidPath(dir) {
		return nil, fmt.Errorf("shardfmt: load build: %w", &fs.PathError{Op: "open", Path: dir, Err: fs.ErrInvalid})
	}
	return loadBuild(fsys, dir, func(name string) string { return path.Join(dir, name) })
}

// osDir is a directory of the operating system's file system as an fs.FS,
// for LoadBuild. Unlike os.DirFS's, its errors name files by their OS path
// (dir joined with the name), as LoadBuild's always have. It is only given
// the names loadBuild builds: IndexFileName and shard names ParseIndex
// checked (bare names, never paths).
type osDir string

func (d osDir) path(name string) string { return filepath.Join(string(d), filepath.FromSlash(name)) }

// Open opens the named file.
func (d osDir) Open(name string) (fs.File, error) {
	f, err := os.Open(d.path(name))
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Stat returns the named file's FileInfo, following symbolic links.
func (d osDir) Stat(name string) (fs.FileInfo, error) { return os.Stat(d.path(name)) }

// ReadFile reads the named file.
func (d osDir) ReadFile(name string) ([]byte, error) { return os.ReadFile(d.path(name)) }

// loadBuild is LoadBuild over the build directory dir of fsys; show turns a
// file name of the build into the path that error messages give.
func loadBuild(fsys fs.FS, dir string, show func(name string) string) (*Build, error) {
	ib, err := fs.ReadFile(fsys, inDir(dir, IndexFileName))
	if err != nil {
		return nil, fmt.Errorf("shardfmt: load build: %w", err)
	}
	ix, err := ParseIndex(ib)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", show(IndexFileName), err)
	}

	n := len(ix.Shards)
	shards := make([]*Shard, n)
	errs := make([]error, n)
	// Every shard file whose size is the one the index gives is read into
	// one buffer (others are read on their own, to report exactly what is
	// wrong with them). One allocation can be backed by transparent huge
	// pages (adviseHugePages): on the machine of the README's benchmarks,
	// reading a 100 MB build into fresh 4 KiB pages took 25,000 page
	// faults; and lookups, which touch a few random cache lines of the
	// build each, miss the TLB far less often in 2 MiB pages.
	offs := make([]int64, n)
	var total int64
	for i := range ix.Shards {
		offs[i] = -1
		// ParseIndex guarantees File is a bare name.
		fi, err := fs.Stat(fsys, inDir(dir, ix.Shards[i].File))
		if err == nil && fi.Mode().IsRegular() && fi.Size() == ix.Shards[i].Size && uint64(fi.Size()) <= maxFileSize {
			offs[i] = total
			total += (fi.Size() + 7) &^ 7
		}
	}
	var buf []byte
	if total > 0 && total <= int64(maxInt) {
		buf = alignedBytes(int(total))
		adviseHugePages(buf)
	} else {
		for i := range offs {
			offs[i] = -1
		}
	}
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				file := ix.Shards[i].File
				var s *Shard
				var err error
				if o := offs[i]; o >= 0 {
					size := ix.Shards[i].Size
					s, err = readShardInto(fsys, dir, file, show, buf[o:o+size:o+size])
				} else {
					s, err = readShardFS(fsys, dir, file, show)
				}
				if err == nil {
					err = checkShard(ix, i, s)
					if err != nil {
						err = fmt.Errorf("%s: %w", show(file), err)
					}
				}
				if err != nil {
					errs[i] = err
					failed.Store(true)
					return
				}
				shards[i] = s
				// A load usually runs beside requests (a reload in a
				// server, maybe on one core): yielding between shards
				// keeps a request from waiting on it for more than one
				// shard's work (a fraction of a millisecond), where the
				// scheduler would let it run for a 10 ms time slice.
				runtime.Gosched()
			}
		})
	}
	wg.Wait()
	// Report the first failing shard in shard order, so that the message
	// does not depend on scheduling.
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	pix, err := loadPatterns(fsys, dir, ix, show)
	if err != nil {
		return nil, err
	}
	return &Build{Index: ix, Shards: shards, Patterns: pix}, nil
}

// inDir returns the path in an fs.FS of the file name in directory dir.
func inDir(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// readShardInto reads shard file file of directory dir of fsys into b, which
// must be 8-byte aligned and exactly as long as the file, and opens it;
// show(file) names the file in errors (computed only for an error: a path
// per shard is an allocation per shard). If the file's size is no longer
// len(b) (it was replaced since loadBuild looked), it is read by readShardFS
// instead, which reports what is wrong with it.
func readShardInto(fsys fs.FS, dir, file string, show func(string) string, b []byte) (*Shard, error) {
	f, err := fsys.Open(inDir(dir, file))
	if err != nil {
		return nil, fmt.Errorf("shardfmt: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() != int64(len(b)) {
		f.Close()
		return readShardFS(fsys, dir, file, show)
	}
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("shardfmt: read %s: %w", show(file), err)
	}
	s, err := openShard(b, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", show(file), err)
	}
	return s, nil
}

// readShardFS is ReadShardFile for shard file file of directory dir of
// fsys; show(file) names the file in errors.
func readShardFS(fsys fs.FS, dir, file string, show func(string) string) (*Shard, error) {
	f, err := fsys.Open(inDir(dir, file))
	if err != nil {
		return nil, fmt.Errorf("shardfmt: %w", err)
	}
	defer f.Close()
	b, err := readAligned(f, show(file))
	if err != nil {
		return nil, err
	}
	s, err := openShard(b, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", show(file), err)
	}
	return s, nil
}

// NewBuild assembles a Build from an index and shards that are already open
// (for instance built in memory), with the same consistency checks as
// LoadBuild.
func NewBuild(ix *Index, shards []*Shard) (*Build, error) {
	if err := ix.validate(); err != nil {
		return nil, err
	}
	if len(shards) != len(ix.Shards) {
		return nil, fmt.Errorf("shardfmt: %d shards for an index of %d", len(shards), len(ix.Shards))
	}
	for i, s := range shards {
		if s == nil {
			return nil, fmt.Errorf("shardfmt: shard %d is nil", i)
		}
		if err := checkShard(ix, i, s); err != nil {
			return nil, fmt.Errorf("%s: %w", ix.Shards[i].File, err)
		}
	}
	return &Build{Index: ix, Shards: shards}, nil
}

// checkShard compares open shard i with what the index says about it.
func checkShard(ix *Index, i int, s *Shard) error {
	e := &ix.Shards[i]
	switch {
	case int64(s.Size()) != e.Size:
		return fmt.Errorf("%w: file is %d bytes, index says %d", ErrCorrupt, s.Size(), e.Size)
	case FormatHash(s.Sum()) != e.Hash:
		return fmt.Errorf("%w: xxh64 is %s, index says %s", ErrCorrupt, FormatHash(s.Sum()), e.Hash)
	case s.Index() != i:
		return fmt.Errorf("%w: header says shard %d, index lists it as shard %d", ErrCorrupt, s.Index(), i)
	case s.Count() != ix.ShardCount:
		return fmt.Errorf("%w: header says %d shards, index says %d", ErrCorrupt, s.Count(), ix.ShardCount)
	case s.Seed() != ix.HashSeed:
		return fmt.Errorf("%w: header says hash seed %#x, index says %#x", ErrCorrupt, s.Seed(), ix.HashSeed)
	case s.Len() != e.Rules:
		return fmt.Errorf("%w: shard holds %d rules, index says %d", ErrCorrupt, s.Len(), e.Rules)
	}
	return nil
}

// Find looks up key in the build: it hashes the key with the build's seed,
// picks the shard and calls Shard.Find (FORMAT.md §4, "Lookups"). It
// allocates nothing.
func (b *Build) Find(key []byte) (Record, bool) {
	if len(b.Shards) == 0 {
		return Record{}, false
	}
	h := Hash(b.Index.HashSeed, key)
	return b.Shards[ShardOf(h, len(b.Shards))].Find(h, key)
}

// FindString is Find for a string key.
func (b *Build) FindString(key string) (Record, bool) {
	return b.Find(stringBytes(key))
}
