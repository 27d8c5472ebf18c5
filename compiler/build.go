package compiler

import (
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/redirc/redirc/shardfmt"
)

// ErrInvalid is returned when the rules have problems of Error severity;
// the problems themselves are returned beside it.
var ErrInvalid = errors.New("compiler: the manifest has errors")

// Build is a compiled rule set: shard file images and the index that lists
// them, ready to be written with WriteDir.
type Build struct {
	Index  *shardfmt.Index
	Shards [][]byte
	// Patterns is the pattern file's image (nil when the build has no
	// pattern rules); Index.Patterns names it.
	Patterns []byte
	// Chains lists every flattened redirect chain.
	Chains []Chain
	Stats  Stats
}

// Stats summarizes a build.
type Stats struct {
	Inputs   int           `json:"inputs"`   // rules read
	Rules    int           `json:"rules"`    // rules compiled (after removing duplicates)
	Shards   int           `json:"shards"`   // shard files
	Bytes    int64         `json:"bytes"`    // total size of the shard files
	Chains   int           `json:"chains"`   // chains flattened
	Warnings int           `json:"warnings"` // problems of Warning severity
	Errors   int           `json:"errors"`   // problems of Error severity
	Written  int           `json:"written"`  // shard files written by WriteDir (others were unchanged)
	Duration time.Duration `json:"-"`
}

// Check validates rules without encoding anything and returns every
// problem, sorted by place.
func Check(rules []Rule, opt Options) []Problem {
	c := check(rules, opt)
	sortProblems(c.probs)
	return c.probs
}

// Compile checks rules and encodes them into shards. It returns every
// problem found; when any is an Error, the Build is nil and err is
// ErrInvalid. The output depends only on the rules and options: the same
// input gives byte-identical shards and index.
func Compile(rules []Rule, opt Options) (*Build, []Problem, error) {
	if opt.Shards < 0 || opt.Shards > shardfmt.MaxShardCount {
		return nil, nil, fmt.Errorf("compiler: Options.Shards %d out of range 0..%d", opt.Shards, shardfmt.MaxShardCount)
	}
	start := time.Now()
	c := check(rules, opt)
	sortProblems(c.probs)
	var st Stats
	st.Inputs = len(rules)
	for _, p := range c.probs {
		if p.Severity == Error {
			st.Errors++
		} else {
			st.Warnings++
		}
	}
	if st.Errors > 0 {
		return nil, c.probs, ErrInvalid
	}

	n := opt.shardCount(len(c.rules))
	buckets := make([][]shardfmt.Entry, n)
	counts := make([]int, n)
	shardOf := make([]int32, len(c.rules))
	for i, r := range c.rules {
		s := shardfmt.ShardOf(shardfmt.HashString(opt.HashSeed, r.key), n)
		shardOf[i] = int32(s)
		counts[s]++
	}
	for s := range buckets {
		buckets[s] = make([]shardfmt.Entry, 0, counts[s])
	}
	for i, r := range c.rules {
		buckets[shardOf[i]] = append(buckets[shardOf[i]], shardfmt.Entry{
			Key:     r.key,
			Dest:    r.final,
			Status:  uint16(c.src(r).Status),
			Flags:   r.flags,
			Expires: r.exp,
		})
	}

	nrules := len(c.rules)
	pats := c.pats
	c.byKey, c.rules, c.in = nil, nil, nil // let the GC have them while shards are encoded
	b := &Build{Shards: make([][]byte, n), Chains: c.chains}
	ix := &shardfmt.Index{
		Format:              shardfmt.IndexFormat,
		HashSeed:            opt.HashSeed,
		ShardCount:          n,
		Rules:               nrules,
		StrictTrailingSlash: opt.StrictTrailingSlash,
		HostRules:           c.hostRules,
		CaseSensitiveRules:  c.caseRules,
		PrefixRules:         c.prefixRules,
		MaxPrefixSegments:   c.maxPrefixSegments,
		Shards:              make([]shardfmt.IndexShard, n),
	}
	if err := parallel(n, runtime.GOMAXPROCS(0), func(s int) error {
		img, err := shardfmt.EncodeShard(buckets[s], shardfmt.ShardOptions{Index: s, Count: n, Seed: opt.HashSeed, BloomFP: opt.BloomFP})
		if err != nil {
			return fmt.Errorf("encoding shard %d: %w", s, err)
		}
		sum := xxhash.Sum64(img)
		b.Shards[s] = img
		ix.Shards[s] = shardfmt.IndexShard{File: shardfmt.ShardFileName(s, sum), Hash: fmt.Sprintf("%016x", sum), Rules: len(buckets[s]), Size: int64(len(img))}
		buckets[s] = nil
		return nil
	}); err != nil {
		return nil, c.probs, err
	}
	if len(pats) > 0 {
		img, err := shardfmt.EncodePatterns(pats)
		if err != nil {
			return nil, c.probs, fmt.Errorf("encoding patterns: %w", err)
		}
		sum := xxhash.Sum64(img)
		ix.FormatMinor = shardfmt.FormatMinorPatterns
		ix.Patterns = &shardfmt.IndexPatterns{File: shardfmt.PatternsFileName(sum), Hash: shardfmt.FormatHash(sum), Rules: len(pats), Size: int64(len(img))}
		b.Patterns = img
		st.Bytes += int64(len(img))
	}
	ix.BuildID = ix.ComputeBuildID()
	b.Index = ix
	st.Rules = nrules + len(pats)
	st.Shards = n
	for _, img := range b.Shards {
		st.Bytes += int64(len(img))
	}
	st.Chains = len(c.chains)
	st.Duration = time.Since(start)
	b.Stats = st
	return b, c.probs, nil
}

// parallel runs f(0..n-1) on up to workers goroutines and returns the
// first error; after an error no new call starts.
func parallel(n, workers int, f func(i int) error) error {
	var (
		mu   sync.Mutex
		next int
		err  error
		wg   sync.WaitGroup
	)
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := err != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				if e := f(i); e != nil {
					mu.Lock()
					if err == nil {
						err = e
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return err
}

func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := strings.Compare(a.Pos.File, b.Pos.File); c != 0 {
			return c
		}
		return cmp.Compare(a.Pos.Line, b.Pos.Line)
	})
}

// HasErrors reports whether any problem is of Error severity.
func HasErrors(ps []Problem) bool {
	for _, p := range ps {
		if p.Severity == Error {
			return true
		}
	}
	return false
}
