package shardfmt_test

import (
	"fmt"
	"log"

	"github.com/redirc/redirc/shardfmt"
)

// Example writes a one-shard build in memory, opens it and looks keys up.
func Example() {
	const seed = 42
	entries := []shardfmt.Entry{
		{Key: "/old", Dest: "/new", Status: 308, Flags: shardfmt.FlagQuery},
		{Key: "/gone", Status: 410},
		{Key: "/docs", Dest: "https://docs.example.com/", Status: 301},
	}
	b, err := shardfmt.EncodeShard(entries, shardfmt.ShardOptions{Index: 0, Count: 1, Seed: seed})
	if err != nil {
		log.Fatal(err)
	}
	s, err := shardfmt.OpenShard(b)
	if err != nil {
		log.Fatal(err)
	}
	for _, key := range []string{"/old", "/gone", "/nope"} {
		k := []byte(key)
		rec, ok := s.Find(shardfmt.Hash(seed, k), k)
		if !ok {
			fmt.Printf("%s: not found\n", key)
			continue
		}
		fmt.Printf("%s: %d %q query=%v\n", key, rec.Status, rec.Dest, rec.Flags&shardfmt.FlagQuery != 0)
	}
	// Output:
	// /old: 308 "/new" query=true
	// /gone: 410 "" query=false
	// /nope: not found
}

// ExampleShardOf shows how a build spreads keys over shards: the compiler
// groups entries by ShardOf before calling EncodeShard for each group.
func ExampleShardOf() {
	const seed, count = 42, 4
	for _, key := range []string{"/a", "/b", "/c"} {
		h := shardfmt.HashString(seed, key)
		fmt.Printf("%s -> shard %d\n", key, shardfmt.ShardOf(h, count))
	}
	// Output:
	// /a -> shard 0
	// /b -> shard 1
	// /c -> shard 3
}
