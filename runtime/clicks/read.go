package clicks

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// ReadStats counts what Read saw.
type ReadStats struct {
	Files int   // files read
	Lines int64 // records passed to the callback
	Bad   int64 // lines that were not click records (a torn last line after a crash, for one)
}

// maxLineBytes bounds a record line; longer lines are counted as bad.
const maxLineBytes = 64 << 10

// Read streams the click records in paths to fn, one at a time, without
// loading a file into memory. A path may be a file (plain JSON lines, or
// zstd when its name ends in .zst) or a directory, whose *.jsonl,
// *.ndjson and *.zst files are read in name order (a plain file whose
// .zst twin exists is skipped: a crash left both). The RawClick and its
// byte slices are valid only during the call. Lines that are not records
// are counted in ReadStats.Bad and skipped. An error from fn stops
// reading and is returned.
func Read(paths []string, fn func(*RawClick) error) (ReadStats, error) {
	var st ReadStats
	r := &reader{fn: fn, st: &st, br: bufio.NewReaderSize(nil, 256<<10)}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return st, fmt.Errorf("clicks: %w", err)
		}
		if !fi.IsDir() {
			if err := r.file(p); err != nil {
				return st, err
			}
			continue
		}
		files, err := dirFiles(p)
		if err != nil {
			return st, err
		}
		for _, f := range files {
			if err := r.file(f); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

func dirFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("clicks: %w", err)
	}
	have := map[string]bool{}
	for _, e := range ents {
		have[e.Name()] = true
	}
	var files []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !isClickFile(n) || !strings.HasSuffix(n, ".zst") && have[n+".zst"] {
			continue
		}
		files = append(files, filepath.Join(dir, n))
	}
	slices.Sort(files)
	return files, nil
}

type reader struct {
	fn      func(*RawClick) error
	st      *ReadStats
	br      *bufio.Reader
	zr      *zstd.Decoder
	rc      RawClick
	scratch []byte
	long    []byte
}

func (r *reader) file(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("clicks: %w", err)
	}
	defer f.Close()
	var src io.Reader = f
	if strings.HasSuffix(name, ".zst") {
		if r.zr == nil {
			r.zr, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
			if err != nil {
				return fmt.Errorf("clicks: %w", err)
			}
		}
		if err := r.zr.Reset(bufio.NewReaderSize(f, 64<<10)); err != nil {
			return fmt.Errorf("clicks: %s: %w", name, err)
		}
		src = r.zr
	}
	r.br.Reset(src)
	r.st.Files++
	for {
		line, err := r.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: collect it up to a bound.
			r.long = append(r.long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.br.ReadSlice('\n')
				if len(r.long) < maxLineBytes {
					r.long = append(r.long, line...)
				}
			}
			if len(r.long) >= maxLineBytes {
				r.st.Bad++
				if err == io.EOF {
					return nil
				}
				continue
			}
			line = r.long
		}
		if len(line) > 0 {
			if perr := r.line(line); perr != nil {
				return perr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("clicks: reading %s: %w", name, err)
		}
	}
}

func (r *reader) line(line []byte) error {
	if len(bytes.TrimSpace(line)) == 0 {
		return nil
	}
	var err error
	r.scratch, err = ParseLine(line, &r.rc, r.scratch)
	if err != nil {
		r.st.Bad++
		return nil
	}
	r.st.Lines++
	return r.fn(&r.rc)
}
