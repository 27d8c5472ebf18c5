// Package builddiff compares the answers of two builds: which rules one has
// and the other lacks, and which keys answer differently.
//
// Builds with the same shard count and hash seed put every key in the same
// shard, in the same (fingerprint, key) order, so Diff walks the two builds
// shard by shard in one merge pass, and skips every shard whose whole-file
// hash is the same in both indexes (an unchanged shard keeps its bytes). That
// is O(rules in changed shards), with no allocation beyond the result. Builds
// that differ in shard count or seed are compared by collecting each build's
// keys and sorting them: O(n log n) time and about 40 bytes per rule of
// memory on top of the builds (the keys and destinations stay in the shards'
// bytes).
package builddiff

import (
	"cmp"
	"slices"
	"strings"

	"github.com/redirc/redirc/shardfmt"
)

// Entry is one key and what it answers.
type Entry struct {
	Key    string
	Answer shardfmt.Record
}

// Change is a key both builds hold, answered differently.
type Change struct {
	Key      string
	Old, New shardfmt.Record
}

// Setting is a build-wide setting that changes answers without any key
// changing (today only strictTrailingSlash).
type Setting struct {
	Name     string
	Old, New bool
}

// Result is the difference between two builds. Added, Removed and Changed
// are sorted by key.
type Result struct {
	Added   []Entry // keys only the new build holds
	Removed []Entry // keys only the old build holds
	Changed []Change
	// Settings lists build-wide settings that differ.
	Settings []Setting
	// Unchanged counts keys with the same answer in both builds.
	Unchanged int
	// SkippedShards counts shards not read because their hashes matched.
	SkippedShards int
	// Sorted says the builds were compared by sorting their keys, because
	// their shard counts or hash seeds differ.
	Sorted bool
	// Patterns, when not nil, says the builds' pattern rules (placeholders,
	// regular expressions: the pattern file) differ. They are compared as
	// a whole, by the file's hash, not rule by rule.
	Patterns *PatternsChange
}

// PatternsChange describes two builds' different pattern files.
type PatternsChange struct {
	OldRules, NewRules int    // pattern rules in each (0: no pattern file)
	OldHash, NewHash   string // the files' xxhash64 ("" for none)
}

// Same reports whether the two builds give every request the same answer.
func (r *Result) Same() bool {
	return len(r.Added) == 0 && len(r.Removed) == 0 && len(r.Changed) == 0 && len(r.Settings) == 0 && r.Patterns == nil
}

// Diff compares old and new.
func Diff(old, new *shardfmt.Build) *Result {
	r := &Result{}
	if a, b := old.Index.StrictTrailingSlash, new.Index.StrictTrailingSlash; a != b {
		r.Settings = append(r.Settings, Setting{"strictTrailingSlash", a, b})
	}
	if old.Index.ShardCount == new.Index.ShardCount && old.Index.HashSeed == new.Index.HashSeed &&
		len(old.Shards) == len(new.Shards) {
		for i := range old.Shards {
			oi, ni := &old.Index.Shards[i], &new.Index.Shards[i]
			if oi.Hash == ni.Hash && oi.Size == ni.Size {
				r.Unchanged += oi.Rules
				r.SkippedShards++
				continue
			}
			r.walk(old.Index.HashSeed, old.Shards[i], new.Shards[i])
		}
	} else {
		r.Sorted = true
		r.merge(sortedEntries(old), sortedEntries(new))
	}
	var pc PatternsChange
	if p := old.Index.Patterns; p != nil {
		pc.OldRules, pc.OldHash = p.Rules, p.Hash
	}
	if p := new.Index.Patterns; p != nil {
		pc.NewRules, pc.NewHash = p.Rules, p.Hash
	}
	if pc.OldHash != pc.NewHash {
		r.Patterns = &pc
	}
	byKey := func(a, b Entry) int { return strings.Compare(a.Key, b.Key) }
	slices.SortFunc(r.Added, byKey)
	slices.SortFunc(r.Removed, byKey)
	slices.SortFunc(r.Changed, func(a, b Change) int { return strings.Compare(a.Key, b.Key) })
	return r
}

// walk merges two shards of the same index, count and seed, whose entries
// are in the same (fingerprint, key) order.
func (r *Result) walk(seed uint64, a, b *shardfmt.Shard) {
	i, j := 0, 0
	var ka, kb string
	var ra, rb shardfmt.Record
	var fa, fb uint32
	if a.Len() > 0 {
		ka, ra = a.At(0)
		fa = uint32(shardfmt.HashString(seed, ka))
	}
	if b.Len() > 0 {
		kb, rb = b.At(0)
		fb = uint32(shardfmt.HashString(seed, kb))
	}
	for i < a.Len() || j < b.Len() {
		c := 0
		switch {
		case i == a.Len():
			c = 1
		case j == b.Len():
			c = -1
		default:
			c = cmp.Compare(fa, fb)
			if c == 0 {
				c = strings.Compare(ka, kb)
			}
		}
		switch {
		case c < 0:
			r.Removed = append(r.Removed, Entry{ka, ra})
		case c > 0:
			r.Added = append(r.Added, Entry{kb, rb})
		case ra == rb:
			r.Unchanged++
		default:
			r.Changed = append(r.Changed, Change{ka, ra, rb})
		}
		if c <= 0 {
			if i++; i < a.Len() {
				ka, ra = a.At(i)
				fa = uint32(shardfmt.HashString(seed, ka))
			}
		}
		if c >= 0 {
			if j++; j < b.Len() {
				kb, rb = b.At(j)
				fb = uint32(shardfmt.HashString(seed, kb))
			}
		}
	}
}

// sortedEntries returns every entry of b sorted by key.
func sortedEntries(b *shardfmt.Build) []Entry {
	es := make([]Entry, 0, b.Index.Rules)
	for _, sh := range b.Shards {
		for i := range sh.Len() {
			k, rec := sh.At(i)
			es = append(es, Entry{k, rec})
		}
	}
	slices.SortFunc(es, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) })
	return es
}

// merge compares two entry lists sorted by key.
func (r *Result) merge(a, b []Entry) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		c := 0
		switch {
		case i == len(a):
			c = 1
		case j == len(b):
			c = -1
		default:
			c = strings.Compare(a[i].Key, b[j].Key)
		}
		switch {
		case c < 0:
			r.Removed = append(r.Removed, a[i])
			i++
		case c > 0:
			r.Added = append(r.Added, b[j])
			j++
		default:
			if a[i].Answer == b[j].Answer {
				r.Unchanged++
			} else {
				r.Changed = append(r.Changed, Change{a[i].Key, a[i].Answer, b[j].Answer})
			}
			i++
			j++
		}
	}
}
