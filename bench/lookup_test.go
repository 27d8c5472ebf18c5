package bench

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/colinmarc/cdb"

	"github.com/redirc/redirc/runtime"
	"github.com/redirc/redirc/shardfmt"
)

// The data set of one size, prepared by run.sh in $BENCH_DATA:
//
//	rules.csv    redirc-synth -n N -hosts 0 -prefix 0 -seed 1 (exact paths)
//	misses.csv   redirc-synth -n min(N,1e6) -hosts 0 -prefix 0 -seed 2
//	build/       redirc build -o build rules.csv
//	rules.cdb    cdbmake rules.csv rules.cdb
//
// Exact-path rules only, so that every peer answers the same question (a
// map, a sorted slice and cdb have no prefix or host semantics); the
// table "redirc, default mix" in run.sh measures the full semantics.
var (
	dataDir   = os.Getenv("BENCH_DATA")
	dataLabel = cmpOr(os.Getenv("BENCH_LABEL"), "n")
)

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// peers holds every peer loaded from the data set, plus the query keys.
type peers struct {
	n int

	set   *runtime.Set
	build *shardfmt.Build // the same build, for the raw Find row
	m     map[string]string
	sKeys []string // sorted sources
	sVals []string // destinations, parallel to sKeys
	cdb   *cdb.CDB

	// bytes of live heap per peer after loading it (and a GC), and the
	// size of its files.
	heap  map[string]uint64
	files map[string]uint64

	hits   []string // every source, shuffled, each a fresh copy
	misses []string // absent paths of the same shape
	mix    []string // len(misses) hits and all misses, shuffled
	kind   byte     // the key kind byte of an exact case-folded rule
	// the same keys as stored in the build (kind byte + path), for Find
	hitsKey, missesKey, mixKey []string
}

var (
	loadOnce sync.Once
	loaded   *peers
	loadErr  error
)

func getPeers(b *testing.B) *peers {
	if dataDir == "" {
		b.Skip("BENCH_DATA is not set: run make bench (or bench/run.sh)")
	}
	loadOnce.Do(func() { loaded, loadErr = loadPeers(dataDir) })
	if loadErr != nil {
		b.Fatal(loadErr)
	}
	return loaded
}

// liveHeap returns the live heap after a full collection.
func liveHeap() uint64 {
	goruntime.GC()
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// measure runs load and returns the live heap it added.
func measure(load func() error) (uint64, error) {
	before := liveHeap()
	if err := load(); err != nil {
		return 0, err
	}
	after := liveHeap()
	if after < before {
		return 0, nil
	}
	return after - before, nil
}

func fileSize(paths ...string) uint64 {
	var n uint64
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			n += uint64(fi.Size())
		}
	}
	return n
}

func loadPeers(dir string) (*peers, error) {
	p := &peers{heap: map[string]uint64{}, files: map[string]uint64{}}
	var err error
	rulesCSV := filepath.Join(dir, "rules.csv")
	buildDir := filepath.Join(dir, "build")
	cdbFile := filepath.Join(dir, "rules.cdb")

	// Each peer is loaded on its own, from its own files, so that its
	// heap delta counts exactly what it keeps.
	if p.heap["redirc"], err = measure(func() (err error) {
		p.set, err = runtime.Open(buildDir)
		return err
	}); err != nil {
		return nil, err
	}
	if p.heap["map"], err = measure(func() error {
		srcs, dsts, err := ReadRules(rulesCSV)
		if err != nil {
			return err
		}
		p.m = make(map[string]string, len(srcs))
		for i, s := range srcs {
			p.m[s] = dsts[i]
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if p.heap["sorted"], err = measure(func() error {
		srcs, dsts, err := ReadRules(rulesCSV)
		if err != nil {
			return err
		}
		perm := make([]int32, len(srcs))
		for i := range perm {
			perm[i] = int32(i)
		}
		slices.SortFunc(perm, func(a, b int32) int { return strings.Compare(srcs[a], srcs[b]) })
		p.sKeys = make([]string, len(srcs))
		p.sVals = make([]string, len(srcs))
		for i, j := range perm {
			p.sKeys[i], p.sVals[i] = srcs[j], dsts[j]
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if p.heap["cdb"], err = measure(func() error {
		buf, err := os.ReadFile(cdbFile)
		if err != nil {
			return err
		}
		p.cdb, err = cdb.New(bytes.NewReader(buf), nil)
		return err
	}); err != nil {
		return nil, err
	}
	if p.build, err = shardfmt.LoadBuild(buildDir); err != nil {
		return nil, err
	}
	var shardBytes []string
	for _, s := range p.build.Index.Shards {
		shardBytes = append(shardBytes, filepath.Join(buildDir, s.File))
	}
	p.files["redirc"] = fileSize(append(shardBytes, filepath.Join(buildDir, shardfmt.IndexFileName))...)
	p.files["cdb"] = fileSize(cdbFile)
	p.files["map"] = fileSize(rulesCSV)
	p.files["sorted"] = p.files["map"]

	// Query keys: fresh copies, so that no peer finds its own key string
	// (a pointer-equal string compares without reading the bytes), made
	// in the order they are looked up, so that reading the next key is a
	// sequential access for every peer alike (a server finds the request's
	// path in cache, just parsed).
	p.n = len(p.m)
	r := rand.New(rand.NewPCG(1, 2))
	hits := slices.Clone(p.sKeys)
	r.Shuffle(len(hits), func(i, j int) { hits[i], hits[j] = hits[j], hits[i] })
	ms, _, err := ReadRules(filepath.Join(dir, "misses.csv"))
	if err != nil {
		return nil, err
	}
	var misses []string
	for _, k := range ms {
		if _, ok := p.m[k]; !ok {
			misses = append(misses, k)
		}
	}
	if len(misses) == 0 || p.n == 0 {
		return nil, fmt.Errorf("%s: no rules or no absent keys", dir)
	}
	r.Shuffle(len(misses), func(i, j int) { misses[i], misses[j] = misses[j], misses[i] })
	nm := min(len(misses), len(hits))
	mix := append(slices.Clone(hits[:nm]), misses[:nm]...)
	r.Shuffle(len(mix), func(i, j int) { mix[i], mix[j] = mix[j], mix[i] })
	fresh := func(ks []string, prefix string) []string {
		out := make([]string, len(ks))
		for i, k := range ks {
			out[i] = prefix + k
			if prefix == "" {
				out[i] = strings.Clone(k)
			}
		}
		return out
	}
	p.hits, p.misses, p.mix = fresh(hits, ""), fresh(misses, ""), fresh(mix, "")

	// The build's keys are a kind byte followed by the canonical path;
	// synthetic sources are already canonical.
	for _, s := range p.build.Shards {
		if s.Len() > 0 {
			k, _ := s.At(0)
			p.kind = k[0]
			break
		}
	}
	kind := string(p.kind)
	p.hitsKey, p.missesKey, p.mixKey = fresh(hits, kind), fresh(misses, kind), fresh(mix, kind)

	// Check that every peer gives the same answers before timing them.
	for i, k := range p.mix[:min(len(p.mix), 20000)] {
		want, ok := p.m[k]
		res := p.set.Lookup("", k, "")
		rec, fok := p.build.FindString(p.mixKey[i])
		j := sort.SearchStrings(p.sKeys, k)
		sok := j < len(p.sKeys) && p.sKeys[j] == k
		v, err := p.cdb.Get([]byte(k))
		if err != nil {
			return nil, err
		}
		if res.Found() != ok || fok != ok || sok != ok || (v != nil) != ok {
			return nil, fmt.Errorf("peers disagree on %q: map %v, redirc %v, find %v, sorted %v, cdb %v", k, ok, res.Found(), fok, sok, v != nil)
		}
		if ok && (rec.Dest != want || p.sVals[j] != want || string(v) != want || (want != "" && res.Location != want)) {
			return nil, fmt.Errorf("peers disagree on the destination of %q", k)
		}
	}
	return p, nil
}

// peerNames lists the peers in table order.
var peerNames = []string{"redirc", "redirc-find", "map", "sorted", "cdb"}

// keysFor returns the query keys of a kind of lookup for a peer.
func (p *peers) keysFor(kind, peer string) []string {
	raw := peer == "redirc-find"
	switch kind {
	case "hit":
		if raw {
			return p.hitsKey
		}
		return p.hits
	case "miss":
		if raw {
			return p.missesKey
		}
		return p.misses
	}
	if raw {
		return p.mixKey
	}
	return p.mix
}

// lookupLoop returns a function that looks up keys[from:] (wrapping
// around) count times and returns how many were found. Each peer has its
// own loop, so that no indirect call sits inside the timed work.
func (p *peers) lookupLoop(peer string) func(keys []string, from, count int) int {
	switch peer {
	case "redirc":
		set := p.set
		return func(keys []string, j, count int) (found int) {
			for range count {
				if set.Lookup("", keys[j], "").Status != 0 {
					found++
				}
				if j++; j == len(keys) {
					j = 0
				}
			}
			return found
		}
	case "redirc-find":
		build := p.build
		return func(keys []string, j, count int) (found int) {
			for range count {
				if _, ok := build.FindString(keys[j]); ok {
					found++
				}
				if j++; j == len(keys) {
					j = 0
				}
			}
			return found
		}
	case "map":
		m := p.m
		return func(keys []string, j, count int) (found int) {
			for range count {
				if _, ok := m[keys[j]]; ok {
					found++
				}
				if j++; j == len(keys) {
					j = 0
				}
			}
			return found
		}
	case "sorted":
		sk, sv := p.sKeys, p.sVals
		return func(keys []string, j, count int) (found int) {
			for range count {
				k := keys[j]
				if i := sort.SearchStrings(sk, k); i < len(sk) && sk[i] == k {
					_ = sv[i]
					found++
				}
				if j++; j == len(keys) {
					j = 0
				}
			}
			return found
		}
	case "cdb":
		db := p.cdb
		return func(keys []string, j, count int) (found int) {
			for range count {
				if v, _ := db.Get([]byte(keys[j])); v != nil {
					found++
				}
				if j++; j == len(keys) {
					j = 0
				}
			}
			return found
		}
	}
	panic("unknown peer " + peer)
}

// BenchmarkLookup times one lookup of a random key: every rule's source
// for hits, absent paths of the same shape for misses, and a 50/50 mix.
// redirc is runtime.Set.Lookup (canonicalizes the path, then probes the
// build); redirc-find is shardfmt.Build.FindString of the stored key (the
// same work as the peers: hash, search, compare); map is a
// map[string]string; sorted is sort.SearchStrings over a sorted []string;
// cdb is github.com/colinmarc/cdb over the file's bytes in memory.
//
// The peers run interleaved, in rounds of lookupChunk lookups each (each
// peer on its own part of the shuffled keys, in an order shuffled from
// round to round), so that a shared machine's noise, and the collections
// that cdb's allocations start, fall on all of them alike. Each sub-benchmark reports, per peer, the wall time per lookup
// (PEER-ns/op), the CPU time of the thread per lookup (PEER-cpu-ns/op:
// it leaves out time the thread spent waiting for a core) and allocations
// per lookup (PEER-allocs/op); its own ns/op is the sum over the peers.
func BenchmarkLookup(b *testing.B) {
	p := getPeers(b)
	for _, kind := range []string{"hit", "miss", "mix"} {
		b.Run(fmt.Sprintf("%s/%s", dataLabel, kind), func(b *testing.B) {
			runPeers(b, p, kind, false)
		})
	}
}

// BenchmarkLookupParallel is BenchmarkLookup under b.RunParallel: one
// goroutine per GOMAXPROCS, each going through the peers in rounds, from
// its own random place in the keys. PEER-ns/op is wall time per lookup
// divided by GOMAXPROCS (throughput: the inverse of lookups per second
// with every core busy).
func BenchmarkLookupParallel(b *testing.B) {
	p := getPeers(b)
	for _, kind := range []string{"hit", "miss", "mix"} {
		b.Run(fmt.Sprintf("%s/%s", dataLabel, kind), func(b *testing.B) {
			runPeers(b, p, kind, true)
		})
	}
}

// lookupChunk is the number of lookups a peer does before the next peer's
// turn: long enough for the timer calls (about 1 µs) not to count, short
// enough to interleave finely (about a millisecond).
const lookupChunk = 2048

func runPeers(b *testing.B, p *peers, kind string, parallel bool) {
	np := len(peerNames)
	keys := make([][]string, np)
	loops := make([]func([]string, int, int) int, np)
	for i, name := range peerNames {
		keys[i] = p.keysFor(kind, name)
		loops[i] = p.lookupLoop(name)
	}
	// Allocations, measured apart (ReadMemStats stops the world).
	allocs := make([]float64, np)
	for i := range np {
		j := 0
		allocs[i] = testing.AllocsPerRun(1000, func() {
			loops[i](keys[i], j, 1)
			j = (j + 1) % len(keys[i])
		})
	}
	n := len(keys[0])
	var wall, cpu, ops [16]atomic.Int64
	// round does one round from position j: every peer in turn, in an
	// order shuffled from round to round (by seed), so that no peer always
	// follows another: cdb allocates on every lookup, and the peer right
	// after it would otherwise always run while the collector it started
	// marks the heap. It returns false if a hit was not found.
	round := func(j int, seed uint64, count int) bool {
		order := rand.New(rand.NewPCG(seed, 3)).Perm(np)
		for _, i := range order {
			t0 := time.Now()
			c0 := threadCPU()
			// Each peer works on its own part of the (shuffled) keys, so
			// that no peer finds the cache warmed by another's lookups of
			// the same keys (redirc and redirc-find share the build).
			found := loops[i](keys[i], (j+i*n/np)%n, count)
			cpu[i].Add(threadCPU() - c0)
			wall[i].Add(int64(time.Since(t0)))
			ops[i].Add(int64(count))
			if kind == "hit" && found != count {
				return false
			}
		}
		return true
	}
	b.ResetTimer()
	if !parallel {
		goruntime.LockOSThread()
		defer goruntime.UnlockOSThread()
		for done, r := 0, uint64(0); done < b.N; r++ {
			c := min(lookupChunk, b.N-done)
			if !round(done%n, r, c) {
				b.Fatal("a peer missed a hit")
			}
			done += c
		}
	} else {
		// b.N counts rounds here.
		b.SetParallelism(1)
		var seq atomic.Uint64
		var failed atomic.Bool
		b.RunParallel(func(pb *testing.PB) {
			goruntime.LockOSThread()
			defer goruntime.UnlockOSThread()
			g := seq.Add(1)
			r := rand.New(rand.NewPCG(g, 7))
			j := r.IntN(n)
			for k := uint64(0); pb.Next(); k++ {
				if !round(j, g<<32|k, lookupChunk) {
					failed.Store(true)
				}
				j = (j + lookupChunk) % n
			}
		})
		if failed.Load() {
			b.Fatal("a peer missed a hit")
		}
	}
	b.StopTimer()
	procs := 1.0
	if parallel {
		procs = float64(goruntime.GOMAXPROCS(0))
	}
	for i, name := range peerNames {
		o := float64(ops[i].Load())
		b.ReportMetric(float64(wall[i].Load())/o/procs, name+"-ns/op")
		b.ReportMetric(float64(cpu[i].Load())/o, name+"-cpu-ns/op")
		b.ReportMetric(allocs[i], name+"-allocs/op")
	}
}

// BenchmarkMemory reports the live heap each peer keeps per rule after
// loading (B/rule, after a full GC; redirc and cdb read their files into
// the heap and map nothing) and the size of its files per rule (file-B/rule;
// for map and sorted, the CSV they load). It times nothing.
func BenchmarkMemory(b *testing.B) {
	p := getPeers(b)
	for _, peer := range []string{"redirc", "map", "sorted", "cdb"} {
		b.Run(fmt.Sprintf("%s/%s", dataLabel, peer), func(b *testing.B) {
			for b.Loop() {
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(p.heap[peer])/float64(p.n), "B/rule")
			b.ReportMetric(float64(p.files[peer])/float64(p.n), "file-B/rule")
		})
	}
}

// BenchmarkOpen times what a server does before it can answer: load the
// data and answer one lookup. redirc: runtime.Open (read every shard and
// verify every byte) and Set.Lookup; map and sorted: parse the CSV and
// build the map or sort; cdb: read the file into memory and Get. Run it in
// a process of its own (run.sh does): the other peers' heaps would slow
// the collector down.
func BenchmarkOpen(b *testing.B) {
	if dataDir == "" {
		b.Skip("BENCH_DATA is not set: run make bench (or bench/run.sh)")
	}
	rulesCSV := filepath.Join(dataDir, "rules.csv")
	srcs, _, err := ReadRules(rulesCSV)
	if err != nil {
		b.Fatal(err)
	}
	key := strings.Clone(srcs[len(srcs)/2])
	srcs = nil
	for _, peer := range []string{"redirc", "map", "sorted", "cdb"} {
		b.Run(fmt.Sprintf("%s/%s", dataLabel, peer), func(b *testing.B) {
			for range b.N {
				found := false
				switch peer {
				case "redirc":
					set, err := runtime.Open(filepath.Join(dataDir, "build"))
					if err != nil {
						b.Fatal(err)
					}
					found = set.Lookup("", key, "").Found()
				case "map":
					srcs, dsts, err := ReadRules(rulesCSV)
					if err != nil {
						b.Fatal(err)
					}
					m := make(map[string]string, len(srcs))
					for i, s := range srcs {
						m[s] = dsts[i]
					}
					_, found = m[key]
				case "sorted":
					srcs, _, err := ReadRules(rulesCSV)
					if err != nil {
						b.Fatal(err)
					}
					slices.Sort(srcs)
					_, found = slices.BinarySearch(srcs, key)
				case "cdb":
					buf, err := os.ReadFile(filepath.Join(dataDir, "rules.cdb"))
					if err != nil {
						b.Fatal(err)
					}
					db, err := cdb.New(bytes.NewReader(buf), nil)
					if err != nil {
						b.Fatal(err)
					}
					v, err := db.Get([]byte(key))
					found = err == nil && v != nil
				}
				if !found {
					b.Fatalf("%s: first lookup missed", peer)
				}
				// Each iteration starts from a clean heap, as a process
				// would.
				b.StopTimer()
				goruntime.GC()
				b.StartTimer()
			}
		})
	}
}
