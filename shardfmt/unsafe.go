package shardfmt

// This file encapsulates every use of package unsafe. Each helper has a safe
// fallback in its caller: a shard is decoded into fresh slices whenever the
// host is big-endian or the bytes are not aligned.

import (
	"encoding/binary"
	"unsafe"
)

// littleEndian reports whether the host stores integers little-endian, which
// is the only case where the file's u32 and u64 arrays can be used in place.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// alignedBytes returns a zeroed n-byte slice whose first byte is 8-byte
// aligned. It is backed by a []uint64, which the allocator aligns and the
// garbage collector does not scan.
func alignedBytes(n int) []byte {
	if n <= 0 {
		return []byte{}
	}
	w := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), n)
}

// isAligned reports whether b starts at an 8-byte aligned address.
func isAligned(b []byte) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))%8 == 0
}

// u64sInPlace returns b viewed as little-endian u64 words without copying, or
// nil and false when that is not possible (big-endian host, misaligned b, or
// a length that is not a multiple of 8).
func u64sInPlace(b []byte) ([]uint64, bool) {
	if !littleEndian || len(b)%8 != 0 || !isAligned(b) {
		return nil, false
	}
	if len(b) == 0 {
		return []uint64{}, true
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8), true
}

// u32sInPlace is u64sInPlace for u32 arrays (4-byte alignment suffices).
func u32sInPlace(b []byte) ([]uint32, bool) {
	if !littleEndian || len(b)%4 != 0 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%4 != 0 {
		return nil, false
	}
	if len(b) == 0 {
		return []uint32{}, true
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4), true
}

// bytesString returns the bytes of b as a string without copying. The shard
// bytes are never written after OpenShard, so the string stays immutable for
// as long as the Shard that owns them is reachable.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// stringBytes returns the bytes of s without copying. The result must only
// be read.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// sliceAddr returns the address of b's first byte.
func sliceAddr(b []byte) uintptr {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))
}
