package shardfmt

import (
	"errors"
	"testing"
)

// TestOpenShardPrefix: the Bloom filter opened from a shard's front says
// "may contain" for every key of the shard, and asks for more bytes while
// the prefix is too short; a damaged BLOOM section is refused.
func TestOpenShardPrefix(t *testing.T) {
	r := newRand(t)
	entries := randEntries(r, 3000)
	files := encodeBuild(t, entries, 7, 4)
	for i, f := range files {
		s := mustOpen(t, f)
		n := HeaderSize
		var bl *Bloom
		for steps := 0; bl == nil; steps++ {
			if steps > 3 {
				t.Fatalf("shard %d: prefix not done after 3 steps", i)
			}
			b, need, err := OpenShardPrefix(f[:n], int64(len(f)))
			if err != nil {
				t.Fatalf("shard %d: %v", i, err)
			}
			bl = b
			n = need
		}
		if n := PrefixHint(s.Len()); n < HeaderSize+6*SectionEntrySize+bl.Bytes() {
			t.Errorf("shard %d: PrefixHint %d shorter than the prefix", i, n)
		}
		for j := range s.Len() {
			key, _ := s.At(j)
			if !bl.MayContain(HashString(7, key)) {
				t.Fatalf("shard %d: key %q missing from the prefix's Bloom filter", i, key)
			}
		}
		if c := s.Bloom(); c.Bytes() != bl.Bytes() || c.Len() != s.Len() {
			t.Errorf("shard %d: Shard.Bloom differs from the prefix's", i)
		}
	}
	f := clone(files[0])
	_, off, _ := secInfo(t, f, kindBloom)
	f[off+bloomWordsOff] ^= 1
	if _, _, err := OpenShardPrefix(f, int64(len(f))); !errors.Is(err, ErrCorrupt) {
		t.Errorf("flipped Bloom bit: %v, want ErrCorrupt", err)
	}
	if _, _, err := OpenShardPrefix(files[0], int64(len(files[0]))+8); !errors.Is(err, ErrCorrupt) {
		t.Errorf("wrong size: %v, want ErrCorrupt", err)
	}
}

// FuzzOpenShardPrefix: any bytes and size give an error, a request for more
// bytes within the size, or a Bloom filter; never a panic.
func FuzzOpenShardPrefix(f *testing.F) {
	r := newRand(f)
	for _, b := range encodeBuild(f, randEntries(r, 50), 3, 2) {
		f.Add(b, int64(len(b)))
		f.Add(b[:200], int64(len(b)))
	}
	f.Fuzz(func(t *testing.T, b []byte, size int64) {
		bl, need, err := OpenShardPrefix(b, size)
		switch {
		case err != nil:
		case bl == nil && (need <= len(b) || int64(need) > size):
			t.Fatalf("need %d with %d bytes of a %d-byte file", need, len(b), size)
		case bl != nil:
			bl.MayContain(1)
		}
	})
}
