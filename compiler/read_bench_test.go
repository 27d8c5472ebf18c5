package compiler

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

// rdGenerate writes n generated rules in the given format: paths of
// realistic length, one in ten with an absolute destination, one in five
// with a status.
func rdGenerate(format Format, n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 80)
	switch format {
	case FormatCSV:
		b.WriteString("source,destination,statusCode,permanent\n")
	case FormatJSON:
		b.WriteString("[\n")
	}
	for i := range n {
		src := fmt.Sprintf("/docs/section-%d/article-%d-old-title", i%97, i)
		dst := fmt.Sprintf("/docs/section-%d/article-%d", i%89, i)
		if i%10 == 0 {
			dst = "https://archive.example.com" + dst
		}
		status := ""
		if i%5 == 0 {
			status = "302"
		}
		switch format {
		case FormatTSV:
			b.WriteString(src + "\t" + dst)
			if status != "" {
				b.WriteString("\t" + status)
			}
		case FormatNetlify:
			b.WriteString(src + "    " + dst)
			if status != "" {
				b.WriteString(" " + status + "!")
			}
		case FormatCSV:
			b.WriteString(src + "," + dst + "," + status + ",t")
		case FormatJSON, FormatJSONL:
			if format == FormatJSON && i > 0 {
				b.WriteString(",\n")
			}
			fmt.Fprintf(&b, `{"source":%q,"destination":%q`, src, dst)
			if status != "" {
				b.WriteString(`,"statusCode":` + status)
			} else {
				b.WriteString(`,"permanent":true`)
			}
			b.WriteString("}")
		}
		if format != FormatJSON {
			b.WriteByte('\n')
		}
	}
	if format == FormatJSON {
		b.WriteString("\n]\n")
	}
	return b.Bytes()
}

const rdBenchRules = 1_000_000

var rdBenchInputs sync.Map // Format -> []byte

func rdBenchInput(format Format) []byte {
	if v, ok := rdBenchInputs.Load(format); ok {
		return v.([]byte)
	}
	data := rdGenerate(format, rdBenchRules)
	rdBenchInputs.Store(format, data)
	return data
}

// BenchmarkRead reads 1M generated rules per op in each format, beside a
// peer doing the least work possible on the same bytes (a bufio.Scanner
// split on tabs, encoding/csv alone, encoding/json into structs), so the
// cost of redirc's checks shows as a ratio. Run with
//
//	go test -run '^$' -bench 'BenchmarkRead' -benchtime 5x ./compiler
func BenchmarkRead(b *testing.B) {
	for _, format := range []Format{FormatTSV, FormatCSV, FormatNetlify, FormatJSONL, FormatJSON} {
		data := rdBenchInput(format)
		b.Run(string(format), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				rules, problems, err := Read("bench", bytes.NewReader(data), ReadOptions{Format: format})
				if err != nil || len(problems) != 0 || len(rules) != rdBenchRules {
					b.Fatalf("%d rules, %v, %v", len(rules), problems, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rdBenchRules), "ns/rule")
		})
		b.Run(string(format)+"-peer", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if n := rdPeer(format, data); n != rdBenchRules {
					b.Fatalf("peer read %d rules", n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rdBenchRules), "ns/rule")
		})
	}
}

// rdPeer reads data the plainest way, keeping the source and destination
// strings as Read does.
func rdPeer(format Format, data []byte) int {
	type pair struct{ src, dst string }
	var out []pair
	switch format {
	case FormatTSV, FormatNetlify:
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var f []string
			if format == FormatTSV {
				f = strings.Split(sc.Text(), "\t")
			} else {
				f = strings.Fields(sc.Text())
			}
			out = append(out, pair{f[0], f[1]})
		}
	case FormatCSV:
		cr := csv.NewReader(bytes.NewReader(data))
		cr.ReuseRecord = true
		cr.Read()
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			out = append(out, pair{rec[0], rec[1]})
		}
	case FormatJSONL, FormatJSON:
		type obj struct {
			Source, Destination string
			StatusCode          int
			Permanent           bool
		}
		if format == FormatJSON {
			var all []obj
			json.Unmarshal(data, &all)
			return len(all)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var o obj
			json.Unmarshal(sc.Bytes(), &o)
			out = append(out, pair{o.Source, o.Destination})
		}
	}
	return len(out)
}

// TestReadAllocs pins the allocations per rule: one string allocation
// holding each rule's source and destination, plus the amortized growth
// of the rule slice.
func TestReadAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts in -short mode")
	}
	const n = 20000
	for _, format := range []Format{FormatTSV, FormatCSV, FormatNetlify, FormatJSONL, FormatJSON} {
		data := rdGenerate(format, n)
		allocs := testing.AllocsPerRun(3, func() {
			Read("x", bytes.NewReader(data), ReadOptions{Format: format})
		})
		if perRule := allocs / n; perRule > 1.05 {
			t.Errorf("%s: %.0f allocations for %d rules (%.2f per rule), want about 1 per rule", format, allocs, n, perRule)
		} else {
			t.Logf("%s: %.3f allocations per rule", format, perRule)
		}
	}
}
