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

	"github.com/redirc/redirc/shardfmt"
)

// CSVHeader is the header row WriteCSV writes; every name is one the CSV
// manifest reader knows.
var CSVHeader = []string{"source", "destination", "statusCode", "caseSensitive", "query", "expires", "force"}

// row is one rule of a build, as WriteCSV writes it.
type row struct {
	source string
	ci     bool // case-sensitive
	rec    shardfmt.Record
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
// Rows are collected and sorted before writing: about 40 bytes per rule
// besides the build itself, whose bytes the strings point into.
func WriteCSV(w io.Writer, b *shardfmt.Build) error {
	rows := make([]row, 0, b.Index.Rules)
	for i, sh := range b.Shards {
		for j := range sh.Len() {
			key, rec := sh.At(j)
			src, ci, err := SourceOf(key, b.Index.StrictTrailingSlash)
			if err != nil {
				return fmt.Errorf("inspect: shard %d entry %d: %w", i, j, err)
			}
			rows = append(rows, row{src, ci, rec})
		}
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := cmp.Compare(a.source, b.source); c != 0 {
			return c
		}
		if a.ci == b.ci {
			return 0
		}
		if a.ci {
			return 1
		}
		return -1
	})
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("inspect: write CSV: %w", err)
	}
	rec := make([]string, len(CSVHeader))
	for _, r := range rows {
		rec[0] = r.source
		rec[1] = r.rec.Dest
		rec[2] = strconv.Itoa(int(r.rec.Status))
		rec[3] = csvBool(r.ci)
		rec[4] = csvBool(r.rec.Flags&shardfmt.FlagQuery != 0)
		rec[5] = ""
		if r.rec.Expires != 0 {
			rec[5] = time.Unix(int64(r.rec.Expires), 0).UTC().Format(time.RFC3339)
		}
		rec[6] = ""
		if r.rec.Flags&shardfmt.FlagUnforced != 0 {
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
