package clicks

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
)

// DirOptions configures a DirSink. The zero value is usable.
type DirOptions struct {
	// MaxBytes rotates the open file once it holds this many bytes
	// (default 64 MiB).
	MaxBytes int64
	// MaxAge rotates the open file once it is this old (default 1h), so
	// that closed, compressed files appear at least that often.
	MaxAge time.Duration
	// NoCompress keeps closed files as plain .jsonl.
	NoCompress bool
	// Logger receives compression errors (default slog.Default()).
	Logger *slog.Logger
	// now is the clock (tests).
	now func() time.Time
}

// DirSink writes clicks as JSON lines into files in a directory:
//
//	clicks-20261129T100623Z-1a2b3c4d.jsonl       the open file
//	clicks-20261129T090000Z-5e6f7a8b.jsonl.zst   closed files, zstd
//
// Every batch is written to the open file with one write(2), so a process
// killed with -9 loses only the clicks not yet handed over (at most the
// Recorder's flush interval); the kernel keeps what was written. On
// rotation the file is fsynced and closed, then compressed in the
// background to name.zst (written to a temporary name, fsynced, renamed;
// the plain file is removed only after). Files a crashed process left
// open are compressed when the next DirSink starts, so give each server
// process a directory of its own (a second process would compress the
// first one's open file). Names sort by the time the file was opened.
type DirSink struct {
	dir    string
	opt    DirOptions
	f      *os.File
	name   string
	size   int64
	opened time.Time
	buf    []byte
	wg     sync.WaitGroup
	files  atomic.Uint64
	closed bool
}

// NewDirSink creates dir if needed, compresses plain files left by an
// earlier process, and opens a new file.
func NewDirSink(dir string, opt DirOptions) (*DirSink, error) {
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = 64 << 20
	}
	if opt.MaxAge <= 0 {
		opt.MaxAge = time.Hour
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.now == nil {
		opt.now = time.Now
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("clicks directory: %w", err)
	}
	d := &DirSink{dir: dir, opt: opt}
	if !opt.NoCompress {
		left, _ := filepath.Glob(filepath.Join(dir, "clicks-*.jsonl"))
		for _, p := range left {
			d.compress(p)
		}
	}
	if err := d.open(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *DirSink) open() error {
	now := d.opt.now().UTC()
	var rnd [4]byte
	rand.Read(rnd[:])
	name := filepath.Join(d.dir, "clicks-"+now.Format("20060102T150405Z")+"-"+hex.EncodeToString(rnd[:])+".jsonl")
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("clicks: %w", err)
	}
	d.f, d.name, d.size, d.opened = f, name, 0, now
	d.files.Add(1)
	return nil
}

// WriteBatch appends clicks to the open file in one write, rotating first
// when the file is older than MaxAge and after when it is larger than
// MaxBytes.
func (d *DirSink) WriteBatch(clicks []Click) error {
	if d.closed {
		return errors.New("clicks: directory sink is closed")
	}
	if d.f == nil { // an earlier rotation could not open a new file
		if err := d.open(); err != nil {
			return err
		}
	}
	if d.size > 0 && d.opt.now().Sub(d.opened) >= d.opt.MaxAge {
		if err := d.rotate(); err != nil {
			return err
		}
	}
	if len(clicks) == 0 {
		return nil
	}
	d.buf = d.buf[:0]
	for i := range clicks {
		d.buf = clicks[i].AppendJSON(d.buf)
	}
	n, err := d.f.Write(d.buf)
	d.size += int64(n)
	if err != nil {
		return fmt.Errorf("clicks: writing %s: %w", d.name, err)
	}
	if d.size >= d.opt.MaxBytes {
		return d.rotate()
	}
	return nil
}

// rotate fsyncs and closes the open file, starts its compression and
// opens a new file.
func (d *DirSink) rotate() error {
	if err := d.closeFile(); err != nil {
		return err
	}
	return d.open()
}

func (d *DirSink) closeFile() error {
	f, name := d.f, d.name
	d.f = nil
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("clicks: closing %s: %w", name, err)
	}
	if d.size == 0 {
		os.Remove(name) // nothing was written: leave no empty files
		return nil
	}
	if !d.opt.NoCompress {
		d.compress(name)
	}
	return nil
}

// compress writes name.zst beside the plain file in the background.
func (d *DirSink) compress(name string) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := compressFile(name); err != nil {
			d.opt.Logger.Error("clicks: compressing a closed file; it stays plain", "file", name, "err", err)
		}
	}()
}

func compressFile(name string) (err error) {
	in, err := os.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := name + ".zst.tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(tmp)
		}
	}()
	zw, err := zstd.NewWriter(out, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return err
	}
	if _, err = io.Copy(zw, in); err != nil {
		zw.Close()
		return err
	}
	if err = zw.Close(); err != nil {
		return err
	}
	if err = out.Sync(); err != nil {
		return err
	}
	if err = out.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, name+".zst"); err != nil {
		return err
	}
	syncDir(filepath.Dir(name))
	return os.Remove(name)
}

func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync() // best effort: not every file system allows it
		f.Close()
	}
}

// Close fsyncs and closes the open file, then waits for compressions to
// finish.
func (d *DirSink) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var err error
	if d.f != nil {
		err = d.closeFile()
	}
	d.wg.Wait()
	return err
}

// Files returns how many files the sink has opened.
func (d *DirSink) Files() uint64 { return d.files.Load() }

// isClickFile reports whether a directory entry is a click file that
// Read reads: *.jsonl, *.ndjson, and those with .zst.
func isClickFile(name string) bool {
	name = strings.TrimSuffix(name, ".zst")
	return strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".ndjson")
}
