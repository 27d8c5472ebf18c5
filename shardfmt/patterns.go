package shardfmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/redirc/redirc/internal/pattern"
)

// FormatMinorPatterns is the Index.FormatMinor of a build with a pattern
// file (FORMAT.md §10): format 1.1, feature "patterns".
const FormatMinorPatterns = 1

// PatternsFormat is the "format" of a pattern file.
const PatternsFormat = 1

// MaxPatterns bounds the patterns of one build.
const MaxPatterns = 1 << 22

// IndexPatterns describes a build's pattern file.
type IndexPatterns struct {
	// File is PatternsFileName(Hash): a bare file name.
	File string `json:"file"`
	// Hash is the xxhash64 of the whole file, 16 lower-case hex characters.
	Hash string `json:"xxh64"`
	// Rules is the number of patterns in the file.
	Rules int `json:"rules"`
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
}

// PatternsFileName returns the content-addressed name of a pattern file
// whose whole-file xxhash64 is sum, such as "p-0123456789abcdef.rdp".
func PatternsFileName(sum uint64) string { return fmt.Sprintf("p-%016x.rdp", sum) }

// patternFile is the JSON layout of a pattern file (FORMAT.md §10).
type patternFile struct {
	Format   int             `json:"format"`
	Patterns []patternRecord `json:"patterns"`
}

type patternRecord struct {
	Rank    int         `json:"rank"`
	Host    string      `json:"host,omitempty"`
	Re      string      `json:"re"`
	Fold    bool        `json:"fold,omitempty"`
	Segs    []string    `json:"segs,omitempty"`
	Tail    bool        `json:"tail,omitempty"`
	Query   []queryCond `json:"query,omitempty"`
	Dest    string      `json:"dest,omitempty"`
	Status  int         `json:"status"`
	Flags   uint16      `json:"flags,omitempty"`
	Expires uint32      `json:"expires,omitempty"`
}

type queryCond struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// EncodePatterns returns the bytes of a pattern file holding specs, in
// rank order. The specs must have been compiled (pattern.Compile) by the
// caller: the expressions are not compiled again here.
func EncodePatterns(specs []pattern.Spec) ([]byte, error) {
	f := patternFile{Format: PatternsFormat, Patterns: make([]patternRecord, len(specs))}
	for i, s := range specs {
		if s.Flags&^(FlagQuery|FlagUnforced) != 0 || i > 0 && s.Rank <= specs[i-1].Rank {
			return nil, fmt.Errorf("shardfmt: pattern %d: flags %#x or rank %d out of order", i, s.Flags, s.Rank)
		}
		r := patternRecord{Rank: s.Rank, Host: s.Host, Re: s.Re, Fold: s.Fold, Segs: s.Segs, Tail: s.Tail,
			Dest: s.Dest, Status: s.Status, Flags: s.Flags, Expires: s.Expires}
		for _, q := range s.Query {
			r.Query = append(r.Query, queryCond(q))
		}
		f.Patterns[i] = r
	}
	if len(specs) > MaxPatterns {
		return nil, fmt.Errorf("shardfmt: %d patterns, at most %d", len(specs), MaxPatterns)
	}
	b, err := json.Marshal(&f)
	if err != nil {
		return nil, fmt.Errorf("shardfmt: encoding patterns: %w", err)
	}
	return append(b, '\n'), nil
}

func checkSpec(s pattern.Spec) (*pattern.Pattern, error) {
	if s.Flags&^(FlagQuery|FlagUnforced) != 0 {
		return nil, fmt.Errorf("flags %#x", s.Flags)
	}
	if s.Host != "" && (len(s.Host) > 255 || bytes.ContainsAny([]byte(s.Host), "/\x00")) {
		return nil, fmt.Errorf("host %q", s.Host)
	}
	return pattern.Compile(s)
}

// DecodePatterns parses and checks a pattern file and returns its index.
// Every problem wraps ErrCorrupt (a newer file format ErrUnsupported).
func DecodePatterns(b []byte) (*pattern.Index, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f patternFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: pattern file: %v", ErrCorrupt, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: pattern file: data after the JSON object", ErrCorrupt)
	}
	switch {
	case f.Format > PatternsFormat:
		return nil, fmt.Errorf("%w: pattern file format %d", ErrUnsupported, f.Format)
	case f.Format != PatternsFormat:
		return nil, fmt.Errorf("%w: pattern file format %d", ErrCorrupt, f.Format)
	case len(f.Patterns) > MaxPatterns:
		return nil, fmt.Errorf("%w: %d patterns, at most %d", ErrCorrupt, len(f.Patterns), MaxPatterns)
	}
	pats := make([]*pattern.Pattern, len(f.Patterns))
	errs := make([]error, len(f.Patterns))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(pats)/256))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(pats); i += workers {
				r := &f.Patterns[i]
				s := pattern.Spec{Rank: r.Rank, Host: r.Host, Re: r.Re, Fold: r.Fold, Segs: r.Segs, Tail: r.Tail,
					Dest: r.Dest, Status: r.Status, Flags: r.Flags, Expires: r.Expires}
				for _, q := range r.Query {
					s.Query = append(s.Query, pattern.QueryCond(q))
				}
				pats[i], errs[i] = checkSpec(s)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%w: pattern %d: %v", ErrCorrupt, i, err)
		}
	}
	for i := 1; i < len(pats); i++ {
		if pats[i].Rank <= pats[i-1].Rank {
			return nil, fmt.Errorf("%w: pattern %d: ranks not increasing", ErrCorrupt, i)
		}
	}
	ix, err := pattern.NewIndex(pats)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return ix, nil
}

// loadPatterns reads and checks the pattern file the index lists (nil
// when it lists none).
func loadPatterns(fsys fs.FS, dir string, ix *Index, show func(string) string) (*pattern.Index, error) {
	p := ix.Patterns
	if p == nil {
		return nil, nil
	}
	b, err := fs.ReadFile(fsys, inDir(dir, p.File))
	if err != nil {
		return nil, fmt.Errorf("shardfmt: %w", err)
	}
	pix, err := ix.OpenPatterns(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", show(p.File), err)
	}
	return pix, nil
}

// OpenPatterns verifies b as the pattern file ix names (size, whole-file
// hash, content, pattern count) and decodes it. Whoever fetched the bytes
// (a local directory, an origin) gets the same checks. An index without a
// pattern file gives nil.
func (ix *Index) OpenPatterns(b []byte) (*pattern.Index, error) {
	p := ix.Patterns
	if p == nil {
		return nil, nil
	}
	if err := checkPatternsFile(p, b); err != nil {
		return nil, err
	}
	pix, err := DecodePatterns(b)
	if err != nil {
		return nil, err
	}
	if pix.Len() != p.Rules {
		return nil, fmt.Errorf("%w: file holds %d patterns, index says %d", ErrCorrupt, pix.Len(), p.Rules)
	}
	return pix, nil
}

func checkPatternsFile(p *IndexPatterns, b []byte) error {
	switch {
	case int64(len(b)) != p.Size:
		return fmt.Errorf("%w: file is %d bytes, index says %d", ErrCorrupt, len(b), p.Size)
	case FormatHash(xxhash.Sum64(b)) != p.Hash:
		return fmt.Errorf("%w: xxh64 is %s, index says %s", ErrCorrupt, FormatHash(xxhash.Sum64(b)), p.Hash)
	}
	return nil
}

// validatePatterns checks the index's pattern entry (ParseIndex).
func (ix *Index) validatePatterns() error {
	switch {
	case ix.FormatMinor > FormatMinorPatterns:
		return fmt.Errorf("%w: index format %d.%d, this reader reads up to %d.%d", ErrUnsupported, ix.Format, ix.FormatMinor, IndexFormat, FormatMinorPatterns)
	case ix.FormatMinor < 0:
		return indexErrorf("format minor %d is negative", ix.FormatMinor)
	case ix.Patterns == nil && ix.FormatMinor != 0:
		return indexErrorf("format minor %d without a pattern file", ix.FormatMinor)
	case ix.Patterns == nil:
		return nil
	case ix.FormatMinor != FormatMinorPatterns:
		return indexErrorf("a pattern file needs format minor %d", FormatMinorPatterns)
	}
	p := ix.Patterns
	sum, err := parseHash(p.Hash)
	if err != nil {
		return indexErrorf("patterns: %v", err)
	}
	if want := PatternsFileName(sum); p.File != want {
		return indexErrorf("patterns: file name %q, want %q", p.File, want)
	}
	if p.Rules < 1 || p.Rules > MaxPatterns {
		return indexErrorf("patterns: count %d out of range 1..%d", p.Rules, MaxPatterns)
	}
	if p.Size < 0 || p.Size > MaxFileSize {
		return indexErrorf("patterns: size %d out of range", p.Size)
	}
	return nil
}

// NewBuildPatterns is NewBuild for a build with a pattern file: b is the
// file's bytes, checked against the index as LoadBuild checks them.
func NewBuildPatterns(ix *Index, shards []*Shard, patterns []byte) (*Build, error) {
	bd, err := NewBuild(ix, shards)
	if err != nil {
		return nil, err
	}
	if ix.Patterns == nil {
		if patterns != nil {
			return nil, fmt.Errorf("shardfmt: pattern bytes for an index without patterns")
		}
		return bd, nil
	}
	if err := checkPatternsFile(ix.Patterns, patterns); err != nil {
		return nil, err
	}
	pix, err := DecodePatterns(patterns)
	if err != nil {
		return nil, err
	}
	if pix.Len() != ix.Patterns.Rules {
		return nil, fmt.Errorf("%w: file holds %d patterns, index says %d", ErrCorrupt, pix.Len(), ix.Patterns.Rules)
	}
	bd.Patterns = pix
	return bd, nil
}
