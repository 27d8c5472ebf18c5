package shardfmt

import (
	"github.com/cespare/xxhash/v2"
)

// Hash returns the 64-bit hash of a key that the writer and the runtime use
// to pick a shard (the high 32 bits, see ShardOf), to order and search entries
// inside the shard (the low 32 bits, the fingerprint) and, through a second
// mix, to probe the Bloom filter.
//
// With seed 0 it is plain xxhash64 of key; otherwise it is a strong 64-bit
// mix of xxhash64(key) ^ seed, so that a different seed redistributes keys
// over shards. It does not allocate.
func Hash(seed uint64, key []byte) uint64 {
	h := xxhash.Sum64(key)
	if seed != 0 {
		h = mixSeed(h ^ seed)
	}
	return h
}

// HashString returns the same value as Hash for the bytes of key, without
// copying them.
func HashString(seed uint64, key string) uint64 {
	h := xxhash.Sum64String(key)
	if seed != 0 {
		h = mixSeed(h ^ seed)
	}
	return h
}

// ShardOf maps a key hash to a shard number in [0, count) with Lemire's fast
// range reduction over the high 32 bits of h: int((h>>32)*count>>32). The
// high bits are used so that the fingerprint (the low 32 bits) stays
// uniformly distributed inside a shard. count must be in 1..MaxShardCount.
func ShardOf(h uint64, count int) int {
	return int((h >> 32) * uint64(count) >> 32)
}

// fingerprint is the part of a key hash stored in the FINGERPRINTS section.
func fingerprint(h uint64) uint32 { return uint32(h) }

// mixSeed is the SplitMix64 finalizer (Stafford's variant 13): a bijection of
// uint64 with full avalanche, so a seed changes every output bit with
// probability 1/2. It is part of the format (it defines Hash for seed != 0).
func mixSeed(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// bloomSalt is xored into the key hash before the Bloom mix so that the
// Bloom hash is not mixSeed applied to an unseeded hash by accident.
const bloomSalt = 0x5f3c_9e37_79b9_7f4a

// mixBloom is MurmurHash3's fmix64 finalizer, a different bijection from
// mixSeed. The Bloom filter takes its bits from mixBloom(h ^ bloomSalt) so
// that they are independent of the bits that chose the shard (high 32 of h)
// and of the fingerprint (low 32 of h): all keys of a shard share the high
// bits of h, and a filter indexed by them would degrade. Part of the format.
func mixBloom(h uint64) uint64 {
	h ^= bloomSalt
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
