package shardfmt

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks run over a shared size table. Builds get about 1,000 keys per
// shard (1,024 shards for 1e6 keys), the shape ARCHITECTURE.md measures.
//
//	go test ./shardfmt -run '^$' -bench 'Find|Open|LoadBuild' -benchmem -count 6 > new.txt
//	benchstat new.txt
var benchSizes = []struct {
	name string
	n    int
}{
	{"1e3", 1e3},
	{"1e5", 1e5},
	{"1e6", 1e6},
}

func benchShardCount(n int) int { return max(1, n*1024/1_000_000) }

type benchData struct {
	files  [][]byte
	build  *Build
	hits   [][]byte // every key, in random order
	misses [][]byte // absent keys
	m      map[string]string
}

var (
	benchMu    sync.Mutex
	benchCache = map[int]*benchData{}
)

var benchWords = []string{"blog", "docs", "products", "news", "help", "about", "pricing", "guide", "api", "v2", "2019", "2024", "shoes", "winter-sale", "getting-started"}

// benchKey returns a realistic redirect key of 20-60 bytes.
func benchKey(r *rand.Rand) string {
	k := ""
	for range 2 + r.IntN(3) {
		k += "/" + benchWords[r.IntN(len(benchWords))]
	}
	return fmt.Sprintf("%s/item-%d", k, r.Uint32())
}

// getBenchData builds (once per size) a build of n keys.
func getBenchData(b testing.TB, n int) *benchData {
	benchMu.Lock()
	defer benchMu.Unlock()
	if d := benchCache[n]; d != nil {
		return d
	}
	r := rand.New(rand.NewPCG(uint64(n), 1))
	d := &benchData{m: make(map[string]string, n)}
	entries := make([]Entry, 0, n)
	for len(entries) < n {
		k := benchKey(r)
		if _, ok := d.m[k]; ok {
			continue
		}
		dest := fmt.Sprintf("https://www.example.com/new%s?ref=%d", k, r.IntN(10))
		d.m[k] = dest
		entries = append(entries, Entry{Key: k, Dest: dest, Status: 301})
		d.hits = append(d.hits, []byte(k))
	}
	for len(d.misses) < n {
		k := benchKey(r)
		if _, ok := d.m[k]; !ok {
			d.misses = append(d.misses, []byte(k))
		}
	}
	r.Shuffle(len(d.hits), func(i, j int) { d.hits[i], d.hits[j] = d.hits[j], d.hits[i] })
	const seed = 0x5eed
	d.files = encodeBuild(b, entries, seed, benchShardCount(n))
	d.build = buildFromFiles(b, d.files, seed)
	benchCache[n] = d
	// Finish the setup's garbage collection now, not during the timed loop.
	runtime.GC()
	return d
}

var sink int

// BenchmarkFind measures Build.Find (hash, shard choice, Bloom, search) on
// hits and misses, and, as a peer in the same run, a map[string]string
// lookup of the same keys; x-map is the ratio of the two.
func BenchmarkFind(b *testing.B) {
	for _, sz := range benchSizes {
		for _, kind := range []string{"hit", "miss"} {
			b.Run(fmt.Sprintf("n=%s/%s", sz.name, kind), func(b *testing.B) {
				d := getBenchData(b, sz.n)
				keys := d.hits
				if kind == "miss" {
					keys = d.misses
				}
				b.ReportAllocs()
				b.ResetTimer()
				found := 0
				for i := range b.N {
					if _, ok := d.build.Find(keys[i%len(keys)]); ok {
						found++
					}
				}
				b.StopTimer()
				ours := b.Elapsed()
				if want := map[string]int{"hit": b.N}[kind]; kind == "hit" && found != want {
					b.Fatalf("found %d of %d", found, want)
				}

				start := time.Now()
				for i := range b.N {
					if _, ok := d.m[string(keys[i%len(keys)])]; ok {
						found++
					}
				}
				peer := time.Since(start)
				sink += found
				b.ReportMetric(float64(peer.Nanoseconds())/float64(b.N), "map-ns/op")
				b.ReportMetric(float64(ours)/float64(peer), "x-map")
			})
		}
	}
}

// BenchmarkOpen measures opening (with every check) all shards of the 1e6
// build in memory: in parallel on GOMAXPROCS goroutines, as LoadBuild does,
// and on one goroutine.
func BenchmarkOpen(b *testing.B) {
	d := getBenchData(b, 1e6)
	var bytes int64
	for _, f := range d.files {
		bytes += int64(len(f))
	}
	for _, par := range []int{runtime.GOMAXPROCS(0), 1} {
		b.Run(fmt.Sprintf("n=1e6/shards=%d/goroutines=%d", len(d.files), par), func(b *testing.B) {
			b.SetBytes(bytes)
			b.ReportAllocs()
			for b.Loop() {
				openAll(b, d.files, par)
			}
		})
	}
}

func openAll(b testing.TB, files [][]byte, par int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range par {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				if _, err := OpenShard(files[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkLoadBuild measures LoadBuild of the 1e6 build from disk (warm
// page cache): reading, checking and opening every shard.
func BenchmarkLoadBuild(b *testing.B) {
	d := getBenchData(b, 1e6)
	dir := b.TempDir()
	ix := *d.build.Index
	for i, f := range d.files {
		if err := os.WriteFile(filepath.Join(dir, ix.Shards[i].File), f, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	ixb, err := ix.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, IndexFileName), ixb, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("n=1e6/shards=%d", len(d.files)), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := LoadBuild(dir); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEncodeShard measures writing one shard of about 1,000 entries.
func BenchmarkEncodeShard(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var entries []Entry
	for range 1000 {
		k := benchKey(r)
		entries = append(entries, Entry{Key: k, Dest: "https://www.example.com/new" + k, Status: 301})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeShard(entries, ShardOptions{Count: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
