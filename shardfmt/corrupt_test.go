package shardfmt

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// TestTruncated opens every prefix of every golden shard: each must fail
// with ErrCorrupt, never panic and never succeed.
func TestTruncated(t *testing.T) {
	for name, b := range goldenShards(t) {
		for n := range len(b) {
			s, err := OpenShard(b[:n])
			if err == nil {
				t.Fatalf("%s truncated to %d bytes: opened (%d entries)", name, n, s.Len())
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s truncated to %d bytes: %v does not wrap ErrCorrupt", name, n, err)
			}
		}
		// Bytes appended are damage too.
		if _, err := OpenShard(append(clone(b), 0)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s plus one byte: %v, want ErrCorrupt", name, err)
		}
	}
}

// TestBitFlips flips every bit of small golden shards, one at a time. Every
// flip must be caught: flips in the major version field are reported as
// ErrUnsupported (the version is read before the header checksum, because
// another major version may lay its header out differently), every other
// flip as ErrCorrupt.
func TestBitFlips(t *testing.T) {
	shards := goldenShards(t)
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range shards {
			if !yield(k) {
				return
			}
		}
	})
	if testing.Short() {
		names = names[:1]
	}
	for _, name := range names {
		orig := shards[name]
		b := clone(orig)
		for bit := range 8 * len(b) {
			b[bit/8] ^= 1 << (bit % 8)
			s, err := OpenShard(b)
			switch {
			case err == nil:
				t.Fatalf("%s with bit %d flipped: opened (%d entries)", name, bit, s.Len())
			case bit/8 >= majorOff && bit/8 < majorOff+2:
				if !errors.Is(err, ErrUnsupported) {
					t.Fatalf("%s with bit %d flipped: %v, want ErrUnsupported", name, bit, err)
				}
			case !errors.Is(err, ErrCorrupt):
				t.Fatalf("%s with bit %d flipped: %v does not wrap ErrCorrupt", name, bit, err)
			}
			b[bit/8] ^= 1 << (bit % 8)
		}
	}
}

// hostileBase returns a small valid shard with fixed-length keys (so that
// entries can be swapped in place): shard 0 of 2, seed 0x5eed, 6 entries.
func hostileBase(t *testing.T) []byte {
	t.Helper()
	var entries []Entry
	for i := 0; len(entries) < 6; i++ {
		k := fmt.Sprintf("/k/%04d", i)
		if ShardOf(HashString(0x5eed, k), 2) != 0 {
			continue
		}
		e := Entry{Key: k, Dest: fmt.Sprintf("/dest/%d", len(entries)), Status: 301, Flags: FlagQuery}
		if len(entries) == 5 {
			e = Entry{Key: k, Status: 410}
		}
		entries = append(entries, e)
	}
	b, err := EncodeShard(entries, ShardOptions{Index: 0, Count: 2, Seed: 0x5eed})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHostile patches one field of a valid shard at a time and, unless the
// case says otherwise, recomputes every checksum, so that validation gets
// past them to the check under test. Each case asserts the exact message.
func TestHostile(t *testing.T) {
	base := hostileBase(t)
	size := len(base)
	n := int(le32(base, entryCountOff))
	tableEnd := HeaderSize + numKinds*SectionEntrySize
	blE, blOff, blLen := secInfo(t, base, kindBloom)
	fpE, fpOff, _ := secInfo(t, base, kindFingerprints)
	koE, koOff, _ := secInfo(t, base, kindKeyOffsets)
	kdE, kdOff, kdLen := secInfo(t, base, kindKeyData)
	recE, recOff, _ := secInfo(t, base, kindRecords)
	vdE, vdOff, vdLen := secInfo(t, base, kindValueData)
	const keyLen = 7 // "/k/0000"
	_ = blE

	corrupt := func(off int, msg string, args ...any) string {
		return fmt.Sprintf("shardfmt: corrupt shard at byte %#x: %s", off, fmt.Sprintf(msg, args...))
	}
	unsupported := func(off int, msg string, args ...any) string {
		return fmt.Sprintf("shardfmt: unsupported shard format at byte %#x: %s", off, fmt.Sprintf(msg, args...))
	}
	// onlyFile recomputes the whole-file checksum and nothing else.
	onlyFile := func(b []byte) {
		put64(b, len(b)-TrailerSize, xxhashSum(b[:len(b)-TrailerSize]))
	}

	for _, tc := range []struct {
		name  string
		patch func(b []byte)
		seal  func(b []byte) // default: reseal
		want  string         // "" means the file must open
	}{
		// Header.
		{"OK", func(b []byte) {}, nil, ""},
		{"BadMagic", func(b []byte) { b[1] = 'r' }, nil, corrupt(0, `bad magic "\x89rDX\r\n\x1a\n", want "\x89RDX\r\n\x1a\n"`)},
		{"MajorVersion2", func(b []byte) { put16(b, majorOff, 2) }, nil, unsupported(majorOff, "major version 2, this reader reads version 1")},
		{"MajorVersion0", func(b []byte) { put16(b, majorOff, 0) }, nil, unsupported(majorOff, "major version 0, this reader reads version 1")},
		{"MinorVersionHigher", func(b []byte) { put16(b, minorOff, 7) }, nil, ""},
		{"HeaderChecksum", func(b []byte) { b[reservedOff] = 1 }, onlyFile,
			corrupt(headerChecksumOff, "header checksum %#016x, computed %#016x", le64(base, headerChecksumOff), headerSum(base, reservedOff, 1))},
		{"HeaderSizeSmall", func(b []byte) { put32(b, headerSizeOff, 64) }, nil, corrupt(headerSizeOff, "header size 64, want a multiple of 8 no smaller than 128")},
		{"HeaderSizeOdd", func(b []byte) { put32(b, headerSizeOff, 132) }, nil, corrupt(headerSizeOff, "header size 132, want a multiple of 8 no smaller than 128")},
		{"HeaderSizeHuge", func(b []byte) { put32(b, headerSizeOff, 1<<31) }, nil,
			corrupt(sectionCntOff, "section table (6 entries after a 2147483648-byte header) runs past the data end at %d", size-TrailerSize)},
		{"ReservedHeaderByte", func(b []byte) { b[reservedOff+5] = 0x80 }, nil, corrupt(reservedOff+5, "reserved header byte is 0x80, want 0")},
		{"UnknownRequiredFeature", func(b []byte) { put64(b, requiredOff, 1<<9) }, nil, unsupported(requiredOff, "unknown required feature bits 0x200")},
		{"UnknownOptionalFeature", func(b []byte) { put64(b, optionalOff, 1<<63|1) }, nil, ""},
		{"FileSizeField", func(b []byte) { put64(b, fileSizeOff, uint64(size)+8) }, nil,
			corrupt(fileSizeOff, "file size field says %d bytes, file is %d bytes", size+8, size)},
		{"ShardCount0", func(b []byte) { put32(b, shardCountOff, 0) }, nil, corrupt(shardCountOff, "shard count 0 out of range 1..1048576")},
		{"ShardCountHuge", func(b []byte) { put32(b, shardCountOff, math.MaxUint32) }, nil, corrupt(shardCountOff, "shard count 4294967295 out of range 1..1048576")},
		{"ShardIndexPastCount", func(b []byte) { put32(b, shardIndexOff, 2) }, nil, corrupt(shardIndexOff, "shard index 2 not below shard count 2")},
		{"SectionCount0", func(b []byte) { put32(b, sectionCntOff, 0) }, nil, corrupt(sectionCntOff, "section count 0 out of range 1..16")},
		{"SectionCount17", func(b []byte) { put32(b, sectionCntOff, 17) }, nil, corrupt(sectionCntOff, "section count 17 out of range 1..16")},
		{"SectionCount5", func(b []byte) { put32(b, sectionCntOff, 5) }, nil, corrupt(HeaderSize, "no VALUE_DATA section")},
		{"HugeN", func(b []byte) { put32(b, entryCountOff, math.MaxUint32) }, nil,
			corrupt(entryCountOff, "entry count 4294967295 too large for a %d-byte file", size)},
		{"NPlusOne", func(b []byte) { put32(b, entryCountOff, uint32(n+1)) }, nil,
			corrupt(fpE+secLengthOff, "FINGERPRINTS section is %d bytes, want %d for %d entries", 4*n, 4*(n+1), n+1)},
		{"NMinusOne", func(b []byte) { put32(b, entryCountOff, uint32(n-1)) }, nil,
			corrupt(fpE+secLengthOff, "FINGERPRINTS section is %d bytes, want %d for %d entries", 4*n, 4*(n-1), n-1)},

		// Trailer.
		{"EndMagic", func(b []byte) { b[size-1] = 2 }, nil, corrupt(size-8, `bad end magic "RDXEND\x00\x02", want "RDXEND\x00\x01" (truncated file?)`)},
		{"FileChecksum", func(b []byte) { b[vdOff] ^= 1 }, func(b []byte) {}, corrupt(size-TrailerSize, "file checksum %#016x, computed %#016x",
			le64(base, size-TrailerSize), xxhashSum(flipped(base, vdOff)[:size-TrailerSize]))},

		// Section table.
		{"SectionChecksum", func(b []byte) { b[vdOff] ^= 1 }, onlyFile, corrupt(vdE+secChecksumOff, "section 5 (VALUE_DATA) checksum %#016x, computed %#016x",
			le64(base, vdE+secChecksumOff), xxhashSum(flipped(base, vdOff)[vdOff:vdOff+vdLen]))},
		{"OffsetPastEnd", func(b []byte) { put64(b, kdE+secOffsetOff, uint64(size)) }, nil,
			corrupt(kdE+secOffsetOff, "section 3 (KEY_DATA): offset %d length %d out of bounds (data ends at %d)", size, kdLen, size-TrailerSize)},
		{"LengthPastEnd", func(b []byte) { put64(b, vdE+secLengthOff, uint64(size)) }, nil,
			corrupt(vdE+secOffsetOff, "section 5 (VALUE_DATA): offset %d length %d out of bounds (data ends at %d)", vdOff, size, size-TrailerSize)},
		{"OffsetLengthWrap", func(b []byte) { put64(b, kdE+secLengthOff, math.MaxUint64-uint64(kdOff)+1) }, nil,
			corrupt(kdE+secOffsetOff, "section 3 (KEY_DATA): offset %d length %d out of bounds (data ends at %d)", kdOff, uint64(math.MaxUint64-uint64(kdOff)+1), size-TrailerSize)},
		{"OffsetInsideTable", func(b []byte) { put64(b, blE+secOffsetOff, HeaderSize) }, nil,
			corrupt(blE+secOffsetOff, "section 0 (BLOOM): offset %d inside the header or section table (ends at %d)", HeaderSize, tableEnd)},
		{"Misaligned", func(b []byte) { put64(b, kdE+secOffsetOff, uint64(kdOff+1)) }, nil,
			corrupt(kdE+secOffsetOff, "section 3 (KEY_DATA): offset %d not 8-byte aligned", kdOff+1)},
		{"Overlap", func(b []byte) { put64(b, koE+secOffsetOff, uint64(fpOff)) }, nil,
			corrupt(koE+secOffsetOff, "sections FINGERPRINTS [%d, %d) and KEY_OFFSETS [%d, %d) overlap", fpOff, fpOff+4*n, fpOff, fpOff+4*(n+1))},
		{"UnknownSectionFlags", func(b []byte) { put32(b, recE+secFlagsOff, 1<<20) }, nil,
			corrupt(recE+secFlagsOff, "section 4 (RECORDS): unknown flag bits 0x100000")},
		{"UnknownCodec", func(b []byte) { put32(b, recE+secFlagsOff, 3<<secCodecShift) }, nil,
			unsupported(recE+secFlagsOff, "section 4 (RECORDS): unknown codec 3")},
		{"DuplicateKind", func(b []byte) { put32(b, recE+secKindOff, uint32(kindKeyData)) }, nil,
			corrupt(recE+secKindOff, "section 4: second KEY_DATA section")},
		{"UnknownRequiredKind", func(b []byte) { put32(b, vdE+secKindOff, 99) }, nil,
			unsupported(vdE+secKindOff, "section 5: unknown required section kind 99")},
		{"UnknownOptionalKindLeavesGap", func(b []byte) {
			put32(b, vdE+secKindOff, 99)
			put32(b, vdE+secFlagsOff, secFlagOptional)
		}, nil, corrupt(HeaderSize, "no VALUE_DATA section")},

		// BLOOM.
		{"BloomK0", func(b []byte) { put32(b, blOff+bloomKOff, 0) }, nil, corrupt(blOff+bloomKOff, "Bloom k 0 out of range 1..16")},
		{"BloomK17", func(b []byte) { put32(b, blOff+bloomKOff, 17) }, nil, corrupt(blOff+bloomKOff, "Bloom k 17 out of range 1..16")},
		{"BloomK1000", func(b []byte) { put32(b, blOff+bloomKOff, 1000) }, nil, corrupt(blOff+bloomKOff, "Bloom k 1000 out of range 1..16")},
		{"BloomM0", func(b []byte) { put64(b, blOff+bloomMOff, 0) }, nil, corrupt(blOff+bloomMOff, "Bloom m 0 is not a positive multiple of 512")},
		{"BloomMOdd", func(b []byte) { put64(b, blOff+bloomMOff, 1000) }, nil, corrupt(blOff+bloomMOff, "Bloom m 1000 is not a positive multiple of 512")},
		{"BloomMHuge", func(b []byte) { put64(b, blOff+bloomMOff, 1<<62) }, nil,
			corrupt(blOff+bloomMOff, "Bloom m %d bits does not match the section's %d bytes of words", uint64(1<<62), blLen-bloomHeaderLen)},
		{"BloomMMax", func(b []byte) { put64(b, blOff+bloomMOff, math.MaxUint64&^511) }, nil,
			corrupt(blOff+bloomMOff, "Bloom m %d bits does not match the section's %d bytes of words", uint64(math.MaxUint64&^511), blLen-bloomHeaderLen)},
		{"BloomMTwice", func(b []byte) { put64(b, blOff+bloomMOff, 2*le64(base, blOff+bloomMOff)) }, nil,
			corrupt(blOff+bloomMOff, "Bloom m %d bits does not match the section's %d bytes of words", 2*le64(base, blOff+bloomMOff), blLen-bloomHeaderLen)},
		{"BloomReserved", func(b []byte) { put32(b, blOff+bloomResOff, 1) }, nil, corrupt(blOff+bloomResOff, "BLOOM reserved field is 0x1, want 0")},
		{"BloomShort", func(b []byte) { put64(b, blE+secLengthOff, 8) }, nil, corrupt(blOff, "BLOOM section is 8 bytes, shorter than its 16-byte header")},
		{"BloomEmpty", func(b []byte) {
			for i := blOff + bloomWordsOff; i < blOff+blLen; i++ {
				b[i] = 0
			}
		}, nil, corrupt(blOff, "entry 0: key missing from the Bloom filter")},

		// Keys.
		{"KeyOffsetFirst", func(b []byte) { put32(b, koOff, 1) }, nil, corrupt(koOff, "first key offset is 1, want 0")},
		{"KeyOffsetsNonMonotonic", func(b []byte) { put32(b, koOff+8, keyLen-1) }, nil,
			corrupt(koOff+8, "key offset 2 (%d) is below key offset 1 (%d)", keyLen-1, keyLen)},
		{"KeyOffsetLast", func(b []byte) { put32(b, koOff+4*n, uint32(kdLen-1)) }, nil,
			corrupt(koOff+4*n, "last key offset is %d, KEY_DATA is %d bytes", kdLen-1, kdLen)},
		{"KeyOffsetHuge", func(b []byte) { put32(b, koOff+4*n, math.MaxUint32) }, nil,
			corrupt(koOff+4*n, "key %d is %d bytes, longer than 65536", n-1, uint64(math.MaxUint32)-uint64((n-1)*keyLen))},
		{"FingerprintMismatch", func(b []byte) { b[fpOff] ^= 1 }, nil,
			corrupt(fpOff, "entry 0: fingerprint %#08x, key hashes to %#08x", le32(base, fpOff)^1, le32(base, fpOff))},
		{"UnsortedKeys", func(b []byte) { swapEntries(b, 0, 1, fpOff, kdOff, recOff, keyLen) }, nil,
			corrupt(fpOff+4, "entry 1: not after entry 0 in (fingerprint, key) order")},
		{"DuplicateKey", func(b []byte) {
			copy(b[fpOff+4:fpOff+8], b[fpOff:fpOff+4])
			copy(b[kdOff+keyLen:kdOff+2*keyLen], b[kdOff:kdOff+keyLen])
		}, nil, corrupt(fpOff+4, "entry 1: not after entry 0 in (fingerprint, key) order")},
		{"WrongShardIndex", func(b []byte) { put32(b, shardIndexOff, 1) }, nil, corrupt(kdOff, "entry 0: key belongs to shard 0, not shard 1")},
		{"WrongShardCount", func(b []byte) { put32(b, shardCountOff, 1000) }, nil,
			corrupt(kdOff, "entry 0: key belongs to shard %d, not shard 0", ShardOf(HashString(0x5eed, string(base[kdOff:kdOff+keyLen])), 1000))},
		{"WrongSeed", func(b []byte) { put64(b, seedOff, 0x5eee) }, nil,
			corrupt(fpOff, "entry 0: fingerprint %#08x, key hashes to %#08x", le32(base, fpOff), uint32(HashString(0x5eee, string(base[kdOff:kdOff+keyLen]))))},

		// Records.
		{"BadStatus", func(b []byte) { put16(b, recOff+recStatusOff, 200) }, nil, corrupt(recOff+recStatusOff, "entry 0: status 200 not allowed")},
		{"Status0", func(b []byte) { put16(b, recOff+recordSize+recStatusOff, 0) }, nil, corrupt(recOff+recordSize+recStatusOff, "entry 1: status 0 not allowed")},
		{"BadFlags", func(b []byte) { put16(b, recOff+recFlagsOff, 0x8001) }, nil, corrupt(recOff+recFlagsOff, "entry 0: unknown flag bits 0x8000")},
		{"DestPastEnd", func(b []byte) {
			put32(b, recOff+recDstOffOff, uint32(vdLen))
			put32(b, recOff+recDstLenOff, 1)
		}, nil, corrupt(recOff+recDstOffOff, "entry 0: destination [%d, +1) outside VALUE_DATA (%d bytes)", vdLen, vdLen)},
		{"DestWrap", func(b []byte) {
			put32(b, recOff+recDstOffOff, math.MaxUint32)
			put32(b, recOff+recDstLenOff, math.MaxUint32)
		}, nil, corrupt(recOff+recDstOffOff, "entry 0: destination [4294967295, +4294967295) outside VALUE_DATA (%d bytes)", vdLen)},
		{"EmptyDestNot410", func(b []byte) { put32(b, recOff+recDstLenOff, 0) }, nil, corrupt(recOff+recDstLenOff, "entry 0: empty destination with status 301")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := clone(base)
			tc.patch(b)
			if tc.seal == nil {
				reseal(b)
			} else {
				tc.seal(b)
			}
			s, err := OpenShard(b)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("OpenShard: %v, want success", err)
				}
				if s.Len() != n {
					t.Fatalf("Len() = %d, want %d", s.Len(), n)
				}
				return
			}
			if err == nil {
				t.Fatalf("OpenShard succeeded, want %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error %q\nwant  %q", err, tc.want)
			}
			isUnsupported := strings.HasPrefix(tc.want, "shardfmt: unsupported")
			if errors.Is(err, ErrUnsupported) != isUnsupported || errors.Is(err, ErrCorrupt) == isUnsupported {
				t.Errorf("error %v: Is(ErrCorrupt)=%v Is(ErrUnsupported)=%v", err, errors.Is(err, ErrCorrupt), errors.Is(err, ErrUnsupported))
			}
			var ce *CorruptError
			if !isUnsupported && (!errors.As(err, &ce) || ce.Off < 0 || ce.Off >= int64(len(b))) {
				t.Errorf("error %v is not a *CorruptError with an offset inside the file", err)
			}
		})
	}
}

// swapEntries swaps entries i and j of a shard with fixed-length keys:
// fingerprints, key bytes and records.
func swapEntries(b []byte, i, j, fpOff, kdOff, recOff, keyLen int) {
	swap := func(off, n int) {
		x, y := b[off+i*n:off+(i+1)*n], b[off+j*n:off+(j+1)*n]
		tmp := clone(x)
		copy(x, y)
		copy(y, tmp)
	}
	swap(fpOff, 4)
	swap(kdOff, keyLen)
	swap(recOff, recordSize)
}

func flipped(b []byte, off int) []byte {
	c := clone(b)
	c[off] ^= 1
	return c
}

// headerSum is the header checksum of b with byte off set to v.
func headerSum(b []byte, off int, v byte) uint64 {
	c := clone(b[:headerChecksumOff])
	c[off] = v
	return xxhashSum(c)
}

// TestCorruptError checks the error's form.
func TestCorruptError(t *testing.T) {
	err := error(&CorruptError{Off: 0x1f, Msg: "bad thing"})
	if got, want := err.Error(), "shardfmt: corrupt shard at byte 0x1f: bad thing"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrUnsupported) {
		t.Error("CorruptError must match ErrCorrupt and only it")
	}
	wrapped := fmt.Errorf("loading: %w", err)
	var ce *CorruptError
	if !errors.As(wrapped, &ce) || ce.Off != 0x1f {
		t.Error("errors.As through a wrap failed")
	}
}

// rawSection is a section to lay out with relayout.
type rawSection struct {
	kind, flags uint32
	data        []byte
}

// sections returns the sections of a well-formed file in table order.
func sections(b []byte) []rawSection {
	hs := int(le32(b, headerSizeOff))
	var out []rawSection
	for i := 0; i < int(le32(b, sectionCntOff)); i++ {
		e := hs + SectionEntrySize*i
		off, n := le64(b, e+secOffsetOff), le64(b, e+secLengthOff)
		out = append(out, rawSection{le32(b, e+secKindOff), le32(b, e+secFlagsOff), b[off : off+n]})
	}
	return out
}

// relayout writes a shard with the header fields of b (first 128 bytes), a
// header grown to hdrSize bytes (the extra bytes set to 0xee), and secs laid
// out in the given order; every size, offset and checksum is recomputed.
func relayout(b []byte, hdrSize int, secs []rawSection) []byte {
	out := make([]byte, hdrSize+SectionEntrySize*len(secs))
	copy(out, b[:HeaderSize])
	for i := HeaderSize; i < hdrSize; i++ {
		out[i] = 0xee
	}
	put32(out, headerSizeOff, uint32(hdrSize))
	put32(out, sectionCntOff, uint32(len(secs)))
	for i, s := range secs {
		for len(out)%8 != 0 {
			out = append(out, 0)
		}
		e := hdrSize + SectionEntrySize*i
		put32(out, e+secKindOff, s.kind)
		put32(out, e+secFlagsOff, s.flags)
		put64(out, e+secOffsetOff, uint64(len(out)))
		put64(out, e+secLengthOff, uint64(len(s.data)))
		out = append(out, s.data...)
	}
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	out = append(out, make([]byte, TrailerSize)...)
	copy(out[len(out)-8:], EndMagic)
	put64(out, fileSizeOff, uint64(len(out)))
	return reseal(out)
}

// TestForwardCompatible checks that a v1.0 reader accepts what a later v1.x
// writer may add: a longer header, optional sections of unknown kinds,
// sections in another order, optional feature bits, a higher minor version.
func TestForwardCompatible(t *testing.T) {
	base := hostileBase(t)
	secs := sections(base)
	if got := relayout(base, HeaderSize, secs); !bytes.Equal(got, base) {
		t.Fatal("relayout of the original layout changed the bytes")
	}
	extra := rawSection{kind: 42, flags: secFlagOptional, data: []byte("stats: whatever a newer writer adds")}
	reversed := slices.Clone(secs)
	slices.Reverse(reversed)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"LongerHeader", relayout(base, HeaderSize+64, secs), ""},
		{"OptionalSection", relayout(base, HeaderSize, append(slices.Clone(secs), extra)), ""},
		{"OptionalSectionFirst", relayout(base, HeaderSize, append([]rawSection{extra}, secs...)), ""},
		{"ReversedSections", relayout(base, HeaderSize, reversed), ""},
		{"Everything", func() []byte {
			b := relayout(base, HeaderSize+8, append([]rawSection{extra}, reversed...))
			put16(b, minorOff, 3)
			put64(b, optionalOff, 0xff)
			return reseal(b)
		}(), ""},
		{"RequiredSection", relayout(base, HeaderSize, append(slices.Clone(secs), rawSection{kind: 42, data: []byte("x")})),
			fmt.Sprintf("shardfmt: unsupported shard format at byte %#x: section 6: unknown required section kind 42", HeaderSize+6*SectionEntrySize)},
		{"TooManySections", relayout(base, HeaderSize, append(slices.Clone(secs), slices.Repeat([]rawSection{extra}, 11)...)),
			fmt.Sprintf("shardfmt: corrupt shard at byte %#x: section count 17 out of range 1..16", sectionCntOff)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenShard(tc.b)
			if tc.want != "" {
				if err == nil || err.Error() != tc.want {
					t.Fatalf("OpenShard = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ref := mustOpen(t, base)
			for i := range ref.Len() {
				k, rec := ref.At(i)
				if got, ok := s.FindString(HashString(s.Seed(), k), k); !ok || got != rec {
					t.Fatalf("FindString(%q) = %+v, %v; want %+v", k, got, ok, rec)
				}
			}
		})
	}
}
