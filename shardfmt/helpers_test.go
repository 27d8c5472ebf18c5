package shardfmt

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
)

var seedFlag = flag.Uint64("seed", 0, "seed for randomized tests (0 picks one from the clock)")

// newRand returns a seeded generator and logs the seed, so that a failure
// can be replayed with -seed.
func newRand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("random seed %d (replay with -seed=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// randKey returns a random path-like key; every 16th key holds raw bytes
// including \x00 and \xff.
func randKey(r *rand.Rand) string {
	if r.IntN(16) == 0 {
		b := make([]byte, 1+r.IntN(24))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		b[r.IntN(len(b))] = 0x00
		b[r.IntN(len(b))] = 0xff
		return string(b)
	}
	return fmt.Sprintf("/%s/%d/%x", []string{"docs", "blog", "a", "products/shoes"}[r.IntN(4)], r.IntN(1e6), r.Uint32())
}

var statuses = []uint16{301, 302, 303, 307, 308, 410}

// randEntry returns an entry for key with a random record.
func randEntry(r *rand.Rand, key string) Entry {
	e := Entry{Key: key, Status: statuses[r.IntN(len(statuses))]}
	switch {
	case e.Status == 410 && r.IntN(2) == 0:
		// empty destination
	case r.IntN(4) == 0:
		// A shared destination, to exercise de-duplication.
		e.Dest = fmt.Sprintf("https://example.com/shared/%d", r.IntN(8))
	default:
		e.Dest = fmt.Sprintf("https://example.com/new/%x?x=%d", r.Uint64(), r.IntN(100))
	}
	e.Flags = uint16(r.IntN(4))
	if r.IntN(4) == 0 {
		e.Expires = r.Uint32()
	}
	return e
}

// bucket splits entries over count shards by key hash.
func bucket(entries []Entry, seed uint64, count int) [][]Entry {
	out := make([][]Entry, count)
	for _, e := range entries {
		s := ShardOf(HashString(seed, e.Key), count)
		out[s] = append(out[s], e)
	}
	return out
}

// randEntries returns n entries with unique random keys.
func randEntries(r *rand.Rand, n int) []Entry {
	seen := make(map[string]bool, n)
	out := make([]Entry, 0, n)
	for len(out) < n {
		k := randKey(r)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, randEntry(r, k))
	}
	return out
}

// encodeBuild encodes entries as a build of count shards and returns the
// file images.
func encodeBuild(t testing.TB, entries []Entry, seed uint64, count int) [][]byte {
	t.Helper()
	var files [][]byte
	for i, es := range bucket(entries, seed, count) {
		b, err := EncodeShard(es, ShardOptions{Index: i, Count: count, Seed: seed})
		if err != nil {
			t.Fatalf("EncodeShard(shard %d): %v", i, err)
		}
		files = append(files, b)
	}
	return files
}

func mustOpen(t testing.TB, b []byte) *Shard {
	t.Helper()
	s, err := OpenShard(b)
	if err != nil {
		t.Fatalf("OpenShard: %v", err)
	}
	return s
}

// Field access for hand-patching test files.

func le16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func le64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

func put16(b []byte, off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }
func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func put64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }

// secInfo locates section kind k through the section table of a well-formed
// file: the offset of its table entry, of its data and its length.
func secInfo(t testing.TB, b []byte, k sectionKind) (entry, off, n int) {
	t.Helper()
	hs := int(le32(b, headerSizeOff))
	for i := 0; i < int(le32(b, sectionCntOff)); i++ {
		e := hs + SectionEntrySize*i
		if sectionKind(le32(b, e+secKindOff)) == k {
			return e, int(le64(b, e+secOffsetOff)), int(le64(b, e+secLengthOff))
		}
	}
	t.Fatalf("no %v section", k)
	return 0, 0, 0
}

// reseal recomputes every checksum of a (patched) shard image so that
// validation gets past the checksums to the structural checks: the checksum
// of every section whose table entry is in bounds, the header checksum and the
// whole-file checksum. It works on whatever the header says, however hostile.
func reseal(b []byte) []byte {
	size := uint64(len(b))
	if size < HeaderSize+TrailerSize {
		return b
	}
	hs := uint64(le32(b, headerSizeOff))
	ns := uint64(le32(b, sectionCntOff))
	for i := uint64(0); i < ns && i < 64; i++ {
		e := hs + SectionEntrySize*i
		if e > size-SectionEntrySize {
			break
		}
		off, n := le64(b, int(e+secOffsetOff)), le64(b, int(e+secLengthOff))
		if off <= size && n <= size-off {
			put64(b, int(e+secChecksumOff), xxhash.Sum64(b[off:off+n]))
		}
	}
	put64(b, headerChecksumOff, xxhash.Sum64(b[:headerChecksumOff]))
	put64(b, int(size-TrailerSize+trailerChecksumOff), xxhash.Sum64(b[:size-TrailerSize]))
	return b
}

// clone returns a copy of b.
func clone(b []byte) []byte { return append([]byte(nil), b...) }

func xxhashSum(b []byte) uint64 { return xxhash.Sum64(b) }
