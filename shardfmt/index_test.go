package shardfmt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

func TestShardFileName(t *testing.T) {
	for _, tc := range []struct {
		i    int
		sum  uint64
		want string
	}{
		{0, 0, "s00000-0000000000000000.rdx"},
		{42, 0x0123456789abcdef, "s00042-0123456789abcdef.rdx"},
		{MaxShardCount - 1, 1<<64 - 1, "s1048575-ffffffffffffffff.rdx"},
	} {
		if got := ShardFileName(tc.i, tc.sum); got != tc.want {
			t.Errorf("ShardFileName(%d, %#x) = %q, want %q", tc.i, tc.sum, got, tc.want)
		}
	}
}

// testIndexID is ComputeBuildID of testIndex, pinned: the formula is part
// of the format (builds already written must keep loading).
const testIndexID = "87e42eda737c4dff107ccd9779764408"

func testIndex() *Index {
	return &Index{
		Format: IndexFormat, BuildID: testIndexID, HashSeed: 1<<64 - 1,
		ShardCount: 2, Rules: 5, HostRules: true, MaxPrefixSegments: 3,
		Shards: []IndexShard{
			{File: ShardFileName(0, 0xaa), Hash: FormatHash(0xaa), Rules: 2, Size: 500},
			{File: ShardFileName(1, 0xbb), Hash: FormatHash(0xbb), Rules: 3, Size: 600},
		},
	}
}

func TestIndexRoundTrip(t *testing.T) {
	ix := testIndex()
	b, err := ix.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte("}\n")) || !bytes.Contains(b, []byte("\n  \"buildId\": ")) {
		t.Errorf("Marshal output is not indented JSON with a trailing newline:\n%s", b)
	}
	// Exact uint64 seeds survive (no float64 detour).
	if !bytes.Contains(b, []byte(`"hashSeed": 18446744073709551615,`)) {
		t.Errorf("hash seed not written exactly:\n%s", b)
	}
	got, err := ParseIndex(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := got.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Errorf("Marshal(ParseIndex(b)) != b:\n%s\nvs\n%s", b2, b)
	}
}

func TestParseIndexErrors(t *testing.T) {
	good, err := testIndex().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) string {
		if !strings.Contains(string(good), old) {
			t.Fatalf("test bug: %q not in the index", old)
		}
		return strings.Replace(string(good), old, new, 1)
	}
	name0, name1 := ShardFileName(0, 0xaa), ShardFileName(1, 0xbb)
	const idMismatch = "shardfmt: corrupt index: build id " + testIndexID + " does not match the index's content (computed "
	for _, tc := range []struct {
		name, in, want string
		unsupported    bool
	}{
		{"UnknownField", edit(`"rules": 5,`, `"rules": 5, "extra": 1,`), `shardfmt: corrupt index: json: unknown field "extra"`, false},
		{"UnknownShardField", edit(`"rules": 2,`, `"rules": 2, "path": "/etc",`), `shardfmt: corrupt index: json: unknown field "path"`, false},
		{"CaseVariant", edit(`"format": 1`, `"Format": 1`), `shardfmt: corrupt index: field "Format" is not one of the index's fields (names are case-sensitive)`, false},
		{"ShardCaseVariant", edit(`"xxh64": "00000000000000aa"`, `"XXH64": "00000000000000aa"`), `shardfmt: corrupt index: shard 0: field "XXH64" is not one of the index's fields (names are case-sensitive)`, false},
		{"DuplicateKey", edit(`"rules": 5,`, `"rules": 5, "rules": 5,`), `shardfmt: corrupt index: field "rules" appears twice`, false},
		{"DuplicateShardKey", edit(`"rules": 3,`, `"rules": 3, "rules": 3,`), `shardfmt: corrupt index: shard 1: field "rules" appears twice`, false},
		{"TrailingData", string(good) + "{}", `shardfmt: corrupt index: data after the JSON object`, false},
		{"NotJSON", "nope", `shardfmt: corrupt index: invalid character 'o' in literal null (expecting 'u')`, false},
		{"Empty", "", `shardfmt: corrupt index: EOF`, false},
		{"Null", "null", `shardfmt: corrupt index: format 0, want 1`, false},
		{"Format0", edit(`"format": 1`, `"format": 0`), `shardfmt: corrupt index: format 0, want 1`, false},
		{"Format2", edit(`"format": 1`, `"format": 2`), `shardfmt: unsupported shard format: index format 2, this reader reads format 1`, true},
		{"BuildIDShort", edit(testIndexID, `0123`), `shardfmt: corrupt index: build id "0123" is not 32 lower-case hex characters`, false},
		{"BuildIDUpper", edit(testIndexID, strings.ToUpper(testIndexID)), `shardfmt: corrupt index: build id "` + strings.ToUpper(testIndexID) + `" is not 32 lower-case hex characters`, false},
		{"CountMismatch", edit(`"shardCount": 2`, `"shardCount": 3`), `shardfmt: corrupt index: shard count 3, but 2 shards listed`, false},
		{"Count0", edit(`"shardCount": 2`, `"shardCount": 0`), `shardfmt: corrupt index: shard count 0 out of range 1..1048576`, false},
		{"CountHuge", edit(`"shardCount": 2`, `"shardCount": 1048577`), `shardfmt: corrupt index: shard count 1048577 out of range 1..1048576`, false},
		{"DotDot", edit(name0, "../x"), `shardfmt: corrupt index: shard 0: file name "../x", want "` + name0 + `"`, false},
		{"Slash", edit(name0, "sub/"+name0), `shardfmt: corrupt index: shard 0: file name "sub/` + name0 + `", want "` + name0 + `"`, false},
		{"AbsPath", edit(name0, "/tmp/"+name0), `shardfmt: corrupt index: shard 0: file name "/tmp/` + name0 + `", want "` + name0 + `"`, false},
		{"WrongIndexInName", edit(name1, ShardFileName(0, 0xbb)), `shardfmt: corrupt index: shard 1: file name "` + ShardFileName(0, 0xbb) + `", want "` + name1 + `"`, false},
		{"NameHashMismatch", edit(name1, ShardFileName(1, 0xbc)), `shardfmt: corrupt index: shard 1: file name "` + ShardFileName(1, 0xbc) + `", want "` + name1 + `"`, false},
		{"HashUpper", edit(`"xxh64": "00000000000000aa"`, `"xxh64": "00000000000000AA"`), `shardfmt: corrupt index: shard 0: xxh64 "00000000000000AA" is not 16 lower-case hex characters`, false},
		{"HashShort", edit(`"xxh64": "00000000000000aa"`, `"xxh64": "aa"`), `shardfmt: corrupt index: shard 0: xxh64 "aa" is not 16 lower-case hex characters`, false},
		{"HashNotHex", edit(`"xxh64": "00000000000000aa"`, `"xxh64": "00000000000000ag"`), `shardfmt: corrupt index: shard 0: xxh64 "00000000000000ag" is not 16 lower-case hex characters`, false},
		{"NegativeRules", edit(`"rules": 2,`, `"rules": -2,`), `shardfmt: corrupt index: shard 0: rule count -2 is negative`, false},
		{"NegativeSize", edit(`"size": 500`, `"size": -1`), `shardfmt: corrupt index: shard 0: size -1 is negative`, false},
		{"NegativeTotal", edit(`"rules": 5,`, `"rules": -5,`), `shardfmt: corrupt index: rule count -5 is negative`, false},
		{"RulesSum", edit(`"rules": 5,`, `"rules": 6,`), `shardfmt: corrupt index: rule count 6, but the shards hold 5`, false},
		{"NegativePrefixSegments", edit(`"maxPrefixSegments": 3`, `"maxPrefixSegments": -1`), `shardfmt: corrupt index: max prefix segments -1 is negative`, false},
		// Fields that change answers, edited after the index was written:
		// the build id no longer matches.
		{"HashSeedEdited", edit(`"hashSeed": 18446744073709551615`, `"hashSeed": 18446744073709551614`), idMismatch, false},
		{"StrictEdited", edit(`"strictTrailingSlash": false`, `"strictTrailingSlash": true`), idMismatch, false},
		{"HostRulesEdited", edit(`"hostRules": true`, `"hostRules": false`), idMismatch, false},
		{"CaseRulesEdited", edit(`"caseSensitiveRules": false`, `"caseSensitiveRules": true`), idMismatch, false},
		{"PrefixRulesEdited", edit(`"prefixRules": false`, `"prefixRules": true`), idMismatch, false},
		{"MaxPrefixSegmentsEdited", edit(`"maxPrefixSegments": 3`, `"maxPrefixSegments": 4`), idMismatch, false},
		{"SizeEdited", edit(`"size": 500`, `"size": 501`), idMismatch, false},
		{"ShardHashEdited", strings.ReplaceAll(edit(`"xxh64": "00000000000000aa"`, `"xxh64": "00000000000000ab"`), name0, ShardFileName(0, 0xab)), idMismatch, false},
		{"BuildIDEdited", edit(testIndexID, strings.Repeat("0", 32)), `shardfmt: corrupt index: build id 00000000000000000000000000000000 does not match the index's content (computed ` + testIndexID + `): the index was altered or damaged after it was written`, false},
		{"SeedAsString", edit(`"hashSeed": 18446744073709551615`, `"hashSeed": "1"`), `shardfmt: corrupt index: json: cannot unmarshal string into Go struct field Index.hashSeed of type uint64`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseIndex([]byte(tc.in))
			if err == nil {
				t.Fatalf("ParseIndex succeeded, want %q", tc.want)
			}
			if err.Error() != tc.want && !(tc.want == idMismatch && strings.HasPrefix(err.Error(), idMismatch)) {
				t.Errorf("error %q\nwant  %q", err, tc.want)
			}
			if errors.Is(err, ErrCorrupt) == tc.unsupported || errors.Is(err, ErrUnsupported) != tc.unsupported {
				t.Errorf("error %v: Is(ErrCorrupt)=%v Is(ErrUnsupported)=%v", err, errors.Is(err, ErrCorrupt), errors.Is(err, ErrUnsupported))
			}
		})
	}
}

// TestMarshalRefusesInvalid checks that a build cannot write an index that
// ParseIndex would reject.
func TestMarshalRefusesInvalid(t *testing.T) {
	ix := testIndex()
	ix.Shards[0].File = "../evil"
	if _, err := ix.Marshal(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Marshal = %v, want an error wrapping ErrCorrupt", err)
	}
	ix = testIndex()
	ix.Format = 0
	if _, err := ix.Marshal(); err == nil {
		t.Fatal("Marshal accepted format 0")
	}
}

// copyGolden copies a golden build into a temporary directory.
func copyGolden(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(goldenDir, name)
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// rewriteIndex applies edit to dir's index and writes it back.
func rewriteIndex(t *testing.T, dir string, edit func(ix *Index)) {
	t.Helper()
	path := filepath.Join(dir, IndexFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := ParseIndex(b)
	if err != nil {
		t.Fatal(err)
	}
	edit(ix)
	// A consistent index (as a buggy writer might produce), so that the
	// checks against the shard files are what the test reaches.
	ix.BuildID = ix.ComputeBuildID()
	if b, err = ix.Marshal(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadBuild(t *testing.T) {
	for _, g := range goldenBuilds() {
		b, err := LoadBuild(copyGolden(t, g.name))
		if err != nil {
			t.Fatal(err)
		}
		checkGoldenBuild(t, b, g)
	}
}

func TestLoadBuildErrors(t *testing.T) {
	golden := goldenBuilds()[0]
	_, gix := encodeGolden(t, golden)
	f1 := gix.Shards[1].File

	// Another build with the same shard count but a different seed and
	// content, to take shards from.
	other := goldenBuild{name: "other", seed: 77, count: golden.count}
	for _, k := range []string{"/p", "/q", "/r", "/s", "/t", "/u", "/v", "/w"} {
		other.entries = append(other.entries, Entry{Key: k, Dest: "/z" + k, Status: 302})
	}
	ofiles, oix := encodeGolden(t, other)
	// Shard 1 of a build like the golden one (same seed and count) but with
	// other content.
	var same []Entry
	for i := 0; len(same) < 3; i++ {
		k := "/same/" + string(rune('a'+i))
		if ShardOf(HashString(golden.seed, k), golden.count) == 1 {
			same = append(same, Entry{Key: k, Dest: "/d", Status: 301})
		}
	}
	sameShard1, err := EncodeShard(same, ShardOptions{Index: 1, Count: golden.count, Seed: golden.seed})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string // substring of the error, after the directory
		is    error
	}{
		{"MissingIndex", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, IndexFileName))
		}, "index.json: no such file or directory", fs.ErrNotExist},
		{"CorruptIndex", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, IndexFileName), []byte(`{"format": 1, "x": 2}`), 0o644)
		}, `index.json: shardfmt: corrupt index: json: unknown field "x"`, ErrCorrupt},
		{"MissingShard", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, f1))
		}, f1 + ": no such file or directory", fs.ErrNotExist},
		{"FlippedByte", func(t *testing.T, dir string) {
			path := filepath.Join(dir, f1)
			b, _ := os.ReadFile(path)
			b[len(b)/2] ^= 0x10
			os.WriteFile(path, b, 0o644)
		}, f1 + ": shardfmt: corrupt shard at byte", ErrCorrupt},
		{"TruncatedShard", func(t *testing.T, dir string) {
			path := filepath.Join(dir, f1)
			b, _ := os.ReadFile(path)
			os.WriteFile(path, b[:len(b)-1], 0o644)
		}, f1 + ": shardfmt: corrupt shard at byte", ErrCorrupt},
		{"HashMismatch", func(t *testing.T, dir string) {
			// A valid shard 1 with the right seed and count, but not the
			// content the index names.
			os.WriteFile(filepath.Join(dir, f1), sameShard1, 0o644)
			rewriteIndex(t, dir, func(ix *Index) { ix.Shards[1].Size = int64(len(sameShard1)) })
		}, f1 + ": shardfmt: corrupt shard: xxh64 is " + FormatHash(xxhashSum(sameShard1)) + ", index says " + gix.Shards[1].Hash, ErrCorrupt},
		{"SizeMismatch", func(t *testing.T, dir string) {
			rewriteIndex(t, dir, func(ix *Index) { ix.Shards[1].Size++ })
		}, f1 + ": shardfmt: corrupt shard: file is " + itoa(gix.Shards[1].Size) + " bytes, index says " + itoa(gix.Shards[1].Size+1), ErrCorrupt},
		{"RulesMismatch", func(t *testing.T, dir string) {
			rewriteIndex(t, dir, func(ix *Index) { ix.Shards[1].Rules++; ix.Rules++ })
		}, f1 + ": shardfmt: corrupt shard: shard holds " + itoa(int64(gix.Shards[1].Rules)) + " rules, index says " + itoa(int64(gix.Shards[1].Rules+1)), ErrCorrupt},
		{"SwappedFromOtherBuild", func(t *testing.T, dir string) {
			// The other build's shard 1, listed (with its own hash) as
			// shard 1 of this build: the seeds disagree.
			os.WriteFile(filepath.Join(dir, oix.Shards[1].File), ofiles[1], 0o644)
			rewriteIndex(t, dir, func(ix *Index) {
				ix.Rules += oix.Shards[1].Rules - ix.Shards[1].Rules
				ix.Shards[1] = oix.Shards[1]
			})
		}, oix.Shards[1].File + ": shardfmt: corrupt shard: header says hash seed 0x4d, index says 0x123456789abcdef", ErrCorrupt},
		{"SwappedShardOrder", func(t *testing.T, dir string) {
			// Shard 2's file listed as shard 1 (under the name that
			// position requires).
			name := ShardFileName(1, xxhashSum(readFile(t, dir, gix.Shards[2].File)))
			os.WriteFile(filepath.Join(dir, name), readFile(t, dir, gix.Shards[2].File), 0o644)
			rewriteIndex(t, dir, func(ix *Index) {
				ix.Rules += ix.Shards[2].Rules - ix.Shards[1].Rules
				ix.Shards[1] = ix.Shards[2]
				ix.Shards[1].File = name
			})
		}, ": shardfmt: corrupt shard: header says shard 2, index lists it as shard 1", ErrCorrupt},
		{"WrongCount", func(t *testing.T, dir string) {
			// An index claiming 5 shards, the 5th being a copy of a shard
			// written for a 4-shard build.
			rewriteIndex(t, dir, func(ix *Index) {
				e := ix.Shards[3]
				e.File = ShardFileName(4, xxhashSum(readFile(t, dir, e.File)))
				os.WriteFile(filepath.Join(dir, e.File), readFile(t, dir, ix.Shards[3].File), 0o644)
				ix.Shards = append(ix.Shards, e)
				ix.ShardCount++
			})
		}, ": shardfmt: corrupt shard: header says 4 shards, index says 5", ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyGolden(t, golden.name)
			tc.setup(t, dir)
			_, err := LoadBuild(dir)
			if err == nil {
				t.Fatal("LoadBuild succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q\nwant it to name %s and contain %q", err, dir, tc.want)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
		})
	}
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// refBuildID is the build id formula as compiler/build.go wrote it before
// shardfmt owned it, kept verbatim: ComputeBuildID must agree with it, or
// builds already written would stop loading.
func refBuildID(ix *Index) string {
	d1, d2 := xxhash.New(), xxhash.NewWithSeed(0x9e3779b97f4a7c15)
	var hdr [8]byte
	for _, d := range []*xxhash.Digest{d1, d2} {
		fmt.Fprintf(d, "redirc/%d/%d/%d/%v/%v/%v/%v/%d\n", ix.Format, ix.HashSeed, ix.ShardCount, ix.StrictTrailingSlash,
			ix.HostRules, ix.CaseSensitiveRules, ix.PrefixRules, ix.MaxPrefixSegments)
		for _, s := range ix.Shards {
			binary.LittleEndian.PutUint64(hdr[:], uint64(s.Size))
			d.Write(hdr[:])
			d.WriteString(s.Hash)
		}
	}
	return fmt.Sprintf("%016x%016x", d1.Sum64(), d2.Sum64())
}

func TestComputeBuildIDFormula(t *testing.T) {
	if got := testIndex().ComputeBuildID(); got != testIndexID {
		t.Errorf("ComputeBuildID of testIndex = %s, want %s", got, testIndexID)
	}
	r := newRand(t)
	for range 1000 {
		ix := &Index{
			Format: r.IntN(3), HashSeed: r.Uint64() >> r.IntN(64), ShardCount: r.IntN(20),
			StrictTrailingSlash: r.IntN(2) == 0, HostRules: r.IntN(2) == 0, CaseSensitiveRules: r.IntN(2) == 0,
			PrefixRules: r.IntN(2) == 0, MaxPrefixSegments: r.IntN(100) - 1,
		}
		for i := range r.IntN(20) {
			sum := r.Uint64()
			ix.Shards = append(ix.Shards, IndexShard{File: ShardFileName(i, sum), Hash: FormatHash(sum), Size: r.Int64N(1 << 40)})
		}
		if got, want := ix.ComputeBuildID(), refBuildID(ix); got != want {
			t.Fatalf("ComputeBuildID(%+v) = %s, the compiler's formula gives %s", ix, got, want)
		}
	}
}

// TestLoadBuildRefusesAlteredIndex edits each index field that changes
// answers in a golden build, without fixing the build id: each must be
// refused as corruption. (Regression: flipping hostRules used to load, and
// host-scoped rules silently stopped matching.)
func TestLoadBuildRefusesAlteredIndex(t *testing.T) {
	golden := goldenBuilds()[0]
	for _, tc := range []struct{ name, old, new string }{
		{"hostRules", `"hostRules": true`, `"hostRules": false`},
		{"caseSensitiveRules", `"caseSensitiveRules": false`, `"caseSensitiveRules": true`},
		{"prefixRules", `"prefixRules": true`, `"prefixRules": false`},
		{"strictTrailingSlash", `"strictTrailingSlash": false`, `"strictTrailingSlash": true`},
		{"maxPrefixSegments", `"maxPrefixSegments": 2`, `"maxPrefixSegments": 1`},
		{"hashSeed", `"hashSeed": 81985529216486895`, `"hashSeed": 81985529216486896`},
		{"buildId", `"buildId": "`, `"buildId": "0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyGolden(t, golden.name)
			path := filepath.Join(dir, IndexFileName)
			b := readFile(t, dir, IndexFileName)
			if !bytes.Contains(b, []byte(tc.old)) {
				t.Fatalf("test bug: %q not in the index", tc.old)
			}
			b = bytes.Replace(b, []byte(tc.old), []byte(tc.new), 1)
			if tc.name == "buildId" { // keep it 32 characters
				i := bytes.Index(b, []byte(`"buildId": "`)) + len(`"buildId": "`)
				b = append(b[:i+32:i+32], b[i+33:]...)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadBuild(dir)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path+": shardfmt: corrupt index: build id ") {
				t.Fatalf("LoadBuild = %v, want ErrCorrupt naming %s and the build id", err, path)
			}
		})
	}
}
