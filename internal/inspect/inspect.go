// Package inspect describes a loaded build: what its index says, how its
// rules spread over the shards, the manifest source behind each key, and an
// export of every rule as CSV that `redirc build` turns back into the same
// build.
package inspect

import (
	"errors"
	"fmt"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/internal/rulekey"
	"github.com/redirc/redirc/shardfmt"
)

// ErrKey is wrapped by errors about a key that does not have the layout the
// compiler writes (kind byte, host, path). A build that loaded has none; it
// would mean the layout changed under this package.
var ErrKey = errors.New("inspect: malformed key")

// SourceOf returns a manifest source that compiles back to key, and whether
// the rule is case-sensitive. Host-scoped rules are written
// "https://host/path" (the scheme does not restrict the match); an exact
// path ending in "/*" is written with "%2A", which the compiler decodes to
// the same key without making it a prefix rule. strictTrailingSlash is the
// build's: without it the compiler trims one trailing '/' of an exact path,
// so a key that still ends in '/' (written "/a//") gets its '/' back.
func SourceOf(key string, strictTrailingSlash bool) (source string, caseSensitive bool, err error) {
	kind, host, path, err := splitKey(key)
	if err != nil {
		return "", false, err
	}
	caseSensitive = !kind.Fold()
	if kind.IsPrefix() {
		path += "/*"
	} else if path == "/*" || len(path) > 2 && path[len(path)-2:] == "/*" {
		path = path[:len(path)-1] + "%2A"
	} else if !strictTrailingSlash && len(path) > 1 && path[len(path)-1] == '/' {
		path += "/"
	}
	if host == "" {
		if len(path) > 1 && path[1] == '/' {
			// Only host-scoped sources can start their path with "//".
			return "", false, fmt.Errorf("%w: key %q has a path beginning with // but no host", ErrKey, key)
		}
		return path, caseSensitive, nil
	}
	return "https://" + host + path, caseSensitive, nil
}

// Positions returns where each wanted key was first written among rules (as
// read from manifests, before compiling), for annotations on a manifest's
// lines. want reports whether a key is of interest and must not keep the
// slice; only wanted keys are kept, so the map is as small as the answer.
// strictTrailingSlash must be what the rules were compiled with.
func Positions(rules []compiler.Rule, strictTrailingSlash bool, want func(key []byte) bool) map[string]compiler.Pos {
	out := make(map[string]compiler.Pos)
	var buf []byte
	for i := range rules {
		r := &rules[i]
		buf = ruleKey(buf, r.Source, r.CaseSensitive, strictTrailingSlash)
		if !want(buf) { // a []byte, so that a map lookup in want does not allocate
			continue
		}
		if _, dup := out[string(buf)]; !dup {
			out[string(buf)] = r.Pos
		}
	}
	return out
}

// Distribution summarizes a count over the shards.
type Distribution struct {
	Min  int64   `json:"min"`
	Max  int64   `json:"max"`
	Mean float64 `json:"mean"`
}

// ShardSummary describes one shard file.
type ShardSummary struct {
	Index int    `json:"index"`
	File  string `json:"file"`
	Rules int    `json:"rules"`
	Bytes int64  `json:"bytes"`
	// BloomBits is the size of the shard's Bloom filter and BloomK its
	// probes per key.
	BloomBits uint64 `json:"bloomBits"`
	BloomK    int    `json:"bloomK"`
}

// Kinds counts the rules of each kind.
type Kinds struct {
	Exact         int `json:"exact"`
	ExactCase     int `json:"exactCaseSensitive"`
	Prefix        int `json:"prefix"`
	PrefixCase    int `json:"prefixCaseSensitive"`
	HostScoped    int `json:"hostScoped"`
	Query         int `json:"query"`
	Splat         int `json:"splat"`
	Expiring      int `json:"expiring"`
	ExternalDests int `json:"externalDestinations"`
}

// Summary is what `redirc inspect` reports about a build.
type Summary struct {
	BuildID             string  `json:"buildId"`
	IndexFormat         int     `json:"indexFormat"`
	HashSeed            uint64  `json:"hashSeed"`
	Rules               int     `json:"rules"`
	Shards              int     `json:"shards"`
	Bytes               int64   `json:"bytes"`
	BytesPerRule        float64 `json:"bytesPerRule"`
	BloomBitsPerRule    float64 `json:"bloomBitsPerRule"`
	StrictTrailingSlash bool    `json:"strictTrailingSlash"`
	HostRules           bool    `json:"hostRules"`
	CaseSensitiveRules  bool    `json:"caseSensitiveRules"`
	PrefixRules         bool    `json:"prefixRules"`
	MaxPrefixSegments   int     `json:"maxPrefixSegments"`
	// PatternRules counts the rules of the build's pattern file
	// (placeholders, regular expressions), which Rules does not include.
	PatternRules int `json:"patternRules"`

	RulesPerShard Distribution `json:"rulesPerShard"`
	BytesPerShard Distribution `json:"bytesPerShard"`
	Kinds         Kinds        `json:"kinds"`
	// Statuses counts rules by HTTP status.
	Statuses map[int]int    `json:"statuses"`
	PerShard []ShardSummary `json:"perShard"`
}

// Summarize reads every entry of b once and returns its statistics.
func Summarize(b *shardfmt.Build) (*Summary, error) {
	ix := b.Index
	s := &Summary{
		BuildID:             ix.BuildID,
		IndexFormat:         ix.Format,
		HashSeed:            ix.HashSeed,
		Rules:               ix.Rules,
		Shards:              ix.ShardCount,
		StrictTrailingSlash: ix.StrictTrailingSlash,
		HostRules:           ix.HostRules,
		CaseSensitiveRules:  ix.CaseSensitiveRules,
		PrefixRules:         ix.PrefixRules,
		MaxPrefixSegments:   ix.MaxPrefixSegments,
		Statuses:            map[int]int{},
		PerShard:            make([]ShardSummary, len(b.Shards)),
	}
	if ix.Patterns != nil {
		s.PatternRules = ix.Patterns.Rules
	}
	var bloomBits uint64
	rules, bytes := &s.RulesPerShard, &s.BytesPerShard
	for i, sh := range b.Shards {
		bits, k := sh.BloomBits()
		ss := ShardSummary{Index: i, File: ix.Shards[i].File, Rules: sh.Len(), Bytes: int64(sh.Size()), BloomBits: bits, BloomK: k}
		s.PerShard[i] = ss
		s.Bytes += ss.Bytes
		bloomBits += bits
		if i == 0 {
			*rules = Distribution{Min: int64(ss.Rules), Max: int64(ss.Rules)}
			*bytes = Distribution{Min: ss.Bytes, Max: ss.Bytes}
		}
		rules.Min, rules.Max = min(rules.Min, int64(ss.Rules)), max(rules.Max, int64(ss.Rules))
		bytes.Min, bytes.Max = min(bytes.Min, ss.Bytes), max(bytes.Max, ss.Bytes)
		for j := range sh.Len() {
			key, rec := sh.At(j)
			kind, host, _, err := splitKey(key)
			if err != nil {
				return nil, fmt.Errorf("inspect: shard %d entry %d: %w", i, j, err)
			}
			s.Kinds.count(kind, host, rec)
			s.Statuses[int(rec.Status)]++
		}
	}
	if n := len(b.Shards); n > 0 {
		rules.Mean = float64(s.Rules) / float64(n)
		bytes.Mean = float64(s.Bytes) / float64(n)
	}
	if s.Rules > 0 {
		s.BytesPerRule = float64(s.Bytes) / float64(s.Rules)
		s.BloomBitsPerRule = float64(bloomBits) / float64(s.Rules)
	}
	return s, nil
}

func (k *Kinds) count(kind rulekey.Kind, host string, rec shardfmt.Record) {
	switch kind {
	case rulekey.Exact:
		k.Exact++
	case rulekey.ExactCase:
		k.ExactCase++
	case rulekey.Prefix:
		k.Prefix++
	case rulekey.PrefixCase:
		k.PrefixCase++
	}
	if host != "" {
		k.HostScoped++
	}
	if rec.Flags&shardfmt.FlagQuery != 0 {
		k.Query++
	}
	if rec.Flags&shardfmt.FlagSplat != 0 {
		k.Splat++
	}
	if rec.Expires != 0 {
		k.Expiring++
	}
	if rec.Dest != "" && rec.Dest[0] != '/' {
		k.ExternalDests++
	}
}
