package compiler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/redirc/redirc/shardfmt"
)

// WriteDir writes the build into dir: shard files first, each under its
// content-addressed name, then the index by atomic rename. A reader of dir
// therefore sees the old build or the new one, never a mix. Shard files
// that already hold the right bytes are left untouched (so an edit rewrites
// only the shards it changed). If anything fails before the index is
// renamed, the files this call created are removed and dir is as it was.
//
// After the new index is in place, shard files referenced by neither the
// new nor the previous index are deleted: a server still loading the
// previous build can finish.
//
// WriteDir never follows a symbolic link inside dir: files are created
// under fresh temporary names and renamed over whatever was there.
//
// Two writes into one directory (two CI jobs, say) take turns: WriteDir
// holds an exclusive lock on dir's lock file (shardfmt.LockFileName, an
// flock on unix systems) from before it reads the previous index until
// the stale shards are removed, so that neither write can delete the
// other's new shards. It waits up to DefaultLockWait for the other write to
// finish, then fails with an error wrapping ErrDirLocked; WriteDirContext
// waits as long as its context allows. The lock file stays in dir, empty;
// readers ignore it. On platforms without flock (Windows, Plan 9, wasm)
// writes are not serialized.
func (b *Build) WriteDir(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultLockWait)
	defer cancel()
	return b.WriteDirContext(ctx, dir)
}

// WriteDirContext is WriteDir waiting for the output directory's lock until
// ctx is done (then the error wraps ErrDirLocked and ctx's cause). Once the
// lock is held, the write runs to the end: ctx does not interrupt it.
func (b *Build) WriteDirContext(ctx context.Context, dir string) error {
	written, err := writeDir(ctx, dir, func(put func(name string, img []byte) error) (*shardfmt.Index, []byte, error) {
		for i, img := range b.Shards {
			if err := put(b.Index.Shards[i].File, img); err != nil {
				return nil, nil, err
			}
		}
		return b.Index, b.Patterns, nil
	})
	if err == nil {
		b.Stats.Written = written
	}
	return err
}

// writeDir is WriteDirContext for a build that produce makes: it hands
// each shard file to put (from any goroutine; put returns the first write
// error so far, and produce should then stop) and returns the index and
// the pattern file's image (nil without one). The shard files are written
// by a pool of goroutines while produce goes on. It returns the number of
// shard files written.
func writeDir(ctx context.Context, dir string, produce func(put func(name string, img []byte) error) (*shardfmt.Index, []byte, error)) (written int, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("creating output directory: %w", err)
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return 0, err
	}
	defer unlock()
	prev := previousShards(dir)

	var (
		mu       sync.Mutex
		created  []string
		writeErr error
	)
	defer func() {
		if err != nil {
			for _, name := range created {
				os.Remove(filepath.Join(dir, name))
			}
		}
	}()
	type job struct {
		name string
		img  []byte
	}
	jobs := make(chan job, 8)
	var wg sync.WaitGroup
	// Writes wait on the disk (each file is synced), not the CPU: more
	// writers than cores.
	for range 8 {
		wg.Go(func() {
			for j := range jobs {
				mu.Lock()
				failed := writeErr != nil
				mu.Unlock()
				if failed {
					continue
				}
				path := filepath.Join(dir, j.name)
				fi, statErr := os.Lstat(path)
				if statErr == nil && fi.Mode().IsRegular() && fi.Size() == int64(len(j.img)) && sameContent(path, j.img) {
					continue
				}
				err := writeAtomic(dir, j.name, j.img)
				mu.Lock()
				if err != nil && writeErr == nil {
					writeErr = err
				}
				if err == nil {
					written++
					if statErr != nil {
						created = append(created, j.name)
					}
				}
				mu.Unlock()
			}
		})
	}
	put := func(name string, img []byte) error {
		mu.Lock()
		e := writeErr
		mu.Unlock()
		if e != nil {
			return e
		}
		jobs <- job{name, img}
		return nil
	}
	ix, patterns, err := produce(put)
	close(jobs)
	wg.Wait()
	if err == nil {
		err = writeErr
	}
	if err != nil {
		return 0, err
	}
	if p := ix.Patterns; p != nil {
		path := filepath.Join(dir, p.File)
		if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() || !sameContent(path, patterns) {
			if err := writeAtomic(dir, p.File, patterns); err != nil {
				return 0, err
			}
			if err != nil {
				created = append(created, p.File)
			}
		}
	}
	idx, err := ix.Marshal()
	if err != nil {
		return 0, fmt.Errorf("encoding index: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return 0, err
	}
	if err := writeAtomic(dir, shardfmt.IndexFileName, idx); err != nil {
		return 0, err
	}
	created = nil // the new build is live: nothing to undo from here on
	if err := syncDir(dir); err != nil {
		return written, err
	}
	keep := make(map[string]bool, len(ix.Shards)+len(prev))
	for _, s := range ix.Shards {
		keep[s.File] = true
	}
	if p := ix.Patterns; p != nil {
		keep[p.File] = true
	}
	for _, f := range prev {
		keep[f] = true
	}
	removeStale(dir, keep)
	return written, nil
}

// previousShards lists the shard files of the build currently in dir.
func previousShards(dir string) []string {
	path := filepath.Join(dir, shardfmt.IndexFileName)
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > 64<<20 {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	ix, err := shardfmt.ParseIndex(data)
	if err != nil {
		return nil
	}
	names := make([]string, len(ix.Shards), len(ix.Shards)+1)
	for i, s := range ix.Shards {
		names[i] = s.File
	}
	if ix.Patterns != nil {
		names = append(names, ix.Patterns.File)
	}
	return names
}

// removeStale deletes shard files not in keep, and temporary files left by
// builds that were killed more than an hour ago.
func removeStale(dir string, keep map[string]bool) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		switch {
		case (strings.HasSuffix(name, ".rdx") || strings.HasSuffix(name, ".rdp")) && !keep[name] && e.Type().IsRegular():
			os.Remove(filepath.Join(dir, name))
		case strings.HasPrefix(name, ".tmp-"):
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
				os.Remove(filepath.Join(dir, name))
			}
		}
	}
}

func sameContent(path string, want []byte) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	d := xxhash.New()
	if _, err := io.Copy(d, f); err != nil {
		return false
	}
	return d.Sum64() == xxhash.Sum64(want)
}

// writeAtomic writes data to dir/name through a fresh temporary file that
// is synced and renamed into place.
func writeAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(dir, name), err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("writing %s: %w", filepath.Join(dir, name), err)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
