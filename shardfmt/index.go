package shardfmt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// IndexFileName is the name of a build's table of contents inside the build
// directory. The compiler writes it last, by atomic rename, so that a reader
// sees either the old build or the new one.
const IndexFileName = "index.json"

// LockFileName is the name of the lock file a writer may keep in a build
// directory (the compiler flocks it for the whole of a write, so that two
// builds into one directory take turns). It is empty, never part of a
// build, never removed, and readers ignore it.
const LockFileName = ".redirc.lock"

// IndexFormat is the value of Index.Format this package writes and reads.
const IndexFormat = 1

// Index is a build's table of contents: which shard files make up the build
// and what they hold. It is JSON, human-readable and deterministic (it holds
// no timestamps), so the same input gives a byte-identical index.
type Index struct {
	// Format is IndexFormat.
	Format int `json:"format"`
	// BuildID identifies the build: 32 lower-case hex characters, equal to
	// ComputeBuildID of the other fields. ParseIndex refuses an index whose
	// id does not match, so an edited flag cannot change answers silently.
	BuildID string `json:"buildId"`
	// HashSeed is the seed of Hash for every key of the build.
	HashSeed uint64 `json:"hashSeed"`
	// ShardCount is the number of shards, len(Shards).
	ShardCount int `json:"shardCount"`
	// Rules is the total number of entries, the sum of Shards[i].Rules.
	Rules int `json:"rules"`
	// StrictTrailingSlash says "/a" and "/a/" are different keys.
	StrictTrailingSlash bool `json:"strictTrailingSlash"`
	// HostRules says some key is host-scoped.
	HostRules bool `json:"hostRules"`
	// CaseSensitiveRules says some rule matches case-sensitively.
	CaseSensitiveRules bool `json:"caseSensitiveRules"`
	// PrefixRules says some rule is a prefix rule.
	PrefixRules bool `json:"prefixRules"`
	// MaxPrefixSegments is the largest number of path segments of a prefix
	// rule, so that a lookup knows how many prefixes to try.
	MaxPrefixSegments int `json:"maxPrefixSegments"`
	// Shards lists the shard files in shard order.
	Shards []IndexShard `json:"shards"`
	// FormatMinor is FormatMinorPatterns when the build has a pattern file
	// (format 1.1, FORMAT.md §10), 0 (absent) otherwise.
	FormatMinor int `json:"formatMinor,omitempty"`
	// Patterns, when not nil, describes the build's pattern file.
	Patterns *IndexPatterns `json:"patterns,omitempty"`
}

// IndexShard describes one shard file of a build.
type IndexShard struct {
	// File is ShardFileName(i, sum): a bare file name, never a path.
	File string `json:"file"`
	// Hash is the xxhash64 of the whole shard file as 16 lower-case hex
	// characters.
	Hash string `json:"xxh64"`
	// Rules is the number of entries in the shard.
	Rules int `json:"rules"`
	// Size is the size of the shard file in bytes.
	Size int64 `json:"size"`
}

// ShardFileName returns the content-addressed file name of shard index whose
// whole-file xxhash64 is sum, such as "s00042-0123456789abcdef.rdx". An
// unchanged shard keeps its name across builds, which lets CDN caches and
// incremental deploys skip it.
func ShardFileName(index int, sum uint64) string {
	return fmt.Sprintf("s%05d-%016x.rdx", index, sum)
}

// FormatHash formats a whole-file xxhash64 the way IndexShard.Hash holds it.
func FormatHash(sum uint64) string { return fmt.Sprintf("%016x", sum) }

// Marshal returns the index as indented JSON with a trailing newline. The
// output depends only on the index's fields. It refuses an index that
// ParseIndex would reject, so a build can never write an unreadable index:
// in particular BuildID must be ComputeBuildID(), set after every other
// field.
func (ix *Index) Marshal() ([]byte, error) {
	if err := ix.validate(); err != nil {
		return nil, err
	}
	return ix.marshal()
}

// marshal is Marshal without the validation.
func (ix *Index) marshal() ([]byte, error) {
	b, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("shardfmt: marshal index: %w", err)
	}
	return append(b, '\n'), nil
}

// buildIDSeed2 seeds the second of the two xxhash64 digests that make up a
// build id (the first has seed 0).
const buildIDSeed2 = 0x9e3779b97f4a7c15

// ComputeBuildID returns the build id the index's content calls for: the
// value Index.BuildID must hold. It covers every field that can change an
// answer, directly or through the shard files (FORMAT.md, "Build id"):
// Format, HashSeed, ShardCount, StrictTrailingSlash, HostRules,
// CaseSensitiveRules, PrefixRules, MaxPrefixSegments, and every shard's Size
// and Hash (the whole-file xxhash64, which covers the shard's entries and its
// header's index, count, seed and entry count). File and the rule counts are
// not hashed: File must be ShardFileName(i, Hash), and the rule counts must
// equal the shards' headers (LoadBuild) and add up to Rules (ParseIndex).
//
// The id is two xxhash64 digests (seeds 0 and 0x9e3779b97f4a7c15) of the
// line "redirc/<format>/<hashSeed>/<shardCount>/<strictTrailingSlash>/
// <hostRules>/<caseSensitiveRules>/<prefixRules>/<maxPrefixSegments>\n"
// (decimal integers, true or false) followed, for each shard in order, by
// its Size as a little-endian u64 and its Hash as 16 ASCII hex characters;
// printed as 32 lower-case hex characters. Equal builds share an id and any
// change gives a new one. It is a checksum, not authentication: whoever can
// write index.json can also write a matching id.
func (ix *Index) ComputeBuildID() string {
	var line [128]byte
	l := append(line[:0], "redirc/"...)
	l = strconv.AppendInt(l, int64(ix.Format), 10)
	l = append(l, '/')
	l = strconv.AppendUint(l, ix.HashSeed, 10)
	l = append(l, '/')
	l = strconv.AppendInt(l, int64(ix.ShardCount), 10)
	for _, f := range [...]bool{ix.StrictTrailingSlash, ix.HostRules, ix.CaseSensitiveRules, ix.PrefixRules} {
		l = append(l, '/')
		l = strconv.AppendBool(l, f)
	}
	l = append(l, '/')
	l = strconv.AppendInt(l, int64(ix.MaxPrefixSegments), 10)
	l = append(l, '\n')

	var d1, d2 xxhash.Digest
	d1.ResetWithSeed(0)
	d2.ResetWithSeed(buildIDSeed2)
	d1.Write(l)
	d2.Write(l)
	var rec [8 + 16]byte
	for i := range ix.Shards {
		s := &ix.Shards[i]
		binary.LittleEndian.PutUint64(rec[:8], uint64(s.Size))
		r := append(rec[:8], s.Hash...)
		d1.Write(r)
		d2.Write(r)
	}
	if ix.FormatMinor != 0 || ix.Patterns != nil {
		// Format 1.1 (FORMAT.md §10): builds without patterns keep
		// their ids.
		l = append(l[:0], "patterns/"...)
		l = strconv.AppendInt(l, int64(ix.FormatMinor), 10)
		if p := ix.Patterns; p != nil {
			l = append(l, '/')
			l = strconv.AppendInt(l, p.Size, 10)
			l = append(l, '/')
			l = append(l, p.Hash...)
			l = append(l, '/')
			l = strconv.AppendInt(l, int64(p.Rules), 10)
		}
		l = append(l, '\n')
		d1.Write(l)
		d2.Write(l)
	}
	var id [32]byte
	hexU64(id[:16], d1.Sum64())
	hexU64(id[16:], d2.Sum64())
	return string(id[:])
}

// hexU64 writes v as 16 lower-case hex digits into b.
func hexU64(b []byte, v uint64) {
	const digits = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
}

// ParseIndex parses and validates an index file. It is strict: unknown
// fields, trailing data, a format other than IndexFormat, a shard count that
// disagrees with the shard list or is outside 1..MaxShardCount, a file name
// that is not exactly ShardFileName(i, hash) (so never a path), a malformed
// hash or build id, negative counts or sizes, a rule total that is not the
// sum of the shards', and a build id other than ComputeBuildID (an index
// edited or damaged after it was written) are all errors wrapping ErrCorrupt
// (a newer format wraps ErrUnsupported instead).
func ParseIndex(b []byte) (*Index, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var ix Index
	if err := dec.Decode(&ix); err != nil {
		return nil, indexErrorf("%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, indexErrorf("data after the JSON object")
	}
	if err := ix.validate(); err != nil {
		return nil, err
	}
	// encoding/json matches field names case-insensitively and lets a
	// repeated key overwrite the first; a strict reader accepts neither.
	// An index exactly as Marshal writes it (what the compiler writes) has
	// neither, and re-marshaling costs far less than walking the tokens,
	// which allocates for every one of them.
	if canon, err := ix.marshal(); err != nil || !bytes.Equal(canon, b) {
		if err := checkIndexKeys(b); err != nil {
			return nil, err
		}
	}
	return &ix, nil
}

var (
	indexKeys      = jsonKeys(Index{})
	indexShardKeys = jsonKeys(IndexShard{})
)

// jsonKeys returns the JSON names of a struct's fields.
func jsonKeys(v any) map[string]bool {
	t := reflect.TypeOf(v)
	keys := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys[name] = true
	}
	return keys
}

// checkIndexKeys checks that every object key of an index that
// json.Unmarshal already accepted is spelled exactly as in the struct tags and
// appears once. It walks the tokens of the two levels that have objects: the
// index and its shards.
func checkIndexKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // {
		return indexErrorf("%v", err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return indexErrorf("%v", err)
		}
		key, _ := tok.(string)
		if err := checkKey(key, indexKeys, seen, ""); err != nil {
			return err
		}
		if key != "shards" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return indexErrorf("%v", err)
			}
			continue
		}
		if tok, err := dec.Token(); err != nil || tok == nil { // [ or null
			if err != nil {
				return indexErrorf("%v", err)
			}
			continue
		}
		for i := 0; dec.More(); i++ {
			if _, err := dec.Token(); err != nil { // {
				return indexErrorf("%v", err)
			}
			seenShard := map[string]bool{}
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return indexErrorf("%v", err)
				}
				key, _ := tok.(string)
				if err := checkKey(key, indexShardKeys, seenShard, fmt.Sprintf("shard %d: ", i)); err != nil {
					return err
				}
				if _, err := dec.Token(); err != nil { // a scalar value
					return indexErrorf("%v", err)
				}
			}
			if _, err := dec.Token(); err != nil { // }
				return indexErrorf("%v", err)
			}
		}
		if _, err := dec.Token(); err != nil { // ]
			return indexErrorf("%v", err)
		}
	}
	return nil
}

func checkKey(key string, known, seen map[string]bool, where string) error {
	if !known[key] {
		return indexErrorf("%sfield %q is not one of the index's fields (names are case-sensitive)", where, key)
	}
	if seen[key] {
		return indexErrorf("%sfield %q appears twice", where, key)
	}
	seen[key] = true
	return nil
}

// validate checks the rules ParseIndex documents.
func (ix *Index) validate() error {
	switch {
	case ix.Format > IndexFormat:
		return fmt.Errorf("%w: index format %d, this reader reads format %d", ErrUnsupported, ix.Format, IndexFormat)
	case ix.Format != IndexFormat:
		return indexErrorf("format %d, want %d", ix.Format, IndexFormat)
	case !isLowerHex(ix.BuildID, 32):
		return indexErrorf("build id %q is not 32 lower-case hex characters", ix.BuildID)
	case ix.ShardCount < 1 || ix.ShardCount > MaxShardCount:
		return indexErrorf("shard count %d out of range 1..%d", ix.ShardCount, MaxShardCount)
	case ix.ShardCount != len(ix.Shards):
		return indexErrorf("shard count %d, but %d shards listed", ix.ShardCount, len(ix.Shards))
	case ix.Rules < 0:
		return indexErrorf("rule count %d is negative", ix.Rules)
	case ix.MaxPrefixSegments < 0:
		return indexErrorf("max prefix segments %d is negative", ix.MaxPrefixSegments)
	}
	total := 0
	for i := range ix.Shards {
		s := &ix.Shards[i]
		sum, err := parseHash(s.Hash)
		if err != nil {
			return indexErrorf("shard %d: %v", i, err)
		}
		if want := ShardFileName(i, sum); s.File != want {
			return indexErrorf("shard %d: file name %q, want %q", i, s.File, want)
		}
		if s.Rules < 0 {
			return indexErrorf("shard %d: rule count %d is negative", i, s.Rules)
		}
		if s.Size < 0 {
			return indexErrorf("shard %d: size %d is negative", i, s.Size)
		}
		// Rules per shard are bounded by the file size limit, so the
		// total cannot overflow with at most MaxShardCount shards.
		if uint64(s.Rules) > MaxFileSize/minEntryBytes {
			return indexErrorf("shard %d: rule count %d too large", i, s.Rules)
		}
		total += s.Rules
	}
	if total != ix.Rules {
		return indexErrorf("rule count %d, but the shards hold %d", ix.Rules, total)
	}
	if err := ix.validatePatterns(); err != nil {
		return err
	}
	// Last, so that every other problem gets its own message: any edit to
	// a field that changes answers (a flag, the seed, a shard's hash or
	// size) changes the id.
	if id := ix.ComputeBuildID(); id != ix.BuildID {
		return indexErrorf("build id %s does not match the index's content (computed %s): the index was altered or damaged after it was written", ix.BuildID, id)
	}
	return nil
}

// parseHash parses a whole-file xxhash64 in the form IndexShard.Hash holds:
// exactly 16 lower-case hex characters.
func parseHash(s string) (uint64, error) {
	if !isLowerHex(s, 16) {
		return 0, fmt.Errorf("xxh64 %q is not 16 lower-case hex characters", s)
	}
	return strconv.ParseUint(s, 16, 64)
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// indexError reports a malformed index file. It matches ErrCorrupt.
type indexError struct{ msg string }

func (e *indexError) Error() string { return "shardfmt: corrupt index: " + e.msg }

func (e *indexError) Is(target error) bool { return target == ErrCorrupt }

func indexErrorf(format string, args ...any) error {
	return &indexError{fmt.Sprintf(format, args...)}
}
