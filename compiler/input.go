package compiler

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// This file holds what the command line needs around the readers: telling
// a manifest from binary data or a directory, sniffing the format of an
// input without a name (standard input), and ordering problems as the
// files were given.

// ErrIsDirectory is returned by ReadFile when the name is a directory.
var ErrIsDirectory = errors.New("is a directory, not a manifest")

// binarySniffBytes is how much of a manifest is searched for a NUL byte
// before it is parsed (git looks at 8000 bytes for the same purpose).
const binarySniffBytes = 8000

// BinaryError is returned by Read when the input holds a NUL byte near
// its start: it is binary data (an image, an archive, a build's shard
// file, a compressed file without its .gz or .zst suffix, UTF-16 text),
// not a manifest, and is reported as such instead of as lines of garbage.
type BinaryError struct {
	// File is the manifest's name.
	File string
	// Offset is the offset of the first NUL byte in the (decompressed) input.
	Offset int64
	// Kind names the data when its magic number is known ("gzip
	// compressed data", "UTF-16 text"); "" otherwise.
	Kind string
}

func (e *BinaryError) Error() string {
	s := fmt.Sprintf("%s: binary data (NUL byte at offset %d), not a manifest", e.File, e.Offset)
	if e.Kind != "" {
		s += "; it looks like " + e.Kind
	}
	return s
}

// sniffBinary returns a BinaryError when head, the start of the input
// after a byte order mark of skip bytes, holds a NUL byte.
func sniffBinary(name string, head []byte, skip int) error {
	i := bytes.IndexByte(head, 0)
	if i < 0 {
		return nil
	}
	e := &BinaryError{File: name, Offset: int64(skip + i)}
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		e.Kind = "gzip compressed data (name the file *.gz)"
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		e.Kind = "zstd compressed data (name the file *.zst)"
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}), bytes.HasPrefix(head, []byte{0xfe, 0xff}):
		e.Kind = "UTF-16 text (save it as UTF-8)"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		e.Kind = "a zip archive"
	}
	return e
}

// SniffFormat guesses the format of a manifest from its first bytes, for
// input without a file name (standard input). It returns FormatAuto and
// false when the start is not distinctive enough: then the caller must be
// told the format.
//
// A "[" starts JSON; a "{" starts JSONL when the first line holds a whole
// object and more follow, else JSON (a vercel.json object); a first line
// naming only rule fields, separated by commas, is a CSV header; a first
// rule line (after "#" comments and blank lines) with a tab is TSV, one
// with spaces is Netlify.
func SniffFormat(head []byte) (Format, bool) {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return FormatAuto, false
	case trimmed[0] == '[':
		return FormatJSON, true
	case trimmed[0] == '{':
		first, rest, ok := bytes.Cut(trimmed, []byte("\n"))
		first = bytes.TrimSpace(first)
		if ok && len(first) > 1 && first[len(first)-1] == '}' && bytes.HasPrefix(bytes.TrimLeft(rest, " \t\r\n"), []byte("{")) {
			return FormatJSONL, true
		}
		return FormatJSON, true
	}
	lines := bytes.Split(head, []byte("\n"))
	if first := bytes.TrimRight(lines[0], "\r"); bytes.IndexByte(first, ',') >= 0 {
		known := 0
		for _, f := range bytes.Split(first, []byte(",")) {
			f = bytes.Trim(bytes.TrimSpace(f), `"`)
			if k, _ := lookupFieldFold(string(f)); k != fieldUnknown {
				known++
			} else {
				return FormatAuto, false
			}
		}
		if known > 0 {
			return FormatCSV, true
		}
	}
	for _, l := range lines {
		l = bytes.TrimSpace(l)
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		if l[0] != '/' && !bytes.HasPrefix(l, []byte("http")) {
			return FormatAuto, false
		}
		if bytes.IndexByte(l, '\t') >= 0 {
			return FormatTSV, true
		}
		if bytes.IndexByte(l, ' ') >= 0 {
			return FormatNetlify, true
		}
		return FormatAuto, false
	}
	return FormatAuto, false
}

// SortProblems sorts problems by file, in the order of files (the order
// the manifests were given in), then by line. Problems of files not in
// files follow, by name; the sort is stable, so problems on one line keep
// their order.
func SortProblems(ps []Problem, files []string) {
	rank := make(map[string]int, len(files))
	for i, f := range files {
		if _, ok := rank[f]; !ok {
			rank[f] = i
		}
	}
	fileRank := func(f string) int {
		if r, ok := rank[f]; ok {
			return r
		}
		return len(files)
	}
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := cmp.Compare(fileRank(a.Pos.File), fileRank(b.Pos.File)); c != 0 {
			return c
		}
		if c := strings.Compare(a.Pos.File, b.Pos.File); c != 0 {
			return c
		}
		return cmp.Compare(a.Pos.Line, b.Pos.Line)
	})
}
