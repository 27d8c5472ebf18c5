package shardfmt

import (
	"math"
	"runtime"
	"runtime/metrics"
	"testing"
)

// OpenShard may copy its input once (to align it) and, on big-endian
// hosts, decode the u32 and u64 arrays into fresh slices; beyond that it
// allocates a few small structs. Nothing may grow with a length field
// the file states.
const (
	openAllocPerByte = 3       // bytes allocated per input byte, at most
	openAllocSlack   = 8 << 10 // plus this much
)

// openAllocBytes opens b and returns the bytes allocated, exactly
// (runtime.ReadMemStats flushes every per-P cache). It is for
// non-parallel tests: other goroutines' allocations count too.
func openAllocBytes(b []byte) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s, _ := OpenShard(b)
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	return after.TotalAlloc - before.TotalAlloc
}

// hostileVariants returns b with each 32- and 64-bit header and section
// table field set, in turn, to values meant to make a reader allocate or
// loop in proportion to them (0, all ones, just under 2^31 and 2^32), with
// every checksum recomputed; and b's section payload fields (Bloom m and
// k, first and last key offsets, first record) set the same way.
func hostileVariants(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	patch := func(off, size int) {
		for _, v := range []uint64{0, math.MaxUint64, math.MaxInt32, math.MaxUint32, math.MaxUint32 - 7, uint64(len(b)) * 1000} {
			c := clone(b)
			if size == 4 {
				put32(c, off, uint32(v))
			} else {
				put64(c, off, v)
			}
			out = append(out, reseal(c))
		}
	}
	for _, f := range []struct{ off, size int }{
		{headerSizeOff, 4}, {shardIndexOff, 4}, {shardCountOff, 4}, {entryCountOff, 4}, {sectionCntOff, 4},
		{fileSizeOff, 8}, {requiredOff, 8}, {seedOff, 8},
	} {
		patch(f.off, f.size)
	}
	for i := 0; i < int(le32(b, sectionCntOff)); i++ {
		e := HeaderSize + SectionEntrySize*i
		patch(e+secKindOff, 4)
		patch(e+secFlagsOff, 4)
		patch(e+secOffsetOff, 8)
		patch(e+secLengthOff, 8)
	}
	_, blOff, _ := secInfo(t, b, kindBloom)
	_, koOff, koLen := secInfo(t, b, kindKeyOffsets)
	_, recOff, _ := secInfo(t, b, kindRecords)
	patch(blOff+bloomMOff, 8)
	patch(blOff+bloomKOff, 4)
	patch(koOff, 4)
	patch(koOff+koLen-4, 4)
	patch(recOff+recDstOffOff, 4)
	patch(recOff+recDstLenOff, 4)
	return out
}

// TestOpenAllocationBounded opens valid, truncated and hostile shards
// (every header and section-table field, and the Bloom and key-offset
// fields, set to huge values with checksums recomputed, plus the fuzz
// seeds) and checks that OpenShard never allocates more than a small
// multiple of its input's size, whatever the file claims.
func TestOpenAllocationBounded(t *testing.T) {
	var inputs [][]byte
	for _, b := range goldenShards(t) {
		inputs = append(inputs, b)
		for n := 0; n < len(b); n += 1 + len(b)/50 {
			inputs = append(inputs, b[:n])
		}
		inputs = append(inputs, hostileVariants(t, b)...)
	}
	base := hostileBase(t)
	inputs = append(inputs, base)
	inputs = append(inputs, hostileVariants(t, base)...)
	for _, d := range unsafeDests {
		b, _, _ := plantDest(t, d.dest)
		inputs = append(inputs, b)
	}
	r := newRand(t)
	for range 500 {
		b := clone(base)
		for range 1 + r.IntN(4) {
			b[r.IntN(len(b))] = byte(r.Uint32())
		}
		inputs = append(inputs, reseal(b))
	}
	var worst float64
	for i, b := range inputs {
		got := openAllocBytes(b)
		if limit := uint64(openAllocPerByte*len(b) + openAllocSlack); got > limit {
			_, err := OpenShard(b)
			t.Errorf("input %d (%d bytes): OpenShard allocated %d bytes, more than %d (error: %v)", i, len(b), got, limit, err)
		}
		if len(b) > 0 {
			worst = max(worst, float64(got)/float64(len(b)))
		}
	}
	t.Logf("%d inputs; worst case %.2f bytes allocated per input byte", len(inputs), worst)
}

// heapAllocs returns the bytes allocated so far, as runtime/metrics sees
// them: cheap (no stop-the-world), exact for large allocations, late by up
// to a span for small ones. Good enough for an upper bound in a fuzz target.
func heapAllocs() uint64 {
	s := [1]metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s[:])
	return s[0].Value.Uint64()
}

// checkOpenAllocs fails if OpenShard allocated far more than b's size.
// The slack is generous (1 MiB): the target is allocations proportional
// to a hostile length field, which would be gigabytes.
func checkOpenAllocs(t *testing.T, b []byte) {
	before := heapAllocs()
	s, err := OpenShard(b)
	got := heapAllocs() - before
	runtime.KeepAlive(s)
	if limit := uint64(openAllocPerByte*len(b) + 1<<20); got > limit {
		t.Fatalf("OpenShard of %d bytes allocated %d bytes (limit %d); error %v", len(b), got, limit, err)
	}
}
