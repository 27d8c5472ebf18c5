// Package shardfmt is redirc's on-disk format: the writer and the validating,
// zero-copy reader of one shard file, the build index (index.json) that lists
// a build's shards, and the loader of a whole build directory.
//
// A build spreads its rules over N shards by key hash (ShardOf over the high
// 32 bits of Hash). Each shard is one immutable file holding a
// cache-line-blocked Bloom filter, the entries' 32-bit fingerprints in
// ascending order, the keys, fixed-size records and de-duplicated
// destinations. FORMAT.md in this directory specifies the bytes, and its
// section 4 ("Lookups") describes a lookup step by step.
//
// Writing is deterministic: EncodeShard gives identical bytes for the same
// entries in any order, and shard files are named after their content
// (ShardFileName), so an unchanged shard keeps its name and bytes across
// builds. The index, written last by the compiler, names every shard with its
// xxhash64 and size.
//
// Reading validates everything once, up front: OpenShard checks magic,
// version, checksums, the section table and every entry (order, fingerprint,
// shard, Bloom bits, record bounds and values), and never panics on any
// input. After that a lookup trusts the bytes: Shard.Find and Build.Find take
// no locks, allocate nothing and return destinations that point into the
// shard's bytes.
//
//	b, err := shardfmt.LoadBuild(dir)
//	if err != nil {
//		// errors.Is(err, shardfmt.ErrCorrupt): a bad build; keep the old one.
//	}
//	rec, ok := b.Find(key)
//
// LoadBuildFS does the same for a build inside an fs.FS (an embed.FS, say).
// Both recompute the index's build id (Index.ComputeBuildID), so an index
// edited after it was written is refused rather than trusted.
//
// Errors about damaged or malformed files wrap ErrCorrupt (a *CorruptError
// for shards, with the byte offset); files of a newer format wrap
// ErrUnsupported; I/O errors are passed through.
package shardfmt
