package shardfmt

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzOpenShard feeds arbitrary bytes to OpenShard, seeded with the golden
// shards: no panic, allocation bounded by the input's size
// (checkOpenAllocs), every lookup terminates with a right answer. Almost
// every mutation fails a checksum; FuzzOpenShardResealed gets past them.
func FuzzOpenShard(f *testing.F) {
	for _, b := range goldenShards(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkOpenAllocs(t, b)
		checkOpen(t, b)
	})
}

// FuzzOpenShardResealed recomputes every checksum of the mutated input (as
// TestHostile does), so that the fuzzer explores the structural checks: the
// section table, the Bloom parameters, key offsets, order and records.
func FuzzOpenShardResealed(f *testing.F) {
	for _, b := range goldenShards(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		b = reseal(clone(b))
		checkOpenAllocs(t, b)
		checkOpen(t, b)
	})
}

// checkOpen opens b and, if that works, checks that the shard is
// self-consistent: every entry is found by its own key with its own record,
// and lookups of other keys terminate without a wrong answer.
func checkOpen(t *testing.T, b []byte) {
	s, err := OpenShard(b)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("OpenShard error %v wraps neither ErrCorrupt nor ErrUnsupported", err)
		}
		return
	}
	for i := range s.Len() {
		k, rec := s.At(i)
		got, ok := s.FindString(HashString(s.Seed(), k), k)
		if !ok || got != rec {
			t.Fatalf("entry %d (%q): Find = %+v, %v; At = %+v", i, k, got, ok, rec)
		}
		if !validStatus(rec.Status) || rec.Flags&^flagsKnown != 0 || len(rec.Dest) > MaxDestLen || rec.Dest == "" && rec.Status != 410 {
			t.Fatalf("entry %d: invalid record %+v", i, rec)
		}
		if rec.Dest != "" {
			if _, p := destProblem(rec.Dest); p != "" {
				t.Fatalf("entry %d: opened with an unsafe destination %q: %s", i, rec.Dest, p)
			}
		}
		if ShardOf(HashString(s.Seed(), k), s.Count()) != s.Index() {
			t.Fatalf("entry %d: key of another shard", i)
		}
		miss := k + "\x00"
		if got, ok := s.FindString(HashString(s.Seed(), miss), miss); ok {
			// Only a real entry may be returned.
			if j := indexOf(s, miss); j < 0 {
				t.Fatalf("Find(%q) = %+v for an absent key", miss, got)
			}
		}
	}
}

func indexOf(s *Shard, key string) int {
	for i := range s.Len() {
		if k, _ := s.At(i); k == key {
			return i
		}
	}
	return -1
}

// FuzzParseIndex checks that ParseIndex never panics and that whatever it
// accepts survives Marshal and ParseIndex again unchanged.
func FuzzParseIndex(f *testing.F) {
	for _, name := range []string{"build", "unseeded"} {
		b, err := os.ReadFile(filepath.Join(goldenDir, name, IndexFileName))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := ParseIndex(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("ParseIndex error %v wraps neither ErrCorrupt nor ErrUnsupported", err)
			}
			return
		}
		out, err := ix.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed index: %v", err)
		}
		ix2, err := ParseIndex(out)
		if err != nil {
			t.Fatalf("ParseIndex(Marshal(ix)): %v", err)
		}
		if !reflect.DeepEqual(ix, ix2) {
			t.Fatalf("round trip changed the index: %+v vs %+v", ix, ix2)
		}
	})
}
