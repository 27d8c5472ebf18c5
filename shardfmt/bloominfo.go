package shardfmt

// BloomBits returns the size of the shard's Bloom filter in bits (a multiple
// of BloomBlockBits) and its number of probes per key, for statistics such
// as bits per rule (`redirc inspect`).
func (s *Shard) BloomBits() (bits uint64, k int) {
	return s.bloom.blocks * BloomBlockBits, int(s.bloom.k)
}
