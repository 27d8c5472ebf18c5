package shardfmt

import (
	"math"

	"github.com/bits-and-blooms/bloom/v3"
)

// The BLOOM section is a cache-line-blocked Bloom filter: the bit array is cut
// into blocks of 512 bits (64 bytes, one cache line) and all k probes of a key
// fall into one block, so a lookup costs one cache miss however large k is.
// FORMAT.md (§5, and "Lookups" in §4) specifies it; in short, for a key hash
// h (see Hash), all arithmetic modulo 2^64 or 2^32:
//
//	g      = mixBloom(h)                   // independent of shard and fingerprint bits
//	block  = ((g >> 32) * blocks) >> 32    // Lemire fast range on the high 32 bits
//	x      = uint32(g)                     // the low 32 bits drive the probes
//	loc_i  = block*512 + (x >> 23)         // top 9 bits: a position in the block
//	x      = x * 0x9e3779b9                // next probe (i = 0..k-1)
//
// Each probe takes the top 9 bits of a 32-bit multiplicative sequence, as
// RocksDB's FastLocalBloom does. Plain double hashing (a + i*step mod 512)
// was measured at 3x (k=10) to 14x (k=13) the predicted false-positive rate:
// keys with the same step share sliding runs of bits. The multiplicative
// sequence matches the blocked-Bloom prediction (TestBloomFalsePositiveRate).
//
// The bits are little-endian u64 words, used in place. bits-and-blooms/bloom/v3
// plays two parts, neither on the lookup path: the writer sets the bits
// through it (buildBloom: FromWithM over the words, BitSet().Set at our
// locations), and its TestLocations is the reference the tests check the
// reader's own bit test against (TestBloomDirectAgrees). Lookups and
// OpenShard test the block's words directly (mayContain). We compute the
// locations ourselves, which is what pins the hash scheme: bloom/v3's own
// murmur hashing is not used, so a change there cannot invalidate old
// files. Because every loc_i < m = blocks*512, the "% m" bloom/v3 applies
// is the identity.

// DefaultBloomFP is the Bloom filter false-positive rate EncodeShard aims for
// when ShardOptions.BloomFP is 0. A false positive costs one in-memory binary
// search, so 1e-3 balances memory (about 2 bytes per key) against probes.
const DefaultBloomFP = 1e-3

// MinBloomFP is the smallest false-positive rate EncodeShard accepts. Below
// it k is capped at MaxBloomK and extra bits buy almost nothing.
const MinBloomFP = 1e-7

// bloomParams returns the number of 512-bit blocks and the number of probes
// per key for n keys at false-positive rate p in [MinBloomFP, 0.5].
//
// The classic size, b = -ln(p)/ln(2)^2 bits per key with k = round(b*ln 2)
// probes, misses its target once the filter is blocked: keys fall unevenly
// over blocks (balls into bins), and crowded blocks dominate the rate. The
// blocked-Bloom formula (the Poisson mix of per-block rates) says how many
// more bits restore the target; 1 + b^2/2500 fits it within a few percent
// from p = 0.1 (1.01x) through 1e-3 (1.08x) to 1e-5 (1.23x).
//
// Only b is a float: it is quantized to 1/1024 bit once and the rest is
// integer arithmetic, so the layout (and the file's bytes) cannot differ
// between platforms that round or fuse floating-point operations differently.
func bloomParams(n int, p float64) (blocks uint64, k uint32) {
	b := -math.Log(p) / (math.Ln2 * math.Ln2)
	k = uint32(min(max(math.Round(b*math.Ln2), 1), MaxBloomK))
	q := uint64(math.Round(b * 1024))     // classic bits per key, x1024; <= 34356 for p >= MinBloomFP
	q += q * q * q / (1024 * 1024 * 2500) // blocked correction, still x1024
	bits := (uint64(n)*q + 1023) / 1024
	blocks = (bits + BloomBlockBits - 1) / BloomBlockBits
	// An empty shard still has one (all-zero) block: m == 0 is invalid and
	// a one-block filter answers every lookup with "no" after one probe.
	return max(blocks, 1), k
}

// bloomMul[i] is 0x9e3779b9^i mod 2^32, so that probe i is
// (x*bloomMul[i]) >> 23: the same value as multiplying x by 0x9e3779b9 i
// times, without a chain of dependent multiplications.
var bloomMul = func() (m [MaxBloomK]uint32) {
	p := uint32(1)
	for i := range m {
		m[i] = p
		p *= 0x9e3779b9
	}
	return m
}()

// bloomLocations writes the k probe positions of key hash h into locs[:k].
// blocks and k must already be validated (blocks >= 1, 1 <= k <= MaxBloomK).
func bloomLocations(locs *[MaxBloomK]uint64, h uint64, blocks uint64, k uint32) {
	g := mixBloom(h)
	base := ((g >> 32) * blocks >> 32) * BloomBlockBits
	x := uint32(g)
	for i := range min(k, MaxBloomK) {
		locs[i] = base + uint64((x*bloomMul[i])>>(32-9)) // 9 bits: log2(BloomBlockBits)
	}
}

// bloomFilter is an open BLOOM section.
type bloomFilter struct {
	words  []uint64 // the section's words, in place when possible
	blocks uint64
	k      uint32
}

// mayContain reports whether the key with hash h may be in the filter. It
// tests the words of the key's block itself: going through bloom/v3's
// TestLocations, as lookups once did, reduces every location modulo m with
// a 64-bit division and reaches the words through the BitSet's pointer; the
// divisions measured about 30 ns per key at open (a third of the open time)
// and as much on every lookup that passes the filter. TestBloomDirectAgrees
// pins this test to TestLocations, the reference.
func (b *bloomFilter) mayContain(h uint64) bool {
	// The same arithmetic as bloomLocations, fused with the test so that no
	// location array is written and read back.
	g := mixBloom(h)
	block := b.words[((g>>32)*b.blocks>>32)*(BloomBlockBits/64):][:BloomBlockBits/64]
	x := uint32(g)
	for i := range min(b.k, MaxBloomK) {
		p := (x * bloomMul[i]) >> (32 - 9)
		if block[p/64&7]&(1<<(p%64)) == 0 {
			return false
		}
	}
	return true
}

// buildBloom returns the words of a filter of the given shape holding hashes.
func buildBloom(hashes []uint64, blocks uint64, k uint32) []uint64 {
	words := make([]uint64, blocks*BloomBlockBits/64)
	m := blocks * BloomBlockBits
	f := bloom.FromWithM(words, uint(m), uint(k))
	var locs [MaxBloomK]uint64
	for _, h := range hashes {
		bloomLocations(&locs, h, blocks, k)
		for _, loc := range locs[:k] {
			// The same reduction TestLocations applies (an identity here).
			f.BitSet().Set(uint(loc % m))
		}
	}
	return words
}
