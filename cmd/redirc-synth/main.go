// Command redirc-synth writes a deterministic, realistic synthetic redirect
// manifest, so anyone can reproduce redirc's build and lookup numbers:
//
//	redirc-synth -n 1000000 -seed 1 -format csv > rules.csv
//
// Paths have 1 to 6 segments of mixed lengths drawn from a word list plus a
// unique token; about 2% of rules are host-scoped, 1% are prefix rules
// ("/x/*" to "/y/:splat"), 20% of destinations are absolute URLs, and a few
// carry query preservation. Every source is unique and no destination is a
// source, so the manifest compiles without conflicts or chains. The same
// flags always give the same bytes.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/redirc/redirc/internal/synth"
)

var words = strings.Fields(`docs blog news products product help support about company careers
api reference guide guides tutorial tutorials learn getting-started install setup config configuration
release releases notes changelog download downloads pricing features solutions customers case-studies
events webinar webinars press legal privacy terms security status community forum forums team
en de fr es ja zh pt-br ko it v1 v2 v3 2019 2020 2021 2022 2023 2024 archive old legacy category
tag tags author authors page pages article articles post posts item items shop store cart checkout
account login signup dashboard settings profile user users admin search results index overview
introduction concepts tasks tools integrations plugins extensions sdk cli web mobile desktop cloud`)

func main() {
	n := flag.Int("n", 100000, "number of rules")
	seed := flag.Uint64("seed", 1, "random seed (same seed, same output)")
	format := flag.String("format", "csv", "output format: csv, tsv or jsonl; or pattern rules: netlify-patterns (Kong-like \"/product/:version/page/\" _redirects lines) or nginx-regex (nginx \"location ~\" blocks)")
	out := flag.String("o", "", "output file (default stdout)")
	hostFrac := flag.Float64("hosts", 0.02, "fraction of host-scoped rules")
	prefixFrac := flag.Float64("prefix", 0.01, "fraction of prefix rules (csv and jsonl only)")
	flag.Parse()
	patterns := *format == "netlify-patterns" || *format == "nginx-regex"
	if *n < 0 || (*format != "csv" && *format != "tsv" && *format != "jsonl" && !patterns) {
		fmt.Fprintln(os.Stderr, "redirc-synth: want -n >= 0 and -format csv, tsv, jsonl, netlify-patterns or nginx-regex")
		os.Exit(2)
	}
	f := os.Stdout
	if *out != "" {
		var err error
		if f, err = os.Create(*out); err != nil {
			fmt.Fprintln(os.Stderr, "redirc-synth:", err)
			os.Exit(1)
		}
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if patterns {
		writePatterns(w, *format, *n, *seed)
		if err := w.Flush(); err != nil {
			fmt.Fprintln(os.Stderr, "redirc-synth:", err)
			os.Exit(1)
		}
		if *out != "" {
			if err := f.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "redirc-synth:", err)
				os.Exit(1)
			}
		}
		return
	}
	g := gen{r: rand.New(rand.NewPCG(*seed, 0x5eed)), hostFrac: *hostFrac, prefixFrac: *prefixFrac}
	if *format == "tsv" {
		g.prefixFrac, g.hostFrac = 0, 0 // the TSV format has exact paths only
	}
	if *format == "csv" {
		w.WriteString("source,destination,statusCode,query\n")
	}
	for i := 0; i < *n; i++ {
		r := g.rule(i)
		switch *format {
		case "csv":
			fmt.Fprintf(w, "%s,%s,%d,%v\n", csvQuote(r.src), csvQuote(r.dst), r.status, r.query)
		case "tsv":
			fmt.Fprintf(w, "%s\t%s\t%d\n", r.src, r.dst, r.status)
		case "jsonl":
			b, _ := json.Marshal(map[string]any{"source": r.src, "destination": r.dst, "statusCode": r.status, "query": r.query})
			w.Write(b)
			w.WriteByte('\n')
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "redirc-synth:", err)
		os.Exit(1)
	}
	if *out != "" {
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "redirc-synth:", err)
			os.Exit(1)
		}
	}
}

type rule struct {
	src, dst string
	status   int
	query    bool
}

type gen struct {
	r                    *rand.Rand
	hostFrac, prefixFrac float64
}

var statuses = []int{301, 301, 301, 301, 308, 308, 302, 307, 410}

func (g *gen) path(unique string) string {
	segs := 1 + g.r.IntN(6)
	var b strings.Builder
	at := g.r.IntN(segs) // which segment carries the unique token
	for s := 0; s < segs; s++ {
		b.WriteByte('/')
		b.WriteString(words[g.r.IntN(len(words))])
		if g.r.IntN(3) == 0 {
			b.WriteByte('-')
			b.WriteString(words[g.r.IntN(len(words))])
		}
		if s == at { // '_' appears in no word, so sources are unique
			b.WriteByte('_')
			b.WriteString(unique)
		}
	}
	if g.r.IntN(4) == 0 {
		b.WriteString(".html")
	}
	return b.String()
}

func (g *gen) rule(i int) rule {
	id := strconv.FormatUint(uint64(i), 36)
	r := rule{status: statuses[g.r.IntN(len(statuses))]}
	src := g.path(id)
	if g.r.Float64() < g.prefixFrac {
		src = "/p-" + id + src + "/*"
	} else if g.r.Float64() < g.hostFrac {
		src = fmt.Sprintf("shop%d.example.com%s", g.r.IntN(50), src)
	}
	r.src = src
	if r.status == 410 {
		return r
	}
	// Destinations live under /n/ (never a source), sometimes on another site.
	dst := "/n" + g.path(strconv.FormatUint(uint64(g.r.IntN(1<<20)), 36))
	if g.r.IntN(5) == 0 {
		dst = "https://www.example.org" + dst
	}
	if strings.HasSuffix(src, "/*") {
		dst += "/:splat"
	}
	r.dst = dst
	r.query = g.r.IntN(10) == 0
	return r
}

func csvQuote(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// writePatterns writes n pattern rules (internal/synth) in format.
func writePatterns(w *bufio.Writer, format string, n int, seed uint64) {
	if format == "netlify-patterns" {
		for _, r := range synth.Kong(n, seed) {
			fmt.Fprintf(w, "%s %s 301\n", r.Source, r.Destination)
		}
		return
	}
	for _, r := range synth.Nginx(n, seed) {
		fmt.Fprintf(w, "location ~ %s { return 301 %s; }\n", r.Source, r.Destination)
	}
}
