package shardfmt

import (
	"encoding/binary"
	"fmt"
	"github.com/redirc/redirc/internal/pattern"
	"io/fs"

	"github.com/cespare/xxhash/v2"
)

// This file opens the front of a shard file, its header, section table and
// BLOOM section, without the rest: a reader that fetches shards over the
// network (runtime's remote builds) answers a miss from the Bloom filter
// alone, with one small Range request, and fetches the whole file only when
// the filter says the key may be there. The writer lays the BLOOM section
// out first (FORMAT.md §2.2), so the prefix is short: about 2 bytes per
// rule of the shard plus a few hundred bytes.

// Bloom is a shard's Bloom filter on its own: the BLOOM section of a shard
// file whose front was opened with OpenShardPrefix, or copied out of an open
// Shard (Shard.Bloom). It is immutable and safe for concurrent use;
// MayContain allocates nothing.
type Bloom struct {
	f     bloomFilter
	index int
	count int
	seed  uint64
	n     int
}

// MayContain reports whether the key with hash h (Hash(seed, key)) may be in
// the shard. A false answer is certain: the key is not in the shard.
func (b *Bloom) MayContain(h uint64) bool { return b.f.mayContain(h) }

// Bytes returns the memory the filter's words take.
func (b *Bloom) Bytes() int { return 8 * len(b.f.words) }

// Len returns the shard's entry count, from its header.
func (b *Bloom) Len() int { return b.n }

// Bloom returns a copy of the shard's Bloom filter that does not keep the
// shard's bytes, so that a cache can drop the shard and keep answering
// misses for it.
func (s *Shard) Bloom() *Bloom {
	w := make([]uint64, len(s.bloom.words))
	copy(w, s.bloom.words)
	f := s.bloom
	f.words = w
	return &Bloom{f: f, index: s.index, count: s.count, seed: s.seed, n: len(s.fps)}
}

// PrefixHint returns how many bytes from the start of a shard file of rules
// entries are enough to hold its header, section table and BLOOM section
// whatever false-positive rate the filter was built for (it assumes the
// lowest, MinBloomFP, about 4.2 bytes per rule): the length of the first
// Range request for it, so that one request is enough. A file laid out
// otherwise may need more, which OpenShardPrefix reports.
func PrefixHint(rules int) int {
	blocks, _ := bloomParams(rules, MinBloomFP)
	return HeaderSize + MaxSections*SectionEntrySize + bloomHeaderLen + int(blocks)*BloomBlockBits/8
}

// OpenShardPrefix validates the first len(b) bytes of a shard file of
// fileSize bytes and returns its Bloom filter. It checks what those bytes
// can show (FORMAT.md §6, steps 1 to 5 and 7 to 8 for the BLOOM section):
// magic, version, header checksum and fields (FileSize must be fileSize),
// the section table, the BLOOM section's checksum and parameters. The rest of
// the file (its other sections, the whole-file checksum) is checked when the
// whole file is opened with OpenShard, before any hit is answered from it.
//
// If b is too short, OpenShardPrefix returns need > len(b), the prefix
// length it needs, and a nil Bloom and error; fetch that many bytes and call
// it again. Problems are errors wrapping ErrCorrupt or ErrUnsupported, as
// OpenShard's are. The Bloom does not keep b.
func OpenShardPrefix(b []byte, fileSize int64) (bl *Bloom, need int, err error) {
	le := binary.LittleEndian
	size := uint64(fileSize)
	if fileSize < HeaderSize+TrailerSize {
		return nil, 0, corruptf(0, "file is %d bytes, shorter than header and trailer (%d bytes)", fileSize, HeaderSize+TrailerSize)
	}
	if size > maxFileSize {
		return nil, 0, corruptf(fileSizeOff, "file is %d bytes, larger than the %d-byte limit", size, uint64(MaxFileSize))
	}
	if len(b) < HeaderSize {
		return nil, HeaderSize, nil
	}
	if string(b[magicOff:magicOff+magicLen]) != Magic {
		return nil, 0, corruptf(magicOff, "bad magic %q, want %q", b[magicOff:magicOff+magicLen], Magic)
	}
	if v := le.Uint16(b[majorOff:]); v != MajorVersion {
		return nil, 0, unsupportedf(majorOff, "major version %d, this reader reads version %d", v, MajorVersion)
	}
	if got, want := le.Uint64(b[headerChecksumOff:]), xxhash.Sum64(b[:headerChecksumOff]); got != want {
		return nil, 0, corruptf(headerChecksumOff, "header checksum %#016x, computed %#016x", got, want)
	}
	hdrSize := uint64(le.Uint32(b[headerSizeOff:]))
	if hdrSize < HeaderSize || hdrSize%sectionAlign != 0 {
		return nil, 0, corruptf(headerSizeOff, "header size %d, want a multiple of %d no smaller than %d", hdrSize, sectionAlign, HeaderSize)
	}
	for i := reservedOff; i < reservedOff+reservedLen; i++ {
		if b[i] != 0 {
			return nil, 0, corruptf(uint64(i), "reserved header byte is %#02x, want 0", b[i])
		}
	}
	if f := le.Uint64(b[requiredOff:]) &^ requiredKnown; f != 0 {
		return nil, 0, unsupportedf(requiredOff, "unknown required feature bits %#x", f)
	}
	if fs := le.Uint64(b[fileSizeOff:]); fs != size {
		return nil, 0, corruptf(fileSizeOff, "file size field says %d bytes, file is %d bytes", fs, size)
	}
	count := uint64(le.Uint32(b[shardCountOff:]))
	if count < 1 || count > MaxShardCount {
		return nil, 0, corruptf(shardCountOff, "shard count %d out of range 1..%d", count, MaxShardCount)
	}
	index := uint64(le.Uint32(b[shardIndexOff:]))
	if index >= count {
		return nil, 0, corruptf(shardIndexOff, "shard index %d not below shard count %d", index, count)
	}
	nsec := uint64(le.Uint32(b[sectionCntOff:]))
	if nsec < 1 || nsec > MaxSections {
		return nil, 0, corruptf(sectionCntOff, "section count %d out of range 1..%d", nsec, MaxSections)
	}
	dataEnd := size - TrailerSize
	tableEnd := hdrSize + nsec*SectionEntrySize
	if tableEnd > dataEnd {
		return nil, 0, corruptf(sectionCntOff, "section table (%d entries after a %d-byte header) runs past the data end at %d", nsec, hdrSize, dataEnd)
	}
	n := uint64(le.Uint32(b[entryCountOff:]))
	if n > size/minEntryBytes {
		return nil, 0, corruptf(entryCountOff, "entry count %d too large for a %d-byte file", n, size)
	}
	if uint64(len(b)) < tableEnd {
		return nil, int(tableEnd), nil
	}
	var bs *section
	var found section
	for i := uint64(0); i < nsec; i++ {
		e := hdrSize + i*SectionEntrySize
		t := b[e : e+SectionEntrySize]
		s := section{
			kind:  sectionKind(le.Uint32(t[secKindOff:])),
			flags: le.Uint32(t[secFlagsOff:]),
			off:   le.Uint64(t[secOffsetOff:]),
			len:   le.Uint64(t[secLengthOff:]),
			sum:   le.Uint64(t[secChecksumOff:]),
			entry: e,
		}
		if f := s.flags &^ secFlagsKnown; f != 0 {
			return nil, 0, corruptf(e+secFlagsOff, "section %d (%v): unknown flag bits %#x", i, s.kind, f)
		}
		if s.off > dataEnd || s.len > dataEnd-s.off {
			return nil, 0, corruptf(e+secOffsetOff, "section %d (%v): offset %d length %d out of bounds (data ends at %d)", i, s.kind, s.off, s.len, dataEnd)
		}
		if s.off < tableEnd {
			return nil, 0, corruptf(e+secOffsetOff, "section %d (%v): offset %d inside the header or section table (ends at %d)", i, s.kind, s.off, tableEnd)
		}
		if s.off%sectionAlign != 0 {
			return nil, 0, corruptf(e+secOffsetOff, "section %d (%v): offset %d not %d-byte aligned", i, s.kind, s.off, sectionAlign)
		}
		if s.kind == kindBloom {
			if bs != nil {
				return nil, 0, corruptf(e+secKindOff, "section %d: second %v section", i, s.kind)
			}
			if c := (s.flags & secCodecMask) >> secCodecShift; c != 0 {
				return nil, 0, unsupportedf(e+secFlagsOff, "section %d (%v): unknown codec %d", i, s.kind, c)
			}
			found = s
			bs = &found
		}
	}
	if bs == nil {
		return nil, 0, corruptf(hdrSize, "no %v section", kindBloom)
	}
	if end := bs.off + bs.len; uint64(len(b)) < end {
		return nil, int(end), nil
	}
	if got := xxhash.Sum64(b[bs.off : bs.off+bs.len]); got != bs.sum {
		return nil, 0, corruptf(bs.entry+secChecksumOff, "section (%v) checksum %#016x, computed %#016x", bs.kind, bs.sum, got)
	}
	var sh Shard
	// inPlace false: the words are copied, so the Bloom does not keep b.
	if err := sh.openBloom(b, bs, false); err != nil {
		return nil, 0, err
	}
	return &Bloom{f: sh.bloom, index: int(index), count: int(count), seed: le.Uint64(b[seedOff:]), n: int(n)}, 0, nil
}

// CheckShard reports whether open shard s is shard i of the build ix
// describes: its size, whole-file hash (the hash its content-addressed name
// embeds), shard number and count, hash seed and entry count, as LoadBuild
// checks every shard it loads.
func (ix *Index) CheckShard(i int, s *Shard) error {
	if i < 0 || i >= len(ix.Shards) {
		return fmt.Errorf("shardfmt: shard %d of an index of %d", i, len(ix.Shards))
	}
	if err := checkShard(ix, i, s); err != nil {
		return fmt.Errorf("%s: %w", ix.Shards[i].File, err)
	}
	return nil
}

// CheckBloom reports whether a shard prefix opened with OpenShardPrefix
// belongs to shard i of the build ix describes: shard number and count,
// hash seed and entry count. (Size was checked by OpenShardPrefix against
// the size it was given; the whole-file hash can only be checked on the
// whole file.)
func (ix *Index) CheckBloom(i int, b *Bloom) error {
	if i < 0 || i >= len(ix.Shards) {
		return fmt.Errorf("shardfmt: shard %d of an index of %d", i, len(ix.Shards))
	}
	e := &ix.Shards[i]
	var err error
	switch {
	case b.index != i:
		err = fmt.Errorf("%w: header says shard %d, index lists it as shard %d", ErrCorrupt, b.index, i)
	case b.count != ix.ShardCount:
		err = fmt.Errorf("%w: header says %d shards, index says %d", ErrCorrupt, b.count, ix.ShardCount)
	case b.seed != ix.HashSeed:
		err = fmt.Errorf("%w: header says hash seed %#x, index says %#x", ErrCorrupt, b.seed, ix.HashSeed)
	case b.n != e.Rules:
		err = fmt.Errorf("%w: shard holds %d rules, index says %d", ErrCorrupt, b.n, e.Rules)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", e.File, err)
	}
	return nil
}

// LoadBuildReusing is LoadBuild for a directory whose previous build, prev,
// is loaded: a shard whose file name (content-addressed: its whole-file
// hash) is one of prev's is reused as it is, neither read nor verified
// again, after the O(1) checks against the new index (CheckShard). Only
// the shards whose names changed are read and verified. A one-rule change
// thus reloads one shard. With prev nil, or when no name is shared, it is
// LoadBuild.
//
// The reused shards keep the memory they were read into (LoadBuild reads a
// build into one buffer), so a buffer is freed only once none of its
// shards is in use.
func LoadBuildReusing(dir string, prev *Build) (*Build, error) {
	if prev == nil || len(prev.Shards) == 0 {
		return LoadBuild(dir)
	}
	fsys := osDir(dir)
	show := func(name string) string { return fsys.path(name) }
	ib, err := fs.ReadFile(fsys, IndexFileName)
	if err != nil {
		return nil, fmt.Errorf("shardfmt: load build: %w", err)
	}
	ix, err := ParseIndex(ib)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", show(IndexFileName), err)
	}
	old := make(map[string]*Shard, len(prev.Shards))
	for i, s := range prev.Shards {
		if s != nil && i < len(prev.Index.Shards) {
			old[prev.Index.Shards[i].File] = s
		}
	}
	shards := make([]*Shard, len(ix.Shards))
	reused := 0
	for i := range ix.Shards {
		if s := old[ix.Shards[i].File]; s != nil && checkShard(ix, i, s) == nil {
			shards[i] = s
			reused++
		}
	}
	if reused == 0 {
		return LoadBuild(dir)
	}
	for i := range ix.Shards {
		if shards[i] != nil {
			continue
		}
		file := ix.Shards[i].File
		s, err := readShardFS(fsys, ".", file, show)
		if err == nil {
			err = checkShard(ix, i, s)
			if err != nil {
				err = fmt.Errorf("%s: %w", show(file), err)
			}
		}
		if err != nil {
			return nil, err
		}
		shards[i] = s
	}
	// The pattern file: prev's when unchanged (same content hash), else
	// read and verified like the shards.
	var pix *pattern.Index
	if p := ix.Patterns; p != nil {
		if q := prev.Index.Patterns; q != nil && q.Hash == p.Hash && q.Size == p.Size && prev.Patterns != nil {
			pix = prev.Patterns
		} else if pix, err = loadPatterns(fsys, ".", ix, show); err != nil {
			return nil, err
		}
	}
	return &Build{Index: ix, Shards: shards, Patterns: pix}, nil
}
