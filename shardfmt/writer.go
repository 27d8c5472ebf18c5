package shardfmt

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Entry is one rule to write into a shard.
type Entry struct {
	// Key is the lookup key: opaque, normalized bytes whose meaning the
	// compiler defines. At most MaxKeyLen bytes; unique within a build.
	Key string
	// Dest is the redirect target, at most MaxDestLen bytes. It may be
	// empty only when Status is 410.
	Dest string
	// Status is 301, 302, 303, 307, 308 or 410.
	Status uint16
	// Flags is a combination of FlagQuery, FlagSplat and FlagUnforced.
	Flags uint16
	// Expires is the time, in unix seconds, after which the rule answers
	// 410 Gone; 0 means never.
	Expires uint32
}

// ShardOptions says which shard of which build EncodeShard writes.
type ShardOptions struct {
	// Index is this shard's number, in [0, Count).
	Index int
	// Count is the build's shard count, in 1..MaxShardCount.
	Count int
	// Seed is the hash seed (see Hash).
	Seed uint64
	// BloomFP is the target Bloom false-positive rate, in
	// [MinBloomFP, 0.5]; 0 means DefaultBloomFP.
	BloomFP float64
}

// maxFileSize is MaxFileSize, as a variable so that tests can reach the
// too-large path without writing 4 GiB.
var maxFileSize uint64 = MaxFileSize

// EncodeShard returns the complete file image of one shard holding entries.
//
// The output is deterministic: the same set of entries, in any order, with the
// same options gives identical bytes, so an unchanged shard keeps its
// content-addressed name across builds. EncodeShard may reorder entries.
//
// It returns an error wrapping ErrInvalidEntry for a duplicate key, a key
// that belongs to another shard (ShardOf(Hash(opt.Seed, key), opt.Count) !=
// opt.Index), a bad status or unknown flag bits, an empty destination with a
// status other than 410, a destination that is neither an http(s) URL nor a
// path beginning with a single "/" or that holds a control byte, or a key or
// destination longer than 64 KiB; and
// ErrShardTooLarge when the file would exceed MaxFileSize.
func EncodeShard(entries []Entry, opt ShardOptions) ([]byte, error) {
	p, err := opt.check()
	if err != nil {
		return nil, err
	}
	n := len(entries)
	// A first, cheap size bound before allocating anything per entry.
	if uint64(n)*minEntryBytes > maxFileSize {
		return nil, fmt.Errorf("%w: %d entries", ErrShardTooLarge, n)
	}

	// Validate, hash and sort. Sorting a permutation keeps the hash next to
	// the entry it belongs to without hashing inside the comparison.
	type ord struct {
		h uint64
		e *Entry
	}
	order := make([]ord, n)
	var keyBytes uint64
	for i := range entries {
		e := &entries[i]
		if err := e.check(); err != nil {
			return nil, err
		}
		h := HashString(opt.Seed, e.Key)
		if s := ShardOf(h, opt.Count); s != opt.Index {
			return nil, fmt.Errorf("%w: key %s belongs to shard %d, not shard %d (seed %#x, count %d)",
				ErrInvalidEntry, quoteKey(e.Key), s, opt.Index, opt.Seed, opt.Count)
		}
		order[i] = ord{h, e}
		keyBytes += uint64(len(e.Key))
	}
	slices.SortFunc(order, func(x, y ord) int {
		if fx, fy := fingerprint(x.h), fingerprint(y.h); fx != fy {
			if fx < fy {
				return -1
			}
			return 1
		}
		return strings.Compare(x.e.Key, y.e.Key)
	})
	for i := 1; i < n; i++ {
		if order[i].e.Key == order[i-1].e.Key {
			return nil, fmt.Errorf("%w: duplicate key %s", ErrInvalidEntry, quoteKey(order[i].e.Key))
		}
	}

	// De-duplicate destinations; sorted so that their layout depends only
	// on the set of entries.
	dests := make([]string, 0, n)
	for i := range order {
		if d := order[i].e.Dest; d != "" {
			dests = append(dests, d)
		}
	}
	slices.Sort(dests)
	dests = slices.Compact(dests)
	destOff := make(map[string]uint32, len(dests))
	var valueBytes uint64
	for _, d := range dests {
		if valueBytes > math.MaxUint32 {
			break // reported by the size check below
		}
		destOff[d] = uint32(valueBytes)
		valueBytes += uint64(len(d))
	}

	// Lay out the file.
	blocks, k := bloomParams(n, p)
	var l layout
	l.add(kindBloom, bloomHeaderLen+blocks*BloomBlockBits/8)
	l.add(kindFingerprints, 4*uint64(n))
	l.add(kindKeyOffsets, 4*(uint64(n)+1))
	l.add(kindKeyData, keyBytes)
	l.add(kindRecords, recordSize*uint64(n))
	l.add(kindValueData, valueBytes)
	size := l.end + TrailerSize
	if size > maxFileSize {
		return nil, fmt.Errorf("%w: %d entries need %d bytes, the limit is %d", ErrShardTooLarge, n, size, maxFileSize)
	}

	buf := make([]byte, size)
	le := binary.LittleEndian

	// Sections.
	sec := func(k sectionKind) []byte {
		s := l.secs[k-1]
		return buf[s.off : s.off+s.len]
	}
	bl := sec(kindBloom)
	le.PutUint64(bl[bloomMOff:], blocks*BloomBlockBits)
	le.PutUint32(bl[bloomKOff:], k)
	hashes := make([]uint64, n)
	for i := range order {
		hashes[i] = order[i].h
	}
	for i, w := range buildBloom(hashes, blocks, k) {
		le.PutUint64(bl[bloomWordsOff+8*i:], w)
	}
	fps, kos, kd, recs, vd := sec(kindFingerprints), sec(kindKeyOffsets), sec(kindKeyData), sec(kindRecords), sec(kindValueData)
	var koff uint32
	for i := range order {
		e := order[i].e
		le.PutUint32(fps[4*i:], fingerprint(order[i].h))
		le.PutUint32(kos[4*i:], koff)
		koff += uint32(copy(kd[koff:], e.Key))
		r := recs[recordSize*i:]
		if e.Dest != "" {
			le.PutUint32(r[recDstOffOff:], destOff[e.Dest])
			le.PutUint32(r[recDstLenOff:], uint32(len(e.Dest)))
		}
		le.PutUint16(r[recStatusOff:], e.Status)
		le.PutUint16(r[recFlagsOff:], e.Flags)
		le.PutUint32(r[recExpiresOff:], e.Expires)
	}
	le.PutUint32(kos[4*n:], koff)
	for _, d := range dests {
		copy(vd[destOff[d]:], d)
	}

	// Section table.
	for i, s := range l.secs {
		t := buf[HeaderSize+SectionEntrySize*i:]
		le.PutUint32(t[secKindOff:], uint32(i+1))
		le.PutUint32(t[secFlagsOff:], 0)
		le.PutUint64(t[secOffsetOff:], s.off)
		le.PutUint64(t[secLengthOff:], s.len)
		le.PutUint64(t[secChecksumOff:], xxhash.Sum64(buf[s.off:s.off+s.len]))
	}

	// Header.
	copy(buf[magicOff:], Magic)
	le.PutUint16(buf[majorOff:], MajorVersion)
	le.PutUint16(buf[minorOff:], MinorVersion)
	le.PutUint32(buf[headerSizeOff:], HeaderSize)
	le.PutUint64(buf[requiredOff:], 0)
	le.PutUint64(buf[optionalOff:], 0)
	le.PutUint32(buf[shardIndexOff:], uint32(opt.Index))
	le.PutUint32(buf[shardCountOff:], uint32(opt.Count))
	le.PutUint64(buf[seedOff:], opt.Seed)
	le.PutUint32(buf[entryCountOff:], uint32(n))
	le.PutUint32(buf[sectionCntOff:], numKinds)
	le.PutUint64(buf[fileSizeOff:], size)
	le.PutUint64(buf[headerChecksumOff:], xxhash.Sum64(buf[:headerChecksumOff]))

	// Trailer.
	t := buf[size-TrailerSize:]
	le.PutUint64(t[trailerChecksumOff:], xxhash.Sum64(buf[:size-TrailerSize]))
	copy(t[trailerMagicOff:], EndMagic)
	return buf, nil
}

// layout places sections one after the other behind the header and the
// section table, each at an 8-byte aligned offset.
type layout struct {
	secs [numKinds]struct{ off, len uint64 }
	end  uint64
}

func (l *layout) add(kind sectionKind, n uint64) {
	if l.end == 0 {
		l.end = HeaderSize + numKinds*SectionEntrySize
	}
	off := alignUp(l.end)
	l.secs[kind-1] = struct{ off, len uint64 }{off, n}
	l.end = alignUp(off + n)
}

func alignUp(v uint64) uint64 { return (v + sectionAlign - 1) &^ (sectionAlign - 1) }

// check validates the options and returns the Bloom false-positive rate to
// use.
func (o *ShardOptions) check() (float64, error) {
	if o.Count < 1 || o.Count > MaxShardCount {
		return 0, fmt.Errorf("shardfmt: shard count %d out of range 1..%d", o.Count, MaxShardCount)
	}
	if o.Index < 0 || o.Index >= o.Count {
		return 0, fmt.Errorf("shardfmt: shard index %d out of range 0..%d", o.Index, o.Count-1)
	}
	p := o.BloomFP
	if p == 0 {
		p = DefaultBloomFP
	}
	if !(p >= MinBloomFP && p <= MaxBloomFP) { // also rejects NaN
		return 0, fmt.Errorf("shardfmt: Bloom false-positive rate %v out of range [%v, %v]", o.BloomFP, MinBloomFP, MaxBloomFP)
	}
	return p, nil
}

// check validates one entry on its own.
func (e *Entry) check() error {
	switch {
	case len(e.Key) > MaxKeyLen:
		return fmt.Errorf("%w: key %s is %d bytes, longer than %d", ErrInvalidEntry, quoteKey(e.Key), len(e.Key), MaxKeyLen)
	case len(e.Dest) > MaxDestLen:
		return fmt.Errorf("%w: key %s: destination is %d bytes, longer than %d", ErrInvalidEntry, quoteKey(e.Key), len(e.Dest), MaxDestLen)
	case !validStatus(e.Status):
		return fmt.Errorf("%w: key %s: status %d not one of 301, 302, 303, 307, 308, 410", ErrInvalidEntry, quoteKey(e.Key), e.Status)
	case e.Flags&^flagsKnown != 0:
		return fmt.Errorf("%w: key %s: unknown flag bits %#x", ErrInvalidEntry, quoteKey(e.Key), e.Flags&^flagsKnown)
	case e.Dest == "" && e.Status != 410:
		return fmt.Errorf("%w: key %s: empty destination with status %d (only 410 may have none)", ErrInvalidEntry, quoteKey(e.Key), e.Status)
	}
	if e.Dest != "" {
		if _, p := destProblem(e.Dest); p != "" {
			return fmt.Errorf("%w: key %s: destination %s %s", ErrInvalidEntry, quoteKey(e.Key), quoteKey(e.Dest), p)
		}
	}
	return nil
}

// quoteKey quotes a key for an error message, shortening long ones: a 60 KiB
// key does not belong in a log line.
func quoteKey(k string) string {
	const max = 80
	if len(k) <= max {
		return fmt.Sprintf("%q", k)
	}
	return fmt.Sprintf("%q... (%d bytes)", k[:max], len(k))
}
