// Package bench measures redirc side by side with what users would pick
// instead: a Go map[string]string, sort.SearchStrings over a sorted
// []string, and a constant database (github.com/colinmarc/cdb) read from
// memory. It is a separate module, like cespare/xxhash's xxhashbench, so
// that the peers never enter redirc's own dependencies.
//
// The benchmarks read a data set prepared by run.sh (make bench): a
// synthetic manifest written by cmd/redirc-synth, the redirc build of it,
// the cdb file of it and a set of absent keys, in $BENCH_DATA. Without
// BENCH_DATA they are skipped. One process measures one size, so that the
// memory numbers of one size are not disturbed by another:
//
//	make bench                          # every size, every table
//	BENCH_SIZES=1e3,1e5,1e6 make bench  # fewer sizes
//
// cmd/benchtab turns the output of go test into the README's tables
// (medians over -count runs, and ratios to the map).
package bench
