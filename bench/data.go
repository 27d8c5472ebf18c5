package bench

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
)

// ReadRules reads the source and destination columns of a CSV manifest
// written by redirc-synth (header "source,destination,statusCode,query").
// Rules without a destination (410 Gone) get an empty one: a map or cdb
// user would store the status beside it, which redirc does in its record.
//
// encoding/csv allocates one string per line and slices the fields out of
// it, so a source and its destination share one allocation, as they would
// in a user's own loader.
func ReadRules(path string) (srcs, dsts []string, err error) {
	err = EachRule(path, func(src, dst string) error {
		srcs = append(srcs, src)
		dsts = append(dsts, dst)
		return nil
	})
	return srcs, dsts, err
}

// EachRule calls fn with the source and destination of every rule of a
// CSV manifest written by redirc-synth, in file order, without holding
// the file in memory.
func EachRule(path string, fn func(src, dst string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.ReuseRecord = true
	hdr, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(hdr) < 2 || hdr[0] != "source" || hdr[1] != "destination" {
		return fmt.Errorf("%s: header %q, want source,destination,...", path, hdr)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := fn(rec[0], rec[1]); err != nil {
			return err
		}
	}
}
