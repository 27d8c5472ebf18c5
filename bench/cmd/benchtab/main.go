// Command benchtab turns the raw output of bench/run.sh and bench/http.sh
// (go test -bench lines, and "RESULT kind key=value ..." lines) into the
// Markdown tables of the README's Performance section: medians over the
// repeated runs, their spread, and ratios to the peers.
//
//	benchtab FILE...
package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// sample is every value seen for one benchmark and unit.
type series map[string][]float64 // unit -> values

type data struct {
	machine string
	bench   map[string]series // "Lookup/n=1e6/hit/redirc" -> unit -> values
	results []map[string]string
}

var cpuSuffix = regexp.MustCompile(`-\d+$`)

func main() {
	d := &data{bench: map[string]series{}}
	for _, name := range os.Args[1:] {
		if err := d.read(name); err != nil {
			fmt.Fprintln(os.Stderr, "benchtab:", err)
			os.Exit(1)
		}
	}
	d.print(os.Stdout)
}

func (d *data) read(name string) error {
	f, err := os.Open(name)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "MACHINE "):
			d.machine = strings.TrimPrefix(line, "MACHINE ")
		case strings.HasPrefix(line, "RESULT "):
			d.results = append(d.results, parseKV(strings.TrimPrefix(line, "RESULT ")))
		case strings.HasPrefix(line, "Benchmark"):
			f := strings.Fields(line)
			if len(f) < 4 {
				continue
			}
			key := cpuSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
			s := d.bench[key]
			if s == nil {
				s = series{}
				d.bench[key] = s
			}
			for i := 2; i+1 < len(f); i += 2 {
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					break
				}
				s[f[i+1]] = append(s[f[i+1]], v)
			}
		}
	}
	return sc.Err()
}

// parseKV parses `kind key=value key="quoted value" ...`; the first word
// is stored as "kind".
func parseKV(s string) map[string]string {
	m := map[string]string{}
	first := true
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		var tok string
		if i := strings.IndexByte(s, '='); i >= 0 && !first && i < strings.IndexAny(s+" ", " ") {
			k := s[:i]
			s = s[i+1:]
			if strings.HasPrefix(s, `"`) {
				j := strings.IndexByte(s[1:], '"')
				if j < 0 {
					j = len(s) - 1
				}
				m[k] = s[1 : j+1]
				s = s[min(len(s), j+2):]
				continue
			}
			j := strings.IndexByte(s, ' ')
			if j < 0 {
				j = len(s)
			}
			m[k] = s[:j]
			s = s[j:]
			continue
		}
		j := strings.IndexByte(s, ' ')
		if j < 0 {
			j = len(s)
		}
		tok, s = s[:j], s[j:]
		if first {
			m["kind"] = tok
			first = false
		}
	}
	return m
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is the largest distance from the median, in percent of it.
func spread(v []float64) float64 {
	m := median(v)
	if len(v) < 2 || m == 0 {
		return 0
	}
	d := 0.0
	for _, x := range v {
		d = max(d, math.Abs(x-m))
	}
	return 100 * d / m
}

func (d *data) get(key, unit string) []float64 { return d.bench[key][unit] }

// sizes returns the sizes (n=...) seen for a benchmark prefix, in order.
func (d *data) sizes(prefix string) []string {
	seen := map[string]bool{}
	var out []string
	for k := range d.bench {
		if !strings.HasPrefix(k, prefix+"/") {
			continue
		}
		sz := strings.Split(k, "/")[1]
		if !seen[sz] {
			seen[sz] = true
			out = append(out, sz)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cmpFloat(sizeNum(a), sizeNum(b)) })
	return out
}

func sizeNum(s string) float64 {
	v, _ := strconv.ParseFloat(strings.TrimPrefix(s, "n="), 64)
	return v
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func fmtNs(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f ±%.0f%%", median(v), spread(v))
}

func ratio(a, b []float64) string {
	if len(a) == 0 || len(b) == 0 {
		return "–"
	}
	return fmt.Sprintf("**%.2f×**", median(a)/median(b))
}

func fmtInt(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	return strconv.FormatFloat(median(v), 'f', -1, 64)
}

func (d *data) print(w *os.File) {
	if d.machine != "" {
		m := parseKV("machine " + d.machine)
		fmt.Fprintf(w, "Machine: %s, %s cores, %s, %s; load average at start %s; %s.\n\n", m["cpu"], m["cores"], m["mem"], m["go"], m["load"], m["date"])
	}
	peers := []string{"redirc", "redirc-find", "map", "sorted", "cdb"}
	for _, t := range []struct{ fn, unit, title string }{
		{"Lookup", "-ns/op", "Lookup, one goroutine: wall time per lookup (ns, median ±largest deviation over the runs)"},
		{"Lookup", "-cpu-ns/op", "Lookup, one goroutine: CPU time of the thread per lookup (ns, median ±largest deviation)"},
		{"LookupParallel", "-ns/op", "Lookup, b.RunParallel on every core: wall time per lookup ÷ cores (ns, median ±largest deviation)"},
	} {
		szs := d.sizes(t.fn)
		if len(szs) == 0 {
			continue
		}
		fmt.Fprintf(w, "#### %s\n\n", t.title)
		fmt.Fprintln(w, "| rules | keys | redirc Lookup | redirc Find | map | sorted | cdb | Lookup ÷ map | Find ÷ map | allocs/op (Lookup, map, sorted, cdb) |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
		for _, sz := range szs {
			for _, kind := range []string{"hit", "miss", "mix"} {
				k := t.fn + "/" + sz + "/" + kind
				if d.bench[k] == nil {
					continue
				}
				row := []string{strings.TrimPrefix(sz, "n="), kind}
				for _, p := range peers {
					row = append(row, fmtNs(d.get(k, p+t.unit)))
				}
				row = append(row, ratio(d.get(k, "redirc"+t.unit), d.get(k, "map"+t.unit)))
				row = append(row, ratio(d.get(k, "redirc-find"+t.unit), d.get(k, "map"+t.unit)))
				var al []string
				for _, p := range []string{"redirc", "map", "sorted", "cdb"} {
					al = append(al, fmtInt(d.get(k, p+"-allocs/op")))
				}
				row = append(row, strings.Join(al, ", "))
				fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
			}
		}
		fmt.Fprintln(w)
	}

	if szs := d.sizes("Memory"); len(szs) > 0 {
		fmt.Fprintln(w, "#### Memory per rule (bytes of live heap after loading and a full GC; nothing is mapped)")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| rules | redirc | map | sorted | cdb | redirc ÷ map | redirc files | cdb file | CSV |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, sz := range szs {
			k := func(peer string) string { return "Memory/" + sz + "/" + peer }
			row := []string{strings.TrimPrefix(sz, "n=")}
			for _, p := range []string{"redirc", "map", "sorted", "cdb"} {
				row = append(row, fmt.Sprintf("%.0f", median(d.get(k(p), "B/rule"))))
			}
			row = append(row, ratio(d.get(k("redirc"), "B/rule"), d.get(k("map"), "B/rule")))
			for _, p := range []string{"redirc", "cdb", "map"} {
				row = append(row, fmt.Sprintf("%.0f", median(d.get(k(p), "file-B/rule"))))
			}
			fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
		}
		fmt.Fprintln(w)
	}

	if szs := d.sizes("Open"); len(szs) > 0 {
		fmt.Fprintln(w, "#### Open: from nothing to the first answer (ms, median ±largest deviation)")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| rules | redirc (`runtime.Open`, verify all) | map (parse CSV, fill) | sorted (parse CSV, sort) | cdb (read file) | redirc ÷ map |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
		for _, sz := range szs {
			k := func(peer string) string { return "Open/" + sz + "/" + peer }
			row := []string{strings.TrimPrefix(sz, "n=")}
			for _, p := range []string{"redirc", "map", "sorted", "cdb"} {
				v := d.get(k(p), "ns/op")
				ms := make([]float64, len(v))
				for i := range v {
					ms[i] = v[i] / 1e6
				}
				row = append(row, fmtNs(ms))
			}
			row = append(row, ratio(d.get(k("redirc"), "ns/op"), d.get(k("map"), "ns/op")))
			fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
		}
		fmt.Fprintln(w)
	}

	d.printResults(w)
}

func f64(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

func (d *data) printResults(w *os.File) {
	var build, http, reload []map[string]string
	start := map[string]string{}
	for _, r := range d.results {
		switch r["kind"] {
		case "start":
			start[r["server"]] = r["seconds"]
		case "build":
			build = append(build, r)
		case "http":
			http = append(http, r)
		case "reload":
			reload = append(reload, r)
		}
	}
	if len(build) > 0 {
		fmt.Fprintln(w, "#### Build from CSV (one run each; wall time is shared-machine time, CPU is user+sys)")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| rules | tool | wall s | CPU s | rules/s (wall) | peak RSS MB | RSS ÷ redirc | wall ÷ redirc |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|")
		ref := map[string]map[string]string{}
		for _, r := range build {
			if r["peer"] == "redirc" {
				ref[r["size"]] = r
			}
		}
		names := map[string]string{"redirc": "`redirc build`", "cdb": "cdb build (colinmarc/cdb)", "nginx": "`nginx -t` (map)"}
		for _, r := range build {
			if r["failed"] != "" {
				fmt.Fprintf(w, "| %s | %s | failed | | | | | |\n", r["size"], names[r["peer"]])
				continue
			}
			wall, cpu := f64(r["wall"]), f64(r["user"])+f64(r["sys"])
			rss := f64(r["rss_kb"]) / 1024
			rr, wr := "", ""
			if b := ref[r["size"]]; b != nil && r["peer"] != "redirc" {
				rr = fmt.Sprintf("%.2f×", rss/(f64(b["rss_kb"])/1024))
				wr = fmt.Sprintf("%.2f×", wall/f64(b["wall"]))
			}
			fmt.Fprintf(w, "| %s | %s | %.2f | %.2f | %.0f | %.0f | %s | %s |\n", r["size"], names[r["peer"]], wall, cpu, f64(r["rules"])/wall, rss, rr, wr)
		}
		fmt.Fprintln(w)
	}
	if len(http) > 0 {
		fmt.Fprintln(w, "#### HTTP: each server on one core, wrk on the other (median of the runs, ±largest deviation)")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| rules | server | requests/s | p50 ms | p99 ms | memory MB (PSS) | req/s ÷ nginx | p99 ÷ nginx | memory ÷ nginx | start to first answer s |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
		type agg struct{ rps, p50, p99, rss []float64 }
		byServer := map[string]*agg{}
		var order []string
		rules := ""
		for _, r := range http {
			a := byServer[r["server"]]
			if a == nil {
				a = &agg{}
				byServer[r["server"]] = a
				order = append(order, r["server"])
			}
			a.rps = append(a.rps, f64(r["rps"]))
			a.p50 = append(a.p50, f64(r["p50_ms"]))
			a.p99 = append(a.p99, f64(r["p99_ms"]))
			a.rss = append(a.rss, f64(r["rss_kb"])/1024)
			rules = r["rules"]
		}
		ng := byServer["nginx"]
		for _, s := range order {
			a := byServer[s]
			row := fmt.Sprintf("| %s | %s | %.0f ±%.0f%% | %.2f | %.2f | %.0f |", rules, s, median(a.rps), spread(a.rps), median(a.p50), median(a.p99), median(a.rss))
			if ng != nil && s != "nginx" {
				row += fmt.Sprintf(" **%.2f×** | %.2f× | %.2f× |", median(a.rps)/median(ng.rps), median(a.p99)/median(ng.p99), median(a.rss)/median(ng.rss))
			} else {
				row += " | | |"
			}
			row += " " + start[s] + " |"
			fmt.Fprintln(w, row)
		}
		fmt.Fprintln(w)
	}
	if len(reload) > 0 {
		fmt.Fprintln(w, "#### Reload under load: from a new build in place to new answers")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| rules | server | new answers after s | requests/s during | p99 ms during | max ms during | p99 ms without reload | errors |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|")
		for _, r := range reload {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r["rules"], r["server"], r["switch_s"], r["rps"], r["p99_ms"], r["max_ms"], r["base_p99_ms"], r["errors"])
		}
		fmt.Fprintln(w)
	}
}
