// Command cdbmake writes a cdb file (github.com/colinmarc/cdb) mapping the
// sources of a redirc-synth CSV manifest to their destinations: the build
// step of the cdb peer in redirc's benchmarks.
//
//	cdbmake rules.csv rules.cdb
package main

import (
	"fmt"
	"os"

	"github.com/colinmarc/cdb"

	"github.com/redirc/redirc/bench"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: cdbmake RULES.csv OUT.cdb")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "cdbmake:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	tmp := out + ".tmp"
	w, err := cdb.Create(tmp)
	if err != nil {
		return err
	}
	// Streamed: cdb's writer keeps 8 bytes per record in memory, and the
	// rules are never all held at once.
	err = bench.EachRule(in, func(src, dst string) error {
		return w.Put([]byte(src), []byte(dst))
	})
	if err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
