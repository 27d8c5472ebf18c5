package shardfmt

import "testing"

// TestFlagUnforced: the bit written is the bit read back, and the reader's
// checks accept it.
func TestFlagUnforced(t *testing.T) {
	img, err := EncodeShard([]Entry{
		{Key: "e/a", Dest: "/b", Status: 301, Flags: FlagUnforced | FlagQuery},
		{Key: "e/c", Dest: "/d", Status: 301},
	}, ShardOptions{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenShard(img)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint16{}
	for i := range s.Len() {
		k, rec := s.At(i)
		got[k] = rec.Flags
	}
	if got["e/a"] != FlagUnforced|FlagQuery || got["e/c"] != 0 {
		t.Fatalf("flags read back: %v", got)
	}
}
