package shardfmt

import (
	"errors"
	"testing"
)

// FuzzOpenShard feeds arbitrary bytes to OpenShard, seeded with the golden
// shards. Almost every mutation fails a checksum; FuzzOpenShardResealed gets
// past them.
func FuzzOpenShard(f *testing.F) {
	for _, b := range goldenShards(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
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
		checkOpen(t, reseal(clone(b)))
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
