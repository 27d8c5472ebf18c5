package shardfmt

import "strconv"

// This file holds the on-disk constants of shard format v1. FORMAT.md is the
// prose specification; every offset below is derived from the previous one so
// that the two can be checked against each other field by field.

// Magic is the first 8 bytes of every shard file. Like PNG's signature it
// starts with a non-ASCII byte and contains CR LF, ^Z and LF, so text-mode
// transfers and 7-bit channels that mangle the file are caught at once.
const Magic = "\x89RDX\r\n\x1a\n"

// EndMagic is the last 8 bytes of every shard file. A truncated file almost
// never ends in it, which makes truncation cheap to tell from other damage.
const EndMagic = "RDXEND\x00\x01"

// MajorVersion is the format major version this package writes and the only
// one it reads. A file with any other major version is rejected with an error
// wrapping ErrUnsupported.
const MajorVersion = 1

// MinorVersion is the format minor version this package writes. Readers accept
// any minor version of their major version: minor versions only add things a
// reader may ignore (optional feature bits, optional sections, a longer
// header).
const MinorVersion = 0

// Fixed sizes of the file's framing, in bytes.
const (
	// HeaderSize is the size of the v1 header. The header records its own
	// size so that a later minor version can grow it.
	HeaderSize = 128
	// SectionEntrySize is the size of one section table entry.
	SectionEntrySize = 32
	// TrailerSize is the size of the trailer at the end of the file.
	TrailerSize = 16
)

// MaxBloomFP is the largest Bloom filter false-positive rate EncodeShard
// accepts (ShardOptions.BloomFP); the smallest is MinBloomFP. A filter
// that lets more than half the misses through costs more than it saves.
const MaxBloomFP = 0.5

// Limits of format v1.
const (
	// MaxShardCount is the largest shard count a build may have.
	MaxShardCount = 1 << 20
	// MaxKeyLen is the longest key, in bytes.
	MaxKeyLen = 64 << 10
	// MaxDestLen is the longest destination, in bytes.
	MaxDestLen = 64 << 10
	// MaxFileSize is the largest shard file. Offsets inside sections are
	// u32, and keeping the whole file below 4 GiB makes every one of them
	// valid without a second limit per section.
	MaxFileSize = 1<<32 - 1
	// MaxSections bounds the section table so that a reader can sort it on
	// the stack.
	MaxSections = 16
)

// Header field offsets. All integers are little-endian.
const (
	magicOff = 0
	magicLen = 8 // len(Magic); checked by TestFormatConstants

	majorOff      = magicOff + magicLen // u16
	minorOff      = majorOff + 2        // u16
	headerSizeOff = minorOff + 2        // u32
	requiredOff   = headerSizeOff + 4   // u64 required feature bits
	optionalOff   = requiredOff + 8     // u64 optional feature bits
	shardIndexOff = optionalOff + 8     // u32
	shardCountOff = shardIndexOff + 4   // u32
	seedOff       = shardCountOff + 4   // u64 hash seed
	entryCountOff = seedOff + 8         // u32 N
	sectionCntOff = entryCountOff + 4   // u32 S
	fileSizeOff   = sectionCntOff + 4   // u64
	reservedOff   = fileSizeOff + 8     // zero bytes up to the checksum

	headerChecksumLen = 8
	headerChecksumOff = HeaderSize - headerChecksumLen // u64 xxhash64(header[0:headerChecksumOff])
	reservedLen       = headerChecksumOff - reservedOff
)

// Section table entry field offsets, relative to the entry.
const (
	secKindOff     = 0                // u32
	secFlagsOff    = secKindOff + 4   // u32
	secOffsetOff   = secFlagsOff + 4  // u64
	secLengthOff   = secOffsetOff + 8 // u64
	secChecksumOff = secLengthOff + 8 // u64 xxhash64(section bytes)
)

// Trailer field offsets, relative to the trailer (at FileSize-TrailerSize).
const (
	trailerChecksumOff = 0                      // u64 xxhash64(file[0:FileSize-TrailerSize])
	trailerMagicOff    = trailerChecksumOff + 8 // [8]byte EndMagic
)

// Section alignment: every section starts at a multiple of sectionAlign so
// that the Bloom words (u64) and the u32 arrays can be used in place.
const sectionAlign = 8

// Section flags.
const (
	// secFlagOptional marks a section a reader may skip when it does not
	// know its kind.
	secFlagOptional = 1 << 0
	// secCodecMask holds the section's codec (0 = stored). v1 writes 0;
	// a reader rejects codecs it does not know as unsupported.
	secCodecMask  = 0xff << 8
	secCodecShift = 8
	// secFlagsKnown is every flag bit v1 defines; the others must be zero.
	secFlagsKnown = secFlagOptional | secCodecMask
)

// Feature bits. v1 defines none; a reader rejects a file with required bits
// it does not know and ignores unknown optional bits.
const (
	requiredKnown uint64 = 0
)

// sectionKind identifies a section in the section table.
type sectionKind uint32

// Section kinds, in the order the writer lays them out.
const (
	kindBloom        sectionKind = 1 // u64 m | u32 k | u32 0 | m/64 x u64 words
	kindFingerprints sectionKind = 2 // N x u32, ascending
	kindKeyOffsets   sectionKind = 3 // (N+1) x u32
	kindKeyData      sectionKind = 4 // concatenated keys
	kindRecords      sectionKind = 5 // N x recordSize
	kindValueData    sectionKind = 6 // de-duplicated destinations, sorted
	numKinds                     = 6
)

func (k sectionKind) String() string {
	switch k {
	case kindBloom:
		return "BLOOM"
	case kindFingerprints:
		return "FINGERPRINTS"
	case kindKeyOffsets:
		return "KEY_OFFSETS"
	case kindKeyData:
		return "KEY_DATA"
	case kindRecords:
		return "RECORDS"
	case kindValueData:
		return "VALUE_DATA"
	}
	return "kind " + strconv.FormatUint(uint64(k), 10)
}

// BLOOM section layout.
const (
	bloomMOff      = 0               // u64 m, the filter size in bits
	bloomKOff      = bloomMOff + 8   // u32 k, probes per key
	bloomResOff    = bloomKOff + 4   // u32 reserved, 0
	bloomWordsOff  = bloomResOff + 4 // m/64 x u64 words
	bloomHeaderLen = bloomWordsOff

	// BloomBlockBits is the size of one Bloom block: a 64-byte cache line.
	// All k probes of a key fall into one block.
	BloomBlockBits = 512
	// MaxBloomK is the largest number of probes per key.
	MaxBloomK = 16
)

// RECORDS entry layout.
const (
	recDstOffOff  = 0                // u32 offset into VALUE_DATA
	recDstLenOff  = recDstOffOff + 4 // u32 length
	recStatusOff  = recDstLenOff + 4 // u16 HTTP status
	recFlagsOff   = recStatusOff + 2 // u16 Flag* bits
	recExpiresOff = recFlagsOff + 2  // u32 unix seconds, 0 = never
	recordSize    = recExpiresOff + 4
)

// minEntryBytes is the least space one entry occupies (fingerprint, key
// offset, record); it bounds the entry count a file of a given size can hold
// before any section is looked at.
const minEntryBytes = 4 + 4 + recordSize

// Flags of a Record.
const (
	// FlagQuery appends the request's query string to Dest.
	FlagQuery uint16 = 1 << 0
	// FlagSplat says Dest contains ":splat", to be replaced with what a
	// prefix rule matched.
	FlagSplat uint16 = 1 << 1
	// FlagUnforced says the rule yields to a file at the request path (a
	// Netlify rule without "!"): a server with a static fallback
	// directory serves the file instead. Without it a rule is forced, as
	// every rule of builds written before the flag existed is.
	FlagUnforced uint16 = 1 << 2

	// flagsKnown is every flag bit v1 defines.
	flagsKnown = FlagQuery | FlagSplat | FlagUnforced
)

// validStatus reports whether status is one a v1 record may carry.
func validStatus(status uint16) bool {
	switch status {
	case 301, 302, 303, 307, 308, 410:
		return true
	}
	return false
}
