package inspect

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/redirc/redirc/internal/rulekey"
	"github.com/redirc/redirc/shardfmt"
)

// CSVHeader is the header row WriteCSV writes; every name is one the CSV
// manifest reader knows.
var CSVHeader = []string{"source", "destination", "statusCode", "caseSensitive", "query", "expires", "force"}

// Rule is one rule of a build, split back into its parts: what a manifest
// would say to compile to the same key and record.
type Rule struct {
	// Key is the lookup key (see internal/rulekey).
	Key string
	// Kind, Host and Path are the key's parts: Host is the canonical host
	// ("" for a rule that applies to any host) and Path the canonical path
	// as matched (a prefix rule's path has no trailing '/': "" for "/*").
	Kind rulekey.Kind
	Host string
	Path string
	// Source is a manifest source that compiles back to Key (SourceOf).
	Source string
	// CaseSensitive is true for the case-sensitive kinds.
	CaseSensitive bool
	// Record is what the rule answers: the destination after chain
	// flattening, the status, the query and splat flags and the expiry.
	Record shardfmt.Record
}

// Rules returns every rule of b, sorted by Source, case-folded rules first
// among equal sources. The strings point into the build's bytes.
func Rules(b *shardfmt.Build) ([]Rule, error) {
	rules := make([]Rule, 0, b.Index.Rules)
	for i, sh := range b.Shards {
		for j := range sh.Len() {
			key, rec := sh.At(j)
			kind, host, path, err := splitKey(key)
			if err != nil {
				return nil, fmt.Errorf("inspect: shard %d entry %d: %w", i, j, err)
			}
			src, ci, err := SourceOf(key, b.Index.StrictTrailingSlash)
			if err != nil {
				return nil, fmt.Errorf("inspect: shard %d entry %d: %w", i, j, err)
			}
			rules = append(rules, Rule{Key: key, Kind: kind, Host: host, Path: path, Source: src, CaseSensitive: ci, Record: rec})
		}
	}
	slices.SortFunc(rules, func(a, b Rule) int {
		if c := cmp.Compare(a.Source, b.Source); c != 0 {
			return c
		}
		if a.CaseSensitive == b.CaseSensitive {
			return 0
		}
		if a.CaseSensitive {
			return 1
		}
		return -1
	})
	return rules, nil
}

// WriteCSV writes every rule of b as a CSV manifest, sorted by source, with
// the header CSVHeader. Compiling that CSV with the options b was built with
// (--shards, --bloom-fp, --strict-trailing-slash; the shard count follows
// from the rule count when --shards was not given) gives the same build, with
// the same build id:
//
//   - each key becomes a source that normalizes back to it (SourceOf);
//   - the destination is the one the build answers, after chain flattening,
//     so the rebuilt rules have no chains left to flatten;
//   - the status, query flag and expiry are written out, never defaulted;
//     an unforced rule (shardfmt.FlagUnforced) has force "false".
//
// Rules are collected and sorted before writing (Rules): about 100 bytes
// per rule besides the build itself, whose bytes the strings point into.
func WriteCSV(w io.Writer, b *shardfmt.Build) error {
	if p := b.Index.Patterns; p != nil {
		return &PatternsError{Rules: p.Rules}
	}
	rows, err := Rules(b)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("inspect: write CSV: %w", err)
	}
	rec := make([]string, len(CSVHeader))
	for _, r := range rows {
		rec[0] = r.Source
		rec[1] = r.Record.Dest
		rec[2] = strconv.Itoa(int(r.Record.Status))
		rec[3] = csvBool(r.CaseSensitive)
		rec[4] = csvBool(r.Record.Flags&shardfmt.FlagQuery != 0)
		rec[5] = ""
		if r.Record.Expires != 0 {
			rec[5] = time.Unix(int64(r.Record.Expires), 0).UTC().Format(time.RFC3339)
		}
		rec[6] = ""
		if r.Record.Flags&shardfmt.FlagUnforced != 0 {
			rec[6] = "false"
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("inspect: write CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("inspect: write CSV: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("inspect: write CSV: %w", err)
	}
	return nil
}

// csvBool writes true as "true" and false as an empty cell (the default).
func csvBool(v bool) string {
	if v {
		return "true"
	}
	return ""
}

// PatternsError is returned where a build's pattern rules (placeholders,
// regular expressions: the build's pattern file) cannot be handled: they
// have no key, and a CSV row cannot say which pattern syntax a source is
// written in. Rules returns only the exact and prefix rules of the shards.
type PatternsError struct {
	Rules int // pattern rules in the build
}

func (e *PatternsError) Error() string {
	return fmt.Sprintf("inspect: the build has %d pattern rules (placeholders or regular expressions), which cannot be written as CSV rows; only exact and /* rules can", e.Rules)
}
