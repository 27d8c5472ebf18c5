package shardfmt

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bits-and-blooms/bloom/v3"
)

// checkShard asserts that s holds exactly want (key -> entry) and that keys
// not in want are not found.
func checkContents(t *testing.T, s *Shard, want map[string]Entry, r *rand.Rand, misses int) {
	t.Helper()
	if s.Len() != len(want) {
		t.Fatalf("Len() = %d, want %d", s.Len(), len(want))
	}
	for k, e := range want {
		rec, ok := s.Find(Hash(s.Seed(), []byte(k)), []byte(k))
		if !ok {
			t.Fatalf("Find(%q): not found", k)
		}
		if got := (Entry{k, rec.Dest, rec.Status, rec.Flags, rec.Expires}); got != e {
			t.Fatalf("Find(%q) = %+v, want %+v", k, got, e)
		}
		rec2, ok := s.FindString(HashString(s.Seed(), k), k)
		if !ok || rec2 != rec {
			t.Fatalf("FindString(%q) = %+v, %v; want %+v", k, rec2, ok, rec)
		}
	}
	// At iterates every entry exactly once, in (fingerprint, key) order.
	seen := 0
	for i := range s.Len() {
		k, rec := s.At(i)
		e, ok := want[k]
		if !ok {
			t.Fatalf("At(%d) = %q, not an input key", i, k)
		}
		if got := (Entry{k, rec.Dest, rec.Status, rec.Flags, rec.Expires}); got != e {
			t.Fatalf("At(%d) = %+v, want %+v", i, got, e)
		}
		seen++
	}
	if seen != len(want) {
		t.Fatalf("At visited %d entries, want %d", seen, len(want))
	}
	for range misses {
		k := randKey(r) + "\x00miss"
		if _, ok := want[k]; ok {
			continue
		}
		if rec, ok := s.Find(Hash(s.Seed(), []byte(k)), []byte(k)); ok {
			t.Fatalf("Find(%q) = %+v for an absent key", k, rec)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	r := newRand(t)
	for _, tc := range []struct {
		n, count int
		seed     uint64
	}{
		{0, 1, 0},
		{1, 1, 0},
		{2, 1, 7},
		{100, 3, 0xdeadbeef},
		{100000, 7, 42},
	} {
		t.Run(fmt.Sprintf("n=%d,count=%d", tc.n, tc.count), func(t *testing.T) {
			entries := randEntries(r, tc.n)
			byShard := bucket(entries, tc.seed, tc.count)
			total := 0
			for i, es := range byShard {
				want := make(map[string]Entry, len(es))
				for _, e := range es {
					want[e.Key] = e
				}
				b, err := EncodeShard(es, ShardOptions{Index: i, Count: tc.count, Seed: tc.seed})
				if err != nil {
					t.Fatal(err)
				}
				s := mustOpen(t, b)
				if s.Index() != i || s.Count() != tc.count || s.Seed() != tc.seed || s.Size() != len(b) {
					t.Fatalf("header: index %d count %d seed %#x size %d", s.Index(), s.Count(), s.Seed(), s.Size())
				}
				checkContents(t, s, want, r, 2000)
				total += s.Len()
			}
			if total != tc.n {
				t.Fatalf("shards hold %d entries, want %d", total, tc.n)
			}
		})
	}
}

func TestRoundTripSpecialKeys(t *testing.T) {
	r := newRand(t)
	long := strings.Repeat("/segment", 60<<10/8) // 60 KiB
	keys := []string{
		"", "\x00", "\xff", "\x00\x00", "\xff\xff\xff", "a\x00b", "/\xff/\x00",
		long, long + "x", strings.Repeat("\x00\xff", MaxKeyLen/2), // exactly MaxKeyLen
	}
	var entries []Entry
	want := map[string]Entry{}
	for i, k := range keys {
		e := Entry{Key: k, Dest: fmt.Sprintf("/dest/%d", i), Status: 308}
		if i == 2 {
			e.Dest = "/" + strings.Repeat("d", MaxDestLen-1) // exactly MaxDestLen
		}
		entries = append(entries, e)
		want[k] = e
	}
	b, err := EncodeShard(entries, ShardOptions{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkContents(t, mustOpen(t, b), want, r, 1000)
}

// TestSharedDestinations checks that equal destinations are stored once.
func TestSharedDestinations(t *testing.T) {
	dest := strings.Repeat("https://example.com/a-long-shared-destination/", 20)
	var entries []Entry
	for i := range 100 {
		entries = append(entries, Entry{Key: fmt.Sprintf("/k%d", i), Dest: dest, Status: 301})
	}
	b, err := EncodeShard(entries, ShardOptions{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c := bytes.Count(b, []byte(dest)); c != 1 {
		t.Errorf("destination stored %d times, want once", c)
	}
	_, _, n := secInfo(t, b, kindValueData)
	if n != len(dest) {
		t.Errorf("VALUE_DATA is %d bytes, want %d", n, len(dest))
	}
}

func TestDeterministic(t *testing.T) {
	r := newRand(t)
	entries := bucket(randEntries(r, 5000), 99, 2)[1]
	opt := ShardOptions{Index: 1, Count: 2, Seed: 99}
	want, err := EncodeShard(slices.Clone(entries), opt)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		r.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
		got, err := EncodeShard(slices.Clone(entries), opt)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatal("shuffled input gave different bytes")
		}
	}
}

func TestEncodeShardErrors(t *testing.T) {
	ok := Entry{Key: "/a", Dest: "/b", Status: 301}
	// A key of shard 1 of 2 with seed 0.
	var other string
	for i := 0; ; i++ {
		k := fmt.Sprintf("/other/%d", i)
		if ShardOf(HashString(0, k), 2) == 1 {
			other = k
			break
		}
	}
	var mine string
	for i := 0; ; i++ {
		k := fmt.Sprintf("/mine/%d", i)
		if ShardOf(HashString(0, k), 2) == 0 {
			mine = k
			break
		}
	}
	for _, tc := range []struct {
		name    string
		entries []Entry
		opt     ShardOptions
		is      error
		msg     string
	}{
		{"Duplicate", []Entry{ok, {Key: "/x", Dest: "/y", Status: 302}, ok}, ShardOptions{Count: 1}, ErrInvalidEntry,
			`shardfmt: invalid entry: duplicate key "/a"`},
		{"OtherShard", []Entry{{Key: mine, Dest: "/y", Status: 302}, {Key: other, Dest: "/y", Status: 302}}, ShardOptions{Count: 2}, ErrInvalidEntry,
			fmt.Sprintf(`shardfmt: invalid entry: key %q belongs to shard 1, not shard 0 (seed 0x0, count 2)`, other)},
		{"Status200", []Entry{{Key: "/a", Dest: "/b", Status: 200}}, ShardOptions{Count: 1}, ErrInvalidEntry,
			`shardfmt: invalid entry: key "/a": status 200 not one of 301, 302, 303, 307, 308, 410`},
		{"Status0", []Entry{{Key: "/a", Dest: "/b"}}, ShardOptions{Count: 1}, ErrInvalidEntry,
			`shardfmt: invalid entry: key "/a": status 0 not one of 301, 302, 303, 307, 308, 410`},
		{"Flags", []Entry{{Key: "/a", Dest: "/b", Status: 301, Flags: 8}}, ShardOptions{Count: 1}, ErrInvalidEntry,
			`shardfmt: invalid entry: key "/a": unknown flag bits 0x8`},
		{"EmptyDest", []Entry{{Key: "/a", Status: 301}}, ShardOptions{Count: 1}, ErrInvalidEntry,
			`shardfmt: invalid entry: key "/a": empty destination with status 301 (only 410 may have none)`},
		{"LongKey", []Entry{{Key: strings.Repeat("k", MaxKeyLen+1), Dest: "/b", Status: 301}}, ShardOptions{Count: 1}, ErrInvalidEntry,
			`shardfmt: invalid entry: key "` + strings.Repeat("k", 80) + `"... (65537 bytes) is 65537 bytes, longer than 65536`},
		{"LongDest", []Entry{{Key: "/a", Dest: strings.Repeat("d", MaxDestLen+1), Status: 301}}, ShardOptions{Count: 1}, ErrInvalidEntry,
			`shardfmt: invalid entry: key "/a": destination is 65537 bytes, longer than 65536`},
		{"Count0", nil, ShardOptions{}, nil, `shardfmt: shard count 0 out of range 1..1048576`},
		{"CountHuge", nil, ShardOptions{Count: MaxShardCount + 1}, nil, `shardfmt: shard count 1048577 out of range 1..1048576`},
		{"Index", nil, ShardOptions{Index: 2, Count: 2}, nil, `shardfmt: shard index 2 out of range 0..1`},
		{"NegIndex", nil, ShardOptions{Index: -1, Count: 2}, nil, `shardfmt: shard index -1 out of range 0..1`},
		{"BloomFP", nil, ShardOptions{Count: 1, BloomFP: 0.9}, nil, `shardfmt: Bloom false-positive rate 0.9 out of range [1e-07, 0.5]`},
		{"BloomNaN", nil, ShardOptions{Count: 1, BloomFP: math.NaN()}, nil, `shardfmt: Bloom false-positive rate NaN out of range [1e-07, 0.5]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := EncodeShard(tc.entries, tc.opt)
			if err == nil {
				t.Fatalf("EncodeShard succeeded (%d bytes), want error %q", len(b), tc.msg)
			}
			if err.Error() != tc.msg {
				t.Errorf("error %q\nwant  %q", err, tc.msg)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
		})
	}
}

func TestEncodeShardTooLarge(t *testing.T) {
	defer func(v uint64) { maxFileSize = v }(maxFileSize)
	entries := []Entry{{Key: "/a", Dest: "/" + strings.Repeat("x", 1000), Status: 301}}
	b, err := EncodeShard(entries, ShardOptions{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	maxFileSize = uint64(len(b) - 1)
	_, err = EncodeShard(entries, ShardOptions{Count: 1})
	if !errors.Is(err, ErrShardTooLarge) {
		t.Fatalf("EncodeShard = %v, want ErrShardTooLarge", err)
	}
	maxFileSize = 10
	_, err = EncodeShard(entries, ShardOptions{Count: 1})
	if !errors.Is(err, ErrShardTooLarge) {
		t.Fatalf("EncodeShard = %v, want ErrShardTooLarge", err)
	}
}

// TestOpenUnaligned opens a shard from a misaligned buffer (OpenShard must
// copy it) and through the decoding path used on big-endian hosts.
func TestOpenUnaligned(t *testing.T) {
	r := newRand(t)
	entries := randEntries(r, 300)
	want := map[string]Entry{}
	for _, e := range entries {
		want[e.Key] = e
	}
	b, err := EncodeShard(entries, ShardOptions{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(b)+1)
	copy(buf[1:], b)
	mis := buf[1:]
	if isAligned(mis) {
		mis = buf[:len(b)]
		copy(mis, b)
	}
	s := mustOpen(t, mis)
	if !isAligned(s.buf) {
		t.Fatal("OpenShard kept a misaligned buffer")
	}
	checkContents(t, s, want, r, 500)

	s, err = openShard(alignedCopy(b), false)
	if err != nil {
		t.Fatal(err)
	}
	checkContents(t, s, want, r, 500)
}

func alignedCopy(b []byte) []byte {
	c := alignedBytes(len(b))
	copy(c, b)
	return c
}

// TestOpenKeepsBuffer checks that an aligned buffer is used in place.
func TestOpenKeepsBuffer(t *testing.T) {
	b, err := EncodeShard([]Entry{{Key: "/a", Dest: "/b", Status: 301}}, ShardOptions{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	b = alignedCopy(b)
	s := mustOpen(t, b)
	if &s.buf[0] != &b[0] {
		t.Error("OpenShard copied an aligned buffer")
	}
	rec, _ := s.Find(Hash(0, []byte("/a")), []byte("/a"))
	if i := strings.Index(string(b), "/b"); i < 0 || unsafeStringPtr(rec.Dest) != &b[i] {
		t.Error("Record.Dest does not point into the shard bytes")
	}
}

func TestAllocs(t *testing.T) {
	r := newRand(t)
	entries := randEntries(r, 2000)
	files := encodeBuild(t, entries, 5, 2)
	b := buildFromFiles(t, files, 5)
	hit := []byte(entries[0].Key)
	miss := []byte("/certainly/not/a/key")
	s := b.Shards[ShardOf(Hash(5, hit), 2)]
	h := Hash(5, hit)
	for name, f := range map[string]func(){
		"Shard.Find/hit":  func() { s.Find(h, hit) },
		"Shard.Find/miss": func() { s.Find(Hash(5, miss), miss) },
		"Build.Find/hit": func() {
			if _, ok := b.Find(hit); !ok {
				panic("miss")
			}
		},
		"Build.Find/miss":       func() { b.Find(miss) },
		"Build.FindString/hit":  func() { b.FindString(entries[1].Key) },
		"Build.FindString/miss": func() { b.FindString("/nope") },
		"Hash":                  func() { Hash(5, hit) },
		"HashString":            func() { HashString(5, entries[1].Key) },
	} {
		if a := testing.AllocsPerRun(200, f); a != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, a)
		}
	}
}

// TestConcurrentFind runs lookups from many goroutines; run it with -race.
func TestConcurrentFind(t *testing.T) {
	r := newRand(t)
	entries := randEntries(r, 3000)
	b := buildFromFiles(t, encodeBuild(t, entries, 11, 3), 11)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < len(entries); i += 3 {
				e := entries[i]
				rec, ok := b.FindString(e.Key)
				if !ok || rec.Dest != e.Dest || rec.Status != e.Status {
					t.Errorf("FindString(%q) = %+v, %v", e.Key, rec, ok)
					return
				}
				if _, ok := b.FindString(e.Key + "?"); ok {
					t.Errorf("FindString(%q) found an absent key", e.Key+"?")
					return
				}
			}
		})
	}
	wg.Wait()
}

// buildFromFiles opens encoded shards as a Build with a matching index.
func buildFromFiles(t testing.TB, files [][]byte, seed uint64) *Build {
	t.Helper()
	ix := &Index{Format: IndexFormat, HashSeed: seed, ShardCount: len(files)}
	var shards []*Shard
	for i, f := range files {
		s := mustOpen(t, f)
		shards = append(shards, s)
		ix.Shards = append(ix.Shards, IndexShard{File: ShardFileName(i, s.Sum()), Hash: FormatHash(s.Sum()), Rules: s.Len(), Size: int64(len(f))})
		ix.Rules += s.Len()
	}
	ix.BuildID = ix.ComputeBuildID()
	b, err := NewBuild(ix, shards)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHash(t *testing.T) {
	// Pinned values: Hash is part of the format.
	for _, tc := range []struct {
		seed uint64
		key  string
		want uint64
	}{
		{0, "", 0xef46db3751d8e999},   // xxhash64("")
		{0, "/a", 0x0bcfa9bbb5ba7e84}, // xxhash64("/a")
		{1, "/a", 0x67b7f48423b63966},
		{0xdeadbeef, "/docs/intro", 0x5d36c3c486f729f9},
	} {
		if got := Hash(tc.seed, []byte(tc.key)); got != tc.want {
			t.Errorf("Hash(%#x, %q) = %#016x, want %#016x", tc.seed, tc.key, got, tc.want)
		}
		if got := HashString(tc.seed, tc.key); got != tc.want {
			t.Errorf("HashString(%#x, %q) = %#016x, want %#016x", tc.seed, tc.key, got, tc.want)
		}
	}
}

func TestShardOf(t *testing.T) {
	for _, tc := range []struct {
		h     uint64
		count int
		want  int
	}{
		{0, 1, 0},
		{math.MaxUint64, 1, 0},
		{math.MaxUint64, 1024, 1023},
		{1 << 63, 2, 1},
		{1<<63 - 1, 2, 0},
		{0x0000_0000_ffff_ffff, 1 << 20, 0}, // low bits do not matter
		{math.MaxUint64, MaxShardCount, MaxShardCount - 1},
	} {
		if got := ShardOf(tc.h, tc.count); got != tc.want {
			t.Errorf("ShardOf(%#x, %d) = %d, want %d", tc.h, tc.count, got, tc.want)
		}
	}
}

// TestBloomFalsePositiveRate measures the blocked filter against its target.
func TestBloomFalsePositiveRate(t *testing.T) {
	r := newRand(t)
	for _, p := range []float64{1e-1, 1e-2, 1e-3, 1e-4} {
		n := 20000
		hashes := make([]uint64, n)
		for i := range hashes {
			hashes[i] = r.Uint64()
		}
		blocks, k := bloomParams(n, p)
		words := buildBloom(hashes, blocks, k)
		f := bloomFilter{words: words, blocks: blocks, k: k}
		for _, h := range hashes {
			if !f.mayContain(h) {
				t.Fatalf("p=%v: false negative", p)
			}
		}
		trials, fp := 2_000_000, 0
		for range trials {
			if f.mayContain(r.Uint64()) {
				fp++
			}
		}
		rate := float64(fp) / float64(trials)
		t.Logf("p=%v: k=%d, %.2f bits/key, measured false-positive rate %.2e", p, k, float64(blocks*BloomBlockBits)/float64(n), rate)
		if rate > 1.3*p {
			t.Errorf("p=%v: measured false-positive rate %.2e", p, rate)
		}
	}
}

// refMayContain is the reference Bloom test: bloom/v3's TestLocations over
// the locations bloomLocations computes. ref must wrap f's words.
func refMayContain(ref *bloom.BloomFilter, f *bloomFilter, h uint64) bool {
	var locs [MaxBloomK]uint64
	bloomLocations(&locs, h, f.blocks, f.k)
	return ref.TestLocations(locs[:f.k])
}

// TestBloomDirectAgrees checks that the direct bit test Find and OpenShard
// use (mayContain) gives the same answers as bloom/v3's TestLocations.
func TestBloomDirectAgrees(t *testing.T) {
	r := newRand(t)
	for _, n := range []int{0, 1, 10, 1000, 20000} {
		hashes := make([]uint64, n)
		for i := range hashes {
			hashes[i] = r.Uint64()
		}
		for _, p := range []float64{0.5, 1e-3, MinBloomFP} {
			blocks, k := bloomParams(n, p)
			words := buildBloom(hashes, blocks, k)
			f := bloomFilter{words: words, blocks: blocks, k: k}
			ref := bloom.FromWithM(words, uint(blocks*BloomBlockBits), uint(k))
			for _, h := range hashes {
				if !refMayContain(ref, &f, h) || !f.mayContain(h) {
					t.Fatalf("n=%d p=%v: false negative for %#x", n, p, h)
				}
			}
			for range 20000 {
				h := r.Uint64()
				if a, b := refMayContain(ref, &f, h), f.mayContain(h); a != b {
					t.Fatalf("n=%d p=%v: hash %#x: TestLocations says %v, direct test says %v", n, p, h, a, b)
				}
			}
		}
	}
}

// TestLowerBound checks the bucket directory and in-bucket search (FORMAT.md
// §4) against sort.Search on distributions a hash would never produce, where
// buckets are empty or crowded: the search must stay correct whatever the
// (validated, ascending) data.
func TestLowerBound(t *testing.T) {
	r := newRand(t)
	gens := map[string]func(n int) []uint32{
		"uniform": func(n int) []uint32 {
			v := make([]uint32, n)
			for i := range v {
				v[i] = r.Uint32()
			}
			return v
		},
		"equal": func(n int) []uint32 { return slices.Repeat([]uint32{r.Uint32()}, n) },
		"zero":  func(n int) []uint32 { return make([]uint32, n) },
		"max":   func(n int) []uint32 { return slices.Repeat([]uint32{math.MaxUint32}, n) },
		"low": func(n int) []uint32 {
			v := make([]uint32, n)
			for i := range v {
				v[i] = r.Uint32N(1000)
			}
			return v
		},
		"high": func(n int) []uint32 {
			v := make([]uint32, n)
			for i := range v {
				v[i] = math.MaxUint32 - r.Uint32N(1000)
			}
			return v
		},
		"twoClusters": func(n int) []uint32 {
			v := make([]uint32, n)
			for i := range v {
				v[i] = r.Uint32N(100) + uint32(r.IntN(2))*(math.MaxUint32-100)
			}
			return v
		},
	}
	for name, gen := range gens {
		for _, n := range []int{0, 1, 2, 3, 7, 64, 100, 1000, 5000} {
			fps := gen(n)
			slices.Sort(fps)
			s := &Shard{fps: fps}
			s.buildBuckets()
			probes := []uint32{0, 1, math.MaxUint32, math.MaxUint32 - 1}
			for _, f := range fps {
				probes = append(probes, f, f-1, f+1)
			}
			for range 200 {
				probes = append(probes, r.Uint32())
			}
			for _, fp := range probes {
				want, _ := slices.BinarySearch(fps, fp)
				if got := s.lowerBound(fp); got != want {
					t.Fatalf("%s n=%d: lowerBound(%#x) = %d, want %d", name, n, fp, got, want)
				}
			}
		}
	}
}

// TestFingerprintCollisions checks keys whose 32-bit fingerprints are equal:
// both are found, and an absent key with the same fingerprint is not.
func TestFingerprintCollisions(t *testing.T) {
	seen := map[uint32]string{}
	var pairs [][2]string
	for i := 0; len(pairs) < 3; i++ {
		k := fmt.Sprintf("/c/%d", i)
		fp := fingerprint(HashString(0, k))
		if o, ok := seen[fp]; ok {
			pairs = append(pairs, [2]string{o, k})
			continue
		}
		seen[fp] = k
	}
	var entries []Entry
	for i, p := range pairs[:2] {
		entries = append(entries, Entry{Key: p[0], Dest: "/x" + p[0], Status: 301}, Entry{Key: p[1], Dest: "/y" + p[1], Status: 302 + uint16(i)})
	}
	// Only one key of the third pair.
	entries = append(entries, Entry{Key: pairs[2][1], Dest: "/z", Status: 307})
	for range 50 {
		entries = append(entries, Entry{Key: fmt.Sprintf("/filler/%d", len(entries)), Dest: "/f", Status: 308})
	}
	b, err := EncodeShard(entries, ShardOptions{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, b)
	for _, e := range entries {
		rec, ok := s.FindString(HashString(0, e.Key), e.Key)
		if !ok || rec.Dest != e.Dest || rec.Status != e.Status {
			t.Errorf("FindString(%q) = %+v, %v; want %+v", e.Key, rec, ok, e)
		}
	}
	if rec, ok := s.FindString(HashString(0, pairs[2][0]), pairs[2][0]); ok {
		t.Errorf("absent key %q with a colliding fingerprint found: %+v", pairs[2][0], rec)
	}
}
