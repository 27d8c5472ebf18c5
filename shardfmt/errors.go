package shardfmt

import (
	"errors"
	"fmt"
)

// ErrCorrupt is wrapped by every error that reports a damaged or malformed
// shard or index: bad magic, checksum mismatch, out-of-bounds offsets,
// unsorted keys and so on. It is distinct from I/O errors, so that a server
// can tell "this build is bad, keep serving the old one" from "the disk is
// gone".
var ErrCorrupt = errors.New("shardfmt: corrupt shard")

// ErrUnsupported is wrapped by errors that report a well-formed file this
// package cannot read: an unknown major version, an unknown required feature
// bit, a required section kind or codec it does not know. Such a file was
// most likely written by a newer redirc. It does not wrap ErrCorrupt.
var ErrUnsupported = errors.New("shardfmt: unsupported shard format")

// ErrInvalidEntry is wrapped by EncodeShard errors about one of its input
// entries: a duplicate key, a key of another shard, a bad status or flags,
// a key or destination that is too long.
var ErrInvalidEntry = errors.New("shardfmt: invalid entry")

// ErrShardTooLarge is returned by EncodeShard when the shard would not fit
// the u32 offsets of format v1 (MaxFileSize).
var ErrShardTooLarge = errors.New("shardfmt: shard too large")

// CorruptError reports a structural or checksum problem in a shard at a byte
// offset. It matches ErrCorrupt with errors.Is.
type CorruptError struct {
	// Off is the byte offset in the file of the offending field.
	Off int64
	// Msg says what is wrong.
	Msg string
}

// Error returns a message like "shardfmt: corrupt shard at byte 0x1f: msg".
func (e *CorruptError) Error() string {
	return fmt.Sprintf("%v at byte %#x: %s", ErrCorrupt, e.Off, e.Msg)
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// corruptf builds a *CorruptError. It is only called on the error path.
func corruptf(off uint64, format string, args ...any) error {
	return &CorruptError{Off: int64(off), Msg: fmt.Sprintf(format, args...)}
}

// unsupportedError reports a file this reader does not understand, at a byte
// offset. It matches ErrUnsupported, not ErrCorrupt.
type unsupportedError struct {
	off int64
	msg string
}

func (e *unsupportedError) Error() string {
	return fmt.Sprintf("%v at byte %#x: %s", ErrUnsupported, e.off, e.msg)
}

func (e *unsupportedError) Is(target error) bool { return target == ErrUnsupported }

func unsupportedf(off uint64, format string, args ...any) error {
	return &unsupportedError{off: int64(off), msg: fmt.Sprintf(format, args...)}
}
