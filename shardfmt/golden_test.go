package shardfmt

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/cespare/xxhash/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenDir holds the v1 golden builds. Files there are only ever rewritten
// with `go test ./shardfmt -run Golden -update`; every later version of this
// package must still read them.
var goldenDir = filepath.Join("..", "testdata", "golden", "v1")

// goldenBuild describes one golden build directory.
type goldenBuild struct {
	name    string
	seed    uint64
	count   int
	entries []Entry
	flags   func(*Index) // sets the index's rule-kind fields
}

// goldenBuilds returns the content of the golden builds. Changing it changes
// the golden files: do not, add a new build instead.
func goldenBuilds() []goldenBuild {
	// "build": 4 shards, seeded, shard 3 left empty on purpose.
	const seed, count = 0x0123456789abcdef, 4
	candidates := []Entry{
		{Key: "/", Dest: "https://example.com/home", Status: 301},
		{Key: "/old", Dest: "/new", Status: 308, Flags: FlagQuery},
		{Key: "/old/", Dest: "/new", Status: 308, Flags: FlagQuery},
		{Key: "/docs", Dest: "https://docs.example.com/", Status: 302},
		{Key: "/docs/v1", Dest: "https://docs.example.com/v1/:splat", Status: 307, Flags: FlagSplat},
		{Key: "/docs/v2", Dest: "https://docs.example.com/v2/:splat", Status: 307, Flags: FlagSplat | FlagQuery},
		{Key: "/gone", Status: 410},
		{Key: "/gone-with-note", Dest: "https://example.com/why", Status: 410},
		{Key: "/promo", Dest: "https://shop.example.com/sale", Status: 302, Expires: 1767225600},
		{Key: "/see-other", Dest: "/other", Status: 303},
		{Key: "/caf%C3%A9", Dest: "/cafe", Status: 301},
		{Key: "shop.example.com/cards", Dest: "https://shop.example.com/gift-cards", Status: 301},
		{Key: "SHOP.example.com/Cards", Dest: "https://shop.example.com/gift-cards", Status: 301},
		{Key: "\x00", Dest: "/nul", Status: 301},
		{Key: "\xff\xfe", Dest: "/ff", Status: 301},
		{Key: "", Dest: "/empty-key", Status: 308},
		{Key: "/a/b/c/d/e/f/g/h", Dest: "https://example.com/deep", Status: 301},
		{Key: "/shared-1", Dest: "https://example.com/shared", Status: 301},
		{Key: "/shared-2", Dest: "https://example.com/shared", Status: 302},
		{Key: "/shared-3", Dest: "https://example.com/shared", Status: 307},
		{Key: "/expired", Dest: "/x", Status: 301, Expires: 1},
		{Key: "/max-expires", Dest: "/y", Status: 301, Expires: 0xffffffff},
		{Key: "/long-dest", Dest: "https://example.com/" + strings.Repeat("0123456789", 30), Status: 301},
	}
	var entries []Entry
	for _, e := range candidates {
		if ShardOf(HashString(seed, e.Key), count) != 3 {
			entries = append(entries, e)
		}
	}
	return []goldenBuild{
		{"build", seed, count, entries, func(ix *Index) {
			ix.HostRules, ix.PrefixRules, ix.MaxPrefixSegments = true, true, 2
		}},
		// "unseeded": one shard, seed 0 (plain xxhash64), nothing else.
		{"unseeded", 0, 1, []Entry{
			{Key: "/a", Dest: "/b", Status: 301},
			{Key: "/docs/intro", Dest: "https://example.org/intro", Status: 308, Flags: FlagQuery},
			{Key: "/x", Status: 410, Expires: 1700000000},
		}, nil},
	}
}

// encodeGolden returns the shard images and index of a golden build.
func encodeGolden(t *testing.T, g goldenBuild) ([][]byte, *Index) {
	t.Helper()
	files := encodeBuild(t, g.entries, g.seed, g.count)
	ix := &Index{Format: IndexFormat, HashSeed: g.seed, ShardCount: g.count}
	for i, f := range files {
		sum := xxhash.Sum64(f)
		n := len(bucket(g.entries, g.seed, g.count)[i])
		ix.Shards = append(ix.Shards, IndexShard{File: ShardFileName(i, sum), Hash: FormatHash(sum), Rules: n, Size: int64(len(f))})
		ix.Rules += n
	}
	if g.flags != nil {
		g.flags(ix)
	}
	ix.BuildID = ix.ComputeBuildID()
	return files, ix
}

func TestGolden(t *testing.T) {
	for _, g := range goldenBuilds() {
		t.Run(g.name, func(t *testing.T) {
			dir := filepath.Join(goldenDir, g.name)
			files, ix := encodeGolden(t, g)
			ixb, err := ix.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				writeGolden(t, dir, files, ix, ixb)
			}

			// The current writer produces the golden bytes exactly.
			for i, f := range files {
				path := filepath.Join(dir, ix.Shards[i].File)
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (regenerate with -update only if the format was meant to change)", err)
				}
				if !bytes.Equal(f, want) {
					t.Errorf("%s: encoded bytes differ from the golden file at byte %#x", path, firstDiff(f, want))
				}
			}
			want, err := os.ReadFile(filepath.Join(dir, IndexFileName))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ixb, want) {
				t.Errorf("index differs from the golden file:\n%s\nwant:\n%s", ixb, want)
			}

			// The golden files read back with the right content.
			b, err := LoadBuild(dir)
			if err != nil {
				t.Fatal(err)
			}
			checkGoldenBuild(t, b, g)
		})
	}
}

// checkGoldenBuild checks that b holds exactly g's entries.
func checkGoldenBuild(t *testing.T, b *Build, g goldenBuild) {
	t.Helper()
	if b.Index.Rules != len(g.entries) || b.Index.HashSeed != g.seed || len(b.Shards) != g.count {
		t.Fatalf("index: %d rules, seed %#x, %d shards", b.Index.Rules, b.Index.HashSeed, len(b.Shards))
	}
	for _, e := range g.entries {
		rec, ok := b.FindString(e.Key)
		if !ok {
			t.Errorf("key %q not found", e.Key)
			continue
		}
		if got := (Entry{e.Key, rec.Dest, rec.Status, rec.Flags, rec.Expires}); got != e {
			t.Errorf("key %q: got %+v, want %+v", e.Key, got, e)
		}
	}
	for _, k := range []string{"/nope", "/old//", "/OLD", "/gone/", "\x00\x00", "/docs/v3"} {
		if rec, ok := b.FindString(k); ok {
			t.Errorf("absent key %q found: %+v", k, rec)
		}
	}
}

func writeGolden(t *testing.T, dir string, files [][]byte, ix *Index, ixb []byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.rdx"))
	for _, f := range old {
		os.Remove(f)
	}
	for i, f := range files {
		if err := os.WriteFile(filepath.Join(dir, ix.Shards[i].File), f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, IndexFileName), ixb, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("rewrote %s", dir)
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// goldenShards returns the bytes of every golden shard file.
func goldenShards(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(goldenDir, "*", "*.rdx"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden shards in %s: %v", goldenDir, err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p)] = b
	}
	return out
}

// TestGoldenDecodePath reads the golden shards through the copying decoder
// that big-endian hosts use.
func TestGoldenDecodePath(t *testing.T) {
	for name, b := range goldenShards(t) {
		s1, err := openShard(alignedCopy(b), true)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s2, err := openShard(alignedCopy(b), false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range s1.Len() {
			k1, r1 := s1.At(i)
			k2, r2 := s2.At(i)
			if k1 != k2 || r1 != r2 {
				t.Fatalf("%s: entry %d differs: %q %+v vs %q %+v", name, i, k1, r1, k2, r2)
			}
			if r, ok := s2.FindString(HashString(s2.Seed(), k2), k2); !ok || r != r2 {
				t.Fatalf("%s: decode path: FindString(%q) = %+v, %v", name, k2, r, ok)
			}
		}
	}
}

// TestGoldenBloom pins the Bloom hash scheme, which is part of the format:
// for known keys, exactly these bits are set. bloom/v3's own hashing is not
// involved, so a change to it cannot break this.
func TestGoldenBloom(t *testing.T) {
	for _, tc := range []struct {
		key  string
		seed uint64
		want []uint64
	}{
		// Two of the ten probes of "/a" coincide.
		{"/a", 0, []uint64{0x4c, 0x9f, 0xa3, 0xa4, 0xca, 0xd0, 0x10f, 0x174, 0x17d}},
		{"/docs/intro", 0, []uint64{0xc, 0x2d, 0x32, 0x98, 0xb6, 0xd1, 0x187, 0x1a7, 0x1bf, 0x1e4}},
		{"/docs/intro", 0xdeadbeef, []uint64{0x54, 0x107, 0x139, 0x166, 0x16b, 0x1ae, 0x1c8, 0x1df, 0x1e7, 0x1eb}},
	} {
		b, err := EncodeShard([]Entry{{Key: tc.key, Dest: "/", Status: 301}}, ShardOptions{Count: 1, Seed: tc.seed})
		if err != nil {
			t.Fatal(err)
		}
		s := mustOpen(t, b)
		if s.bloom.k != 10 || s.bloom.blocks != 1 {
			t.Fatalf("bloom shape k=%d blocks=%d, want k=10 blocks=1", s.bloom.k, s.bloom.blocks)
		}
		var got []uint64
		bs := bloom.FromWithM(s.bloom.words, uint(s.bloom.blocks*BloomBlockBits), uint(s.bloom.k)).BitSet()
		for i, ok := bs.NextSet(0); ok; i, ok = bs.NextSet(i + 1) {
			got = append(got, uint64(i))
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("key %q seed %#x: set bits %#v, want %#v", tc.key, tc.seed, got, tc.want)
		}
	}
	// The probe sequence for a fixed hash over several blocks.
	var locs [MaxBloomK]uint64
	bloomLocations(&locs, 0x0123456789abcdef, 1000, 16)
	want := []uint64{0x39413, 0x395e5, 0x3945b, 0x395fa, 0x394e7, 0x3946c, 0x395d4, 0x395d5,
		0x3943a, 0x395d7, 0x395ee, 0x3940e, 0x3954b, 0x3951a, 0x394a7, 0x3946d}
	if fmt.Sprint(locs[:]) != fmt.Sprint(want) {
		t.Errorf("bloomLocations = %#v, want %#v", locs, want)
	}
}
