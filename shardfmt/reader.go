package shardfmt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"

	"github.com/cespare/xxhash/v2"
)

// Record is what a key maps to.
type Record struct {
	// Dest is the redirect target. It points into the shard's bytes (no
	// copy) and stays valid as long as the Shard is reachable.
	Dest string
	// Status is the HTTP status: 301, 302, 303, 307, 308 or 410.
	Status uint16
	// Flags is a combination of FlagQuery, FlagSplat and FlagUnforced.
	Flags uint16
	// Expires is the time, in unix seconds, after which the rule answers
	// 410 Gone; 0 means never.
	Expires uint32
}

// Shard is an open, fully validated shard. It is immutable and safe for
// concurrent use; lookups take no locks and allocate nothing.
type Shard struct {
	buf   []byte // the whole file, 8-byte aligned, never written
	index int
	count int
	seed  uint64
	sum   uint64 // xxhash64 of the whole file

	bloom bloomFilter
	fps   []uint32 // FINGERPRINTS, ascending
	// buckets is the bucket directory (buildBuckets): entries whose
	// fingerprint's top 32-bucketShift bits are j are [buckets[j],
	// buckets[j+1]).
	buckets     []uint32
	bucketShift uint
	keyOffs     []uint32 // KEY_OFFSETS, N+1 entries, non-decreasing, ending at len(keyData)
	keyData     []byte
	records     []byte // RECORDS, N x recordSize
	values      []byte // VALUE_DATA
}

// OpenShard validates a shard file image and returns a Shard that reads from
// it in place.
//
// OpenShard checks everything up front (framing, checksums, the section
// table, and every entry's structure, order, hash and record), so that
// lookups can trust the bytes and never fail; it never panics, loops or
// allocates in proportion to a length field, whatever b holds. Problems are
// reported as a *CorruptError (wrapping ErrCorrupt) with the byte offset, or
// as an error wrapping ErrUnsupported for a file of a newer format.
//
// The Shard keeps b, which must not be modified afterwards. If b is not
// 8-byte aligned, OpenShard works on an aligned copy instead.
func OpenShard(b []byte) (*Shard, error) {
	if !isAligned(b) {
		c := alignedBytes(len(b))
		copy(c, b)
		b = c
	}
	return openShard(b, true)
}

// ReadShardFile reads the shard file at path into a fresh 8-byte-aligned heap
// buffer and opens it with OpenShard. It deliberately does not mmap the file:
// a file truncated or rewritten under a running server must give an error
// at load time, not a SIGBUS on the lookup path.
func ReadShardFile(path string) (*Shard, error) {
	b, err := readFileAligned(path)
	if err != nil {
		return nil, err
	}
	s, err := openShard(b, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// readFileAligned reads a whole file into an 8-byte-aligned buffer.
func readFileAligned(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("shardfmt: %w", err)
	}
	defer f.Close()
	return readAligned(f, path)
}

// readAligned reads the whole of the open file f, named where in errors,
// into an 8-byte-aligned buffer.
func readAligned(f fs.File, where string) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("shardfmt: %w", err)
	}
	size := fi.Size()
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("shardfmt: %s: not a regular file", where)
	}
	// Checked before allocating: the size comes from the file system, and
	// nothing larger can be a valid shard.
	if uint64(size) > maxFileSize || size > int64(maxInt) {
		return nil, fmt.Errorf("%s: %w", where, corruptf(0, "file is %d bytes, larger than the %d-byte limit", size, uint64(MaxFileSize)))
	}
	b := alignedBytes(int(size))
	if _, err := io.ReadFull(f, b); err != nil {
		// The file shrank between Stat and Read: an I/O problem (someone is
		// rewriting it), not corruption of what we have.
		return nil, fmt.Errorf("shardfmt: read %s: %w", where, err)
	}
	return b, nil
}

const maxInt = int(^uint(0) >> 1)

// Index returns the shard's number within its build.
func (s *Shard) Index() int { return s.index }

// Count returns the build's shard count recorded in the shard.
func (s *Shard) Count() int { return s.count }

// Seed returns the hash seed the shard was written with.
func (s *Shard) Seed() uint64 { return s.seed }

// Len returns the number of entries.
func (s *Shard) Len() int { return len(s.fps) }

// Size returns the size of the shard file in bytes.
func (s *Shard) Size() int { return len(s.buf) }

// Sum returns the xxhash64 of the whole shard file: the value an index
// records for it (IndexShard.Hash) and that ShardFileName embeds. OpenShard
// computes it while verifying the file checksum, so it costs nothing.
func (s *Shard) Sum() uint64 { return s.sum }

// Find looks up key, whose hash h must be Hash(s.Seed(), key). It tests the
// Bloom filter's block, finds the fingerprint in its bucket of the bucket
// directory (buildBuckets) and compares key bytes only for entries whose
// fingerprint matches: FORMAT.md §4 ("Lookups") describes each step. It
// allocates nothing, takes no locks and is safe for concurrent use.
func (s *Shard) Find(h uint64, key []byte) (Record, bool) {
	if !s.bloom.mayContain(h) {
		return Record{}, false
	}
	fp := fingerprint(h)
	// Entries with fingerprint fp lie in [lo, hi), a few entries wide:
	// known before any of the shard's arrays is read.
	b := fp >> s.bucketShift
	lo, hi := int(s.buckets[b]), int(s.buckets[b+1])
	if lo == hi {
		return Record{}, false
	}
	// The first candidate's key offset is loaded now, so that its cache
	// miss overlaps the fingerprints' instead of following it (the entry
	// found is almost always within the same cache line of KEY_OFFSETS).
	start := s.keyOffs[lo]
	i := s.search(lo, hi, fp)
	// Equal fingerprints are rare (about Len()/2^32 per lookup) and share
	// a bucket; entries with the same fingerprint are ordered by key, so a
	// linear scan suffices.
	for ; i < hi && s.fps[i] == fp; i++ {
		// The record is decoded before the key is compared, so that the
		// CPU overlaps the two cache misses (RECORDS and KEY_DATA are
		// far apart) instead of taking them one after the other.
		rec := s.record(i)
		if i != lo {
			start = s.keyOffs[i]
		}
		if bytes.Equal(s.keyData[start:s.keyOffs[i+1]], key) {
			return rec, true
		}
	}
	return Record{}, false
}

// FindString is Find for a string key.
func (s *Shard) FindString(h uint64, key string) (Record, bool) {
	return s.Find(h, stringBytes(key))
}

// lowerBound returns the first i with s.fps[i] >= fp, or Len() if none.
func (s *Shard) lowerBound(fp uint32) int {
	b := fp >> s.bucketShift
	return s.search(int(s.buckets[b]), int(s.buckets[b+1]), fp)
}

// search returns the first i in [lo, hi) with s.fps[i] >= fp, or hi
// (FORMAT.md §4, step 4).
func (s *Shard) search(lo, hi int, fp uint32) int {
	fps := s.fps[:hi]
	// A bucket holds 2 to 8 entries on average, one cache line; a
	// crowded one (keys chosen to share their hash's top bits) is
	// binary-searched, so no input makes a lookup linear in Len().
	for hi-lo > 16 {
		mid := int(uint(lo+hi) >> 1)
		if fps[mid] < fp {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	for lo < hi && fps[lo] < fp {
		lo++
	}
	return lo
}

// maxBucketBits bounds the bucket directory: 2^24 buckets (64 MiB) serve
// a shard of 2^26 entries and more.
const maxBucketBits = 24

// buildBuckets builds the bucket directory (FORMAT.md §4, step 3) over the
// validated fingerprints:
// 2^b buckets, b = bits.Len(Len()) - 3 (so 4 to 8 entries per bucket on
// average, 0.5 to 1 byte per entry), where bucket j holds the entries
// whose fingerprint's top b bits are j: entries [buckets[j],
// buckets[j+1]). It lives in memory only (it is not part of the format)
// and takes one pass over FINGERPRINTS. A lookup then finds its entry's
// neighbourhood without reading the shard's arrays, so that the misses
// on FINGERPRINTS and KEY_OFFSETS overlap (Find). It replaces an
// interpolation search whose guesses were off by about sqrt(Len())/2
// entries: several cache lines, walked one after another.
func (s *Shard) buildBuckets() {
	n := len(s.fps)
	nbits := max(0, min(bits.Len(uint(n))-3, maxBucketBits))
	nb := 1 << nbits
	buckets := make([]uint32, nb+1)
	shift := uint(32 - nbits)
	j := 0
	for i, fp := range s.fps {
		for b := int(uint64(fp) >> shift); j <= b; j++ {
			buckets[j] = uint32(i)
		}
	}
	for ; j <= nb; j++ {
		buckets[j] = uint32(n)
	}
	s.buckets, s.bucketShift = buckets, shift
}

// record decodes entry i's record. i must be in range.
func (s *Shard) record(i int) Record {
	r := s.records[recordSize*i : recordSize*i+recordSize]
	le := binary.LittleEndian
	off, n := le.Uint32(r[recDstOffOff:]), le.Uint32(r[recDstLenOff:])
	return Record{
		Dest:    bytesString(s.values[off : uint64(off)+uint64(n)]),
		Status:  le.Uint16(r[recStatusOff:]),
		Flags:   le.Uint16(r[recFlagsOff:]),
		Expires: le.Uint32(r[recExpiresOff:]),
	}
}

// At returns entry i, for i in [0, Len()), in file order (by fingerprint,
// then key). The key, like Record.Dest, points into the shard's bytes. It is
// meant for iteration (export, inspect, tests), not lookups.
func (s *Shard) At(i int) (key string, rec Record) {
	return bytesString(s.keyData[s.keyOffs[i]:s.keyOffs[i+1]]), s.record(i)
}

// section is one decoded section table entry.
type section struct {
	kind     sectionKind
	flags    uint32
	off, len uint64
	sum      uint64
	entry    uint64 // file offset of the table entry, for error messages
}

// openShard validates b and builds a Shard over it. b must be 8-byte
// aligned for inPlace to take effect; with inPlace false (or on a big-endian
// host) the u32 and u64 arrays are decoded into fresh slices instead.
//
// The checks run in a fixed order, each relying only on what was checked
// before it: size, magic, major version, header checksum, header fields,
// trailer and whole-file checksum, section table, section contents.
func openShard(b []byte, inPlace bool) (*Shard, error) {
	le := binary.LittleEndian
	size := uint64(len(b))
	if size < HeaderSize+TrailerSize {
		return nil, corruptf(0, "file is %d bytes, shorter than header and trailer (%d bytes)", size, HeaderSize+TrailerSize)
	}
	if string(b[magicOff:magicOff+magicLen]) != Magic {
		return nil, corruptf(magicOff, "bad magic %q, want %q", b[magicOff:magicOff+magicLen], Magic)
	}
	// The version comes before the header checksum: another major version
	// may lay its header out differently.
	if v := le.Uint16(b[majorOff:]); v != MajorVersion {
		return nil, unsupportedf(majorOff, "major version %d, this reader reads version %d", v, MajorVersion)
	}
	if got, want := le.Uint64(b[headerChecksumOff:]), xxhash.Sum64(b[:headerChecksumOff]); got != want {
		return nil, corruptf(headerChecksumOff, "header checksum %#016x, computed %#016x", got, want)
	}

	// Header fields.
	hdrSize := uint64(le.Uint32(b[headerSizeOff:]))
	if hdrSize < HeaderSize || hdrSize%sectionAlign != 0 {
		return nil, corruptf(headerSizeOff, "header size %d, want a multiple of %d no smaller than %d", hdrSize, sectionAlign, HeaderSize)
	}
	for i := reservedOff; i < reservedOff+reservedLen; i++ {
		if b[i] != 0 {
			return nil, corruptf(uint64(i), "reserved header byte is %#02x, want 0", b[i])
		}
	}
	if f := le.Uint64(b[requiredOff:]) &^ requiredKnown; f != 0 {
		return nil, unsupportedf(requiredOff, "unknown required feature bits %#x", f)
	}
	if fs := le.Uint64(b[fileSizeOff:]); fs != size {
		return nil, corruptf(fileSizeOff, "file size field says %d bytes, file is %d bytes", fs, size)
	}
	if size > maxFileSize {
		return nil, corruptf(fileSizeOff, "file is %d bytes, larger than the %d-byte limit", size, uint64(MaxFileSize))
	}
	count := uint64(le.Uint32(b[shardCountOff:]))
	if count < 1 || count > MaxShardCount {
		return nil, corruptf(shardCountOff, "shard count %d out of range 1..%d", count, MaxShardCount)
	}
	index := uint64(le.Uint32(b[shardIndexOff:]))
	if index >= count {
		return nil, corruptf(shardIndexOff, "shard index %d not below shard count %d", index, count)
	}
	nsec := uint64(le.Uint32(b[sectionCntOff:]))
	if nsec < 1 || nsec > MaxSections {
		return nil, corruptf(sectionCntOff, "section count %d out of range 1..%d", nsec, MaxSections)
	}
	dataEnd := size - TrailerSize // sections live in [tableEnd, dataEnd)
	tableEnd := hdrSize + nsec*SectionEntrySize
	if tableEnd > dataEnd {
		return nil, corruptf(sectionCntOff, "section table (%d entries after a %d-byte header) runs past the data end at %d", nsec, hdrSize, dataEnd)
	}
	// Bounding N by the file size keeps every later N-derived length well
	// inside uint64 and stops a lying count before any section is read.
	n := uint64(le.Uint32(b[entryCountOff:]))
	if n > size/minEntryBytes {
		return nil, corruptf(entryCountOff, "entry count %d too large for a %d-byte file", n, size)
	}

	// Trailer and whole-file checksum. The digest runs on over the trailer
	// to give the whole file's hash (Shard.Sum) without a second pass.
	if string(b[size-TrailerSize+trailerMagicOff:]) != EndMagic {
		return nil, corruptf(size-TrailerSize+trailerMagicOff, "bad end magic %q, want %q (truncated file?)", b[size-TrailerSize+trailerMagicOff:], EndMagic)
	}
	var d xxhash.Digest
	d.Reset()
	d.Write(b[:dataEnd])
	if got, want := le.Uint64(b[dataEnd+trailerChecksumOff:]), d.Sum64(); got != want {
		return nil, corruptf(dataEnd+trailerChecksumOff, "file checksum %#016x, computed %#016x", got, want)
	}
	d.Write(b[dataEnd:])
	sum := d.Sum64()

	// Section table. It is at most MaxSections entries, so it is decoded
	// into a stack array.
	var secs [MaxSections]section
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
			return nil, corruptf(e+secFlagsOff, "section %d (%v): unknown flag bits %#x", i, s.kind, f)
		}
		// Written as two comparisons so that off+len cannot wrap.
		if s.off > dataEnd || s.len > dataEnd-s.off {
			return nil, corruptf(e+secOffsetOff, "section %d (%v): offset %d length %d out of bounds (data ends at %d)", i, s.kind, s.off, s.len, dataEnd)
		}
		if s.off < tableEnd {
			return nil, corruptf(e+secOffsetOff, "section %d (%v): offset %d inside the header or section table (ends at %d)", i, s.kind, s.off, tableEnd)
		}
		if s.off%sectionAlign != 0 {
			return nil, corruptf(e+secOffsetOff, "section %d (%v): offset %d not %d-byte aligned", i, s.kind, s.off, sectionAlign)
		}
		secs[i] = s
	}
	// Overlap: sort a copy by offset (insertion sort, at most 16 entries)
	// and compare neighbours.
	byOff := secs
	sorted := byOff[:nsec]
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j].off < sorted[j-1].off; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	for i := 1; i < len(sorted); i++ {
		p, q := &sorted[i-1], &sorted[i]
		if q.off < p.off+p.len {
			return nil, corruptf(q.entry+secOffsetOff, "sections %v [%d, %d) and %v [%d, %d) overlap", p.kind, p.off, p.off+p.len, q.kind, q.off, q.off+q.len)
		}
	}
	var byKind [numKinds + 1]*section
	for i := range secs[:nsec] {
		s := &secs[i]
		if s.kind < 1 || s.kind > numKinds {
			if s.flags&secFlagOptional != 0 {
				continue // an optional section from a newer minor version
			}
			return nil, unsupportedf(s.entry+secKindOff, "section %d: unknown required section kind %d", i, uint32(s.kind))
		}
		if byKind[s.kind] != nil {
			return nil, corruptf(s.entry+secKindOff, "section %d: second %v section", i, s.kind)
		}
		if c := (s.flags & secCodecMask) >> secCodecShift; c != 0 {
			return nil, unsupportedf(s.entry+secFlagsOff, "section %d (%v): unknown codec %d", i, s.kind, c)
		}
		byKind[s.kind] = s
	}
	for k := sectionKind(1); k <= numKinds; k++ {
		if byKind[k] == nil {
			return nil, corruptf(hdrSize, "no %v section", k)
		}
	}
	for i := range secs[:nsec] {
		s := &secs[i]
		if got := xxhash.Sum64(b[s.off : s.off+s.len]); got != s.sum {
			return nil, corruptf(s.entry+secChecksumOff, "section %d (%v) checksum %#016x, computed %#016x", i, s.kind, s.sum, got)
		}
	}

	sh := &Shard{
		buf:   b,
		index: int(index),
		count: int(count),
		seed:  le.Uint64(b[seedOff:]),
		sum:   sum,
	}
	if err := sh.openBloom(b, byKind[kindBloom], inPlace); err != nil {
		return nil, err
	}
	if err := sh.openEntries(b, n, &byKind, inPlace); err != nil {
		return nil, err
	}
	return sh, nil
}

// openBloom validates the BLOOM section and wraps its words. A hostile m or k
// must never reach the lookup's bit test, nor bloom/v3 in the tests, which
// validates neither: m == 0 divides by zero,
// a huge k loops for ages, a short word slice panics.
func (sh *Shard) openBloom(b []byte, s *section, inPlace bool) error {
	le := binary.LittleEndian
	if s.len < bloomHeaderLen {
		return corruptf(s.off, "BLOOM section is %d bytes, shorter than its %d-byte header", s.len, bloomHeaderLen)
	}
	sec := b[s.off : s.off+s.len]
	m := le.Uint64(sec[bloomMOff:])
	k := le.Uint32(sec[bloomKOff:])
	if r := le.Uint32(sec[bloomResOff:]); r != 0 {
		return corruptf(s.off+bloomResOff, "BLOOM reserved field is %#x, want 0", r)
	}
	if k < 1 || k > MaxBloomK {
		return corruptf(s.off+bloomKOff, "Bloom k %d out of range 1..%d", k, MaxBloomK)
	}
	if m == 0 || m%BloomBlockBits != 0 {
		return corruptf(s.off+bloomMOff, "Bloom m %d is not a positive multiple of %d", m, BloomBlockBits)
	}
	words := sec[bloomWordsOff:]
	if uint64(len(words))%8 != 0 || m/64 != uint64(len(words))/8 {
		return corruptf(s.off+bloomMOff, "Bloom m %d bits does not match the section's %d bytes of words", m, len(words))
	}
	w, ok := u64sInPlace(words)
	if !ok || !inPlace {
		w = make([]uint64, len(words)/8)
		for i := range w {
			w[i] = le.Uint64(words[8*i:])
		}
	}
	sh.bloom = bloomFilter{
		words:  w,
		blocks: m / BloomBlockBits,
		k:      k,
	}
	return nil
}

// openEntries validates the entry sections: their lengths against N, the key
// offsets, every key's fingerprint, shard, order and Bloom bits, and every
// record. It is O(N + bytes) and allocates nothing when in place.
func (sh *Shard) openEntries(b []byte, n uint64, byKind *[numKinds + 1]*section, inPlace bool) error {
	le := binary.LittleEndian
	fpSec, koSec, kdSec, recSec, vdSec := byKind[kindFingerprints], byKind[kindKeyOffsets], byKind[kindKeyData], byKind[kindRecords], byKind[kindValueData]
	// n <= size/minEntryBytes, so none of these products can wrap.
	if fpSec.len != 4*n {
		return corruptf(fpSec.entry+secLengthOff, "FINGERPRINTS section is %d bytes, want %d for %d entries", fpSec.len, 4*n, n)
	}
	if koSec.len != 4*(n+1) {
		return corruptf(koSec.entry+secLengthOff, "KEY_OFFSETS section is %d bytes, want %d for %d entries", koSec.len, 4*(n+1), n)
	}
	if recSec.len != recordSize*n {
		return corruptf(recSec.entry+secLengthOff, "RECORDS section is %d bytes, want %d for %d entries", recSec.len, recordSize*n, n)
	}
	fps := u32s(b[fpSec.off:fpSec.off+fpSec.len], inPlace)
	kos := u32s(b[koSec.off:koSec.off+koSec.len], inPlace)
	kd := b[kdSec.off : kdSec.off+kdSec.len]
	recs := b[recSec.off : recSec.off+recSec.len]
	vd := b[vdSec.off : vdSec.off+vdSec.len]

	// Key offsets: start at 0, never decrease, end at len(KEY_DATA). After
	// this loop every kd[kos[i]:kos[i+1]] is in bounds.
	if kos[0] != 0 {
		return corruptf(koSec.off, "first key offset is %d, want 0", kos[0])
	}
	for i := uint64(1); i <= n; i++ {
		lo, hi := kos[i-1], kos[i]
		if hi < lo {
			return corruptf(koSec.off+4*i, "key offset %d (%d) is below key offset %d (%d)", i, hi, i-1, lo)
		}
		if hi-lo > MaxKeyLen {
			return corruptf(koSec.off+4*i, "key %d is %d bytes, longer than %d", i-1, hi-lo, MaxKeyLen)
		}
	}
	if uint64(kos[n]) != kdSec.len {
		return corruptf(koSec.off+4*n, "last key offset is %d, KEY_DATA is %d bytes", kos[n], kdSec.len)
	}

	// Keys: each fingerprint is the key's, each key belongs here, entries
	// strictly increase by (fingerprint, key), and the Bloom filter holds
	// every key (so Find can never miss a key that At returns).
	var prev []byte
	for i := uint64(0); i < n; i++ {
		key := kd[kos[i]:kos[i+1]]
		h := Hash(sh.seed, key)
		if fp := fingerprint(h); fps[i] != fp {
			return corruptf(fpSec.off+4*i, "entry %d: fingerprint %#08x, key hashes to %#08x", i, fps[i], fp)
		}
		if s := ShardOf(h, sh.count); s != sh.index {
			return corruptf(kdSec.off+uint64(kos[i]), "entry %d: key belongs to shard %d, not shard %d", i, s, sh.index)
		}
		if i > 0 && (fps[i] < fps[i-1] || fps[i] == fps[i-1] && bytes.Compare(prev, key) >= 0) {
			return corruptf(fpSec.off+4*i, "entry %d: not after entry %d in (fingerprint, key) order", i, i-1)
		}
		if !sh.bloom.mayContain(h) {
			return corruptf(byKind[kindBloom].off, "entry %d: key missing from the Bloom filter", i)
		}
		prev = key
	}

	// Records: destinations in bounds and safe to send, known statuses and
	// flags. Control bytes are looked for once over the whole VALUE_DATA;
	// only if there is one are the destinations scanned one by one (to name
	// the entry).
	valueCtl := hasControlByte(vd)
	for i := uint64(0); i < n; i++ {
		r := recs[recordSize*i : recordSize*i+recordSize]
		ro := recSec.off + recordSize*i
		off, ln := uint64(le.Uint32(r[recDstOffOff:])), uint64(le.Uint32(r[recDstLenOff:]))
		if off > vdSec.len || ln > vdSec.len-off {
			return corruptf(ro+recDstOffOff, "entry %d: destination [%d, +%d) outside VALUE_DATA (%d bytes)", i, off, ln, vdSec.len)
		}
		if ln > MaxDestLen {
			return corruptf(ro+recDstLenOff, "entry %d: destination is %d bytes, longer than %d", i, ln, MaxDestLen)
		}
		status := le.Uint16(r[recStatusOff:])
		if !validStatus(status) {
			return corruptf(ro+recStatusOff, "entry %d: status %d not allowed", i, status)
		}
		if ln == 0 && status != 410 {
			return corruptf(ro+recDstLenOff, "entry %d: empty destination with status %d", i, status)
		}
		if ln > 0 {
			check := destProblem
			if !valueCtl {
				check = destPrefixProblem
			}
			if at, p := check(bytesString(vd[off : off+ln])); p != "" {
				return corruptf(vdSec.off+off+uint64(at), "entry %d: destination %s %s", i, quoteKey(bytesString(vd[off:off+ln])), p)
			}
		}
		if f := le.Uint16(r[recFlagsOff:]) &^ flagsKnown; f != 0 {
			return corruptf(ro+recFlagsOff, "entry %d: unknown flag bits %#x", i, f)
		}
	}

	sh.fps, sh.keyOffs, sh.keyData, sh.records, sh.values = fps, kos, kd, recs, vd
	sh.buildBuckets()
	return nil
}

// u32s returns b as little-endian u32s, in place when possible.
func u32s(b []byte, inPlace bool) []uint32 {
	if inPlace {
		if v, ok := u32sInPlace(b); ok {
			return v
		}
	}
	v := make([]uint32, len(b)/4)
	for i := range v {
		v[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return v
}
