package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/runtime/server"
	"github.com/redirc/redirc/shardfmt"
)

// inputFlags are shared by build and check: how manifests are read and
// what the rules mean.
func inputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "format", Usage: "manifest format: csv, json, jsonl, netlify, tsv, nginx, apache, cloudflare, netlify-toml (default: from each file name: .conf is nginx, or apache when its directives are Apache's; .htaccess apache; .toml netlify-toml; a .csv named *cloudflare* cloudflare)"},
		&cli.IntFlag{Name: "default-status", Usage: "status for rules that give none (default: 301 for Netlify and TSV, 307/308 for CSV/JSON/JSONL, 308 for vercel.json)"},
		&cli.BoolFlag{Name: "skip-unsupported", Usage: "report constructs redirc cannot honour (Netlify/Vercel patterns, nginx and Apache conditions, …) as warnings and skip those rules, instead of failing"},
		&cli.BoolFlag{Name: "strict-trailing-slash", Usage: "treat /a and /a/ as different paths"},
		&cli.BoolFlag{Name: "no-flatten", Usage: "answer each rule's own destination, one hop per request as the platforms do, instead of the end of its chain"},
		&cli.BoolFlag{Name: "allow-empty", Usage: "accept manifests with no rules (an empty build makes a server drop every redirect)"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "list every flattened chain"},
		&cli.IntFlag{Name: "max-line-bytes", Value: compiler.DefaultMaxLineBytes, Usage: "longest manifest line (one rule object in JSON), in `BYTES`; a longer line is an error"},
		&cli.Int64Flag{Name: "max-input-bytes", Value: compiler.DefaultMaxInputBytes, Usage: "largest manifest after decompression, in `BYTES`; reading stops with an error beyond it (refuses decompression bombs)"},
		&cli.IntFlag{Name: "max-source-bytes", Value: compiler.DefaultMaxSourceBytes, Usage: "longest rule source, in `BYTES`"},
		&cli.IntFlag{Name: "max-dest-bytes", Value: compiler.DefaultMaxDestBytes, Usage: "longest rule destination, in `BYTES`"},
	}
}

func readOptions(c *cli.Context) (compiler.ReadOptions, error) {
	ro := compiler.ReadOptions{
		Format:          compiler.Format(strings.ToLower(c.String("format"))),
		DefaultStatus:   c.Int("default-status"),
		SkipUnsupported: c.Bool("skip-unsupported"),
		MaxLineBytes:    c.Int("max-line-bytes"),
		MaxInputBytes:   c.Int64("max-input-bytes"),
	}
	if ro.MaxLineBytes <= 0 || ro.MaxInputBytes <= 0 {
		return ro, usageErr("--max-line-bytes and --max-input-bytes must be positive")
	}
	switch ro.Format {
	case compiler.FormatAuto, compiler.FormatCSV, compiler.FormatJSON, compiler.FormatJSONL, compiler.FormatNetlify, compiler.FormatTSV,
		compiler.FormatNginx, compiler.FormatApache, compiler.FormatCloudflare, compiler.FormatNetlifyTOML:
	default:
		return ro, usageErr("unknown --format %q: want csv, json, jsonl, netlify, tsv, nginx, apache, cloudflare or netlify-toml", ro.Format)
	}
	switch ro.DefaultStatus {
	case 0, 301, 302, 303, 307, 308, 410:
	default:
		return ro, usageErr("--default-status %d: want 301, 302, 303, 307, 308 or 410", ro.DefaultStatus)
	}
	return ro, nil
}

// serveReserved are the paths redirc serve answers itself with its default
// flags (no --admin-addr): build and check warn about rules there. The
// server package owns which paths those are.
var serveReserved = func() []compiler.Reserved {
	var rs []compiler.Reserved
	for _, p := range server.AdminPaths(server.DefaultAdminPrefix) {
		rs = append(rs, compiler.Reserved{
			Path: p,
			Why:  "redirc serve answers it itself (unless it runs with --admin-addr or another --admin-prefix)",
		})
	}
	return rs
}()

// compileOptions returns the compiler options build and check share: the
// rule-size limits, the trailing-slash semantics and serve's reserved paths.
func compileOptions(c *cli.Context) (compiler.Options, error) {
	opt := compiler.Options{
		StrictTrailingSlash: c.Bool("strict-trailing-slash"),
		MaxSourceBytes:      c.Int("max-source-bytes"),
		MaxDestBytes:        c.Int("max-dest-bytes"),
		Reserved:            serveReserved,
		NoFlatten:           c.Bool("no-flatten"),
		AllowEmpty:          c.Bool("allow-empty"),
	}
	if opt.MaxSourceBytes <= 0 || opt.MaxDestBytes <= 0 {
		return opt, usageErr("--max-source-bytes and --max-dest-bytes must be positive")
	}
	return opt, nil
}

// readAll reads every manifest (in parallel) and returns the rules in the
// order the files were given. "-" reads stdin (see readManifest).
func readAll(files []string, stdin io.Reader, ro compiler.ReadOptions) ([]compiler.Rule, []compiler.Problem, error) {
	type result struct {
		rules []compiler.Rule
		probs []compiler.Problem
		err   error
	}
	res := make([]result, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, p, err := readManifest(f, stdin, ro)
			res[i] = result{r, p, err}
		}()
	}
	wg.Wait()
	for _, r := range res {
		if r.err != nil {
			return nil, nil, r.err
		}
	}
	if len(res) == 1 { // the common case: no copy of a million rules
		return res[0].rules, res[0].probs, nil
	}
	n := 0
	for _, r := range res {
		n += len(r.rules)
	}
	rules := make([]compiler.Rule, 0, n)
	var probs []compiler.Problem
	for i := range res {
		rules = append(rules, res[i].rules...)
		probs = append(probs, res[i].probs...)
		res[i] = result{} // let each file's rules go as soon as they are copied
	}
	return rules, probs, nil
}

// flagName names a compiler option by the flag that sets it, for the
// library's hints and limit errors.
func flagName(o compiler.Option) string {
	switch o {
	case compiler.OptionFormat:
		return "--format"
	case compiler.OptionMaxLineBytes:
		return "--max-line-bytes"
	case compiler.OptionMaxInputBytes:
		return "--max-input-bytes"
	case compiler.OptionMaxSourceBytes:
		return "--max-source-bytes"
	case compiler.OptionMaxDestBytes:
		return "--max-dest-bytes"
	case compiler.OptionStrictTrailingSlash:
		return "--strict-trailing-slash"
	case compiler.OptionAllowEmpty:
		return "--allow-empty"
	}
	return o.String()
}

// placeProblems appends the compiler's problems cps to the readers' ps,
// naming the manifests in problems about the whole rule set, which the
// compiler ties to no file. "No rules" is left out when a reader reported
// an error: the rules it refused are why.
func placeProblems(ps, cps []compiler.Problem, files []string) []compiler.Problem {
	readErrs := compiler.HasErrors(ps)
	for _, p := range cps {
		if p.Hint == compiler.HintAllowEmpty && readErrs {
			continue
		}
		if p.Pos.File == "" {
			p.Pos.File = strings.Join(files, ", ")
		}
		ps = append(ps, p)
	}
	return ps
}

// readFailure reports an error that stopped reading a manifest (exit
// code 1), naming the flags that would let it through; an argument that is
// no manifest (a directory, an unknown format) is a usage error (exit 2).
func readFailure(err error) error {
	var le *compiler.LimitError
	switch {
	case errors.As(err, &le):
		return failErr("%s", le.Message(flagName))
	case errors.Is(err, compiler.ErrUnknownFormat), errors.Is(err, errStdinFormat):
		return usageErr("%v; name the format with --format csv|json|jsonl|netlify|tsv|nginx|apache|cloudflare|netlify-toml", err)
	case errors.Is(err, compiler.ErrIsDirectory):
		msg := err.Error()
		if dir, _, ok := strings.Cut(msg, ": "+compiler.ErrIsDirectory.Error()); ok && isBuildDir(dir) {
			msg += " (it holds a build: see redirc inspect, or redirc diff to compare it)"
		}
		return usageErr("%s", msg)
	}
	return failErr("%v", err)
}

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "compile manifests into a build directory",
		ArgsUsage: "-o DIR FILE...",
		Description: `Reads every FILE (format from its name, or --format), checks all rules,
flattens redirect chains, and writes content-addressed shard files plus
index.json into DIR. The index is renamed into place last, so a server
watching DIR sees the old build or the new one, never a mix. If any rule has
an error, nothing is written and every problem is listed with file:line.
Unchanged shards keep their names and bytes. A FILE of "-" is read from
standard input (its format from --format, or told from its first bytes).

Large inputs are compiled in bounded memory: rules are spilled to a temporary
directory beside DIR (.redirc-spill-*, removed when the build ends) and
compiled a bucket at a time. Progress (rules read, rate, stage) goes to
stderr when it is a terminal, or always with --progress.

--json prints one JSON document on stdout (command, ok, files, the counts,
output, buildId, seconds, problems; error on failure), also on failure;
--output-format github prints problems as GitHub Actions annotations.`,
		Flags: append(append(inputFlags(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "build directory to write (created if missing)", Required: true},
			&cli.IntFlag{Name: "shards", Usage: fmt.Sprintf("number of shard files, at most %d (default: rules / --shard-rules, rounded up to a power of two)", shardfmt.MaxShardCount)},
			&cli.IntFlag{Name: "shard-rules", Value: compiler.DefaultShardRules, Usage: "target rules per shard when --shards is not given"},
			&cli.Float64Flag{Name: "bloom-fp", Value: 1e-3, Usage: fmt.Sprintf("Bloom filter false-positive target per shard, from %g to %g", shardfmt.MinBloomFP, shardfmt.MaxBloomFP)},
			&cli.BoolFlag{Name: "progress", Usage: "report progress on stderr (rules read, rate, stage) even when it is not a terminal"},
			&cli.StringFlag{Name: "cpuprofile", Hidden: true, Usage: "write a CPU profile of the build to FILE"},
		), outputFlags("problems")...),
		OnUsageError: cmdUsageError,
		Action:       runBuild,
	}
}

func cmdUsageError(c *cli.Context, err error, _ bool) error {
	return usageErr("%s: %v (see redirc %s --help)", c.Command.Name, err, c.Command.Name)
}

// inputs returns the manifests and the read and compile options that build
// and check share, or a usage error.
func inputs(c *cli.Context, usage string) ([]string, compiler.ReadOptions, compiler.Options, error) {
	files := c.Args().Slice()
	if len(files) == 0 {
		return nil, compiler.ReadOptions{}, compiler.Options{}, usageErr("%s: no manifest given (usage: redirc %s %s)", c.Command.Name, c.Command.Name, usage)
	}
	ro, err := readOptions(c)
	if err != nil {
		return nil, ro, compiler.Options{}, err
	}
	opt, err := compileOptions(c)
	if err == nil {
		err = checkManifestArgs(c.Command.Name, files)
	}
	return files, ro, opt, err
}

func runBuild(c *cli.Context) error {
	files, ro, opt, err := inputs(c, "-o DIR FILE...")
	if err != nil {
		return err
	}
	if fp := c.Float64("bloom-fp"); !(fp >= shardfmt.MinBloomFP && fp <= shardfmt.MaxBloomFP) { // also NaN
		return usageErr("--bloom-fp %v: want a rate from %g to %g, such as 0.001", fp, shardfmt.MinBloomFP, shardfmt.MaxBloomFP)
	}
	if n := c.Int("shards"); n < 0 || n > shardfmt.MaxShardCount {
		return usageErr("--shards %d: want 0 (derive from --shard-rules) to %d", n, shardfmt.MaxShardCount)
	}
	if c.Int("shard-rules") <= 0 {
		return usageErr("--shard-rules must be > 0")
	}
	pf, err := outputFormat(c, "problems")
	if err != nil {
		return err
	}
	out := c.String("output")
	switch {
	case os.Getenv("GOGC") != "":
	case slices.Contains(files, "-"):
		// In memory, the build's live heap is mostly strings it is about
		// to drop; a tighter GC target cuts peak RSS for 1M rules from
		// ~640 MB to ~510 MB at no measurable CPU cost (GOGC=50 vs 100,
		// /usr/bin/time).
		debug.SetGCPercent(50)
	default:
		// The streaming build's live heap is small (a bucket per worker
		// and the index of exact sources): collecting less often saved a
		// fifth of the CPU time at 1e7 rules (GOGC=200 vs 50: 28 vs 36
		// CPU-seconds, peak RSS 520 vs 270 MB); the soft limit keeps 1e8
		// rules, whose index alone is 1 GB, under 4 GB.
		debug.SetGCPercent(200)
		if os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(3 << 30)
		}
	}
	if p := c.String("cpuprofile"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return failErr("%v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return failErr("%v", err)
		}
		defer pprof.StopCPUProfile()
	}
	prog := newProgress(c.App.ErrWriter, c.Bool("progress"))
	start := time.Now()
	opt.Shards, opt.ShardRules, opt.BloomFP = c.Int("shards"), c.Int("shard-rules"), c.Float64("bloom-fp")
	opt.Progress = prog.report

	b, probs, inputs, err := compileBuild(c, files, out, ro, opt, prog)
	var re *compiler.ReadError
	if errors.As(err, &re) {
		prog.done()
		return readFailure(re.Err)
	}
	sortProblems(probs, files)
	doc := buildDoc{Command: "build", Files: files, Output: out, Problems: problemsJSON(probs)}
	doc.Inputs = inputs
	doc.Warnings = countSeverity(probs, compiler.Warning)
	doc.Errors = countSeverity(probs, compiler.Error)
	if err == nil && compiler.HasErrors(probs) {
		err = compiler.ErrInvalid
	}
	if err != nil {
		prog.done()
		if compiler.HasErrors(probs) {
			err = failErr("build failed: %s; %s left unchanged", countProblems(probs), out)
		} else {
			err = failErr("build failed: %v; %s left unchanged", err, out)
		}
		if pf == "json" {
			doc.Error, doc.Seconds = err.Error(), time.Since(start).Seconds()
			writeJSON(c.App.Writer, doc)
		} else {
			printProblems(c.App.Writer, c.App.ErrWriter, pf, probs)
		}
		return err
	}
	prog.done()
	st := b.Stats
	st.Inputs = inputs
	st.Warnings = countSeverity(probs, compiler.Warning)
	elapsed := time.Since(start)
	if c.Bool("verbose") {
		for _, ch := range b.Chains {
			fmt.Fprintf(c.App.ErrWriter, "chain flattened: %s\n", ch)
		}
	}
	if pf == "json" {
		doc.OK, doc.Stats, doc.BuildID, doc.Seconds = true, st, b.Index.BuildID, elapsed.Seconds()
		return writeJSON(c.App.Writer, doc)
	}
	printProblems(c.App.Writer, c.App.ErrWriter, pf, probs)
	perRule := 0.0
	if st.Rules > 0 {
		perRule = float64(st.Bytes) / float64(st.Rules)
	}
	fmt.Fprintf(c.App.ErrWriter, "built %s (%d read) into %s, %s (%.1f B/rule); %s flattened, %s; wrote %s to %s in %s (build %s)\n",
		nounCount(st.Rules, "rule"), st.Inputs, nounCount(st.Shards, "shard"), humanBytes(st.Bytes), perRule,
		nounCount(st.Chains, "chain"), nounCount(st.Warnings, "warning"), nounCount(st.Written, "shard file"),
		out, elapsed.Round(time.Millisecond), b.Index.BuildID)
	return nil
}

// compileBuild compiles the manifests and writes the build into out. It
// returns the problems (unsorted) and the number of rules read; a manifest
// that could not be read gives a *compiler.ReadError.
func compileBuild(c *cli.Context, files []string, out string, ro compiler.ReadOptions, opt compiler.Options, prog *progress) (*compiler.Build, []compiler.Problem, int, error) {
	if !slices.Contains(files, "-") {
		// Files: CompileFiles spills rules to disk beside out and
		// compiles them in bounded memory.
		b, probs, err := compiler.CompileFiles(context.Background(), out, files, ro, opt)
		inputs := int(prog.rules.Load())
		if b != nil {
			inputs = b.Stats.Inputs
		}
		return b, placeProblems(nil, probs, files), inputs, err
	}
	// Standard input can be read only once: in memory.
	prog.stage("reading %s", nounCount(len(files), "file"))
	rules, probs, err := readAll(files, c.App.Reader, ro)
	if err != nil {
		return nil, nil, 0, &compiler.ReadError{Err: err}
	}
	prog.stage("compiling %d rules", len(rules))
	// Rules with reader errors are not in rules; compile the rest anyway
	// so that every problem is listed in one run.
	b, cprobs, err := compiler.Compile(rules, opt)
	probs = placeProblems(probs, cprobs, files)
	if err == nil && compiler.HasErrors(probs) {
		err = compiler.ErrInvalid
	}
	if err != nil {
		return nil, probs, len(rules), err
	}
	prog.stage("writing %s to %s", nounCount(len(b.Shards), "shard"), out)
	if err := b.WriteDir(out); err != nil {
		return nil, probs, len(rules), err
	}
	return b, probs, len(rules), nil
}

// buildDoc is the JSON document of redirc build: the compiler's counts
// (inputs, rules, shards, bytes, chains, warnings, errors, written), the
// build, every problem, and on failure the error.
type buildDoc struct {
	Command string   `json:"command"`
	OK      bool     `json:"ok"`
	Files   []string `json:"files"`
	compiler.Stats
	Output   string        `json:"output"`
	BuildID  string        `json:"buildId,omitempty"`
	Seconds  float64       `json:"seconds"`
	Problems []problemJSON `json:"problems"`
	Error    string        `json:"error,omitempty"`
}

func countSeverity(ps []compiler.Problem, s compiler.Severity) int {
	n := 0
	for _, p := range ps {
		if p.Severity == s {
			n++
		}
	}
	return n
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// progress shows the current stage on a terminal (or with --progress)
// and stays silent otherwise (CI logs get only the summary).
type progress struct {
	w         io.Writer
	on        bool
	tty       bool
	start     time.Time
	rules     atomic.Int64 // rules read, as last reported
	mu        sync.Mutex
	last      time.Time
	lastStage string
}

func newProgress(w io.Writer, force bool) *progress {
	p := &progress{w: w, start: time.Now(), on: force}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
			p.on = true
		}
	}
	return p
}

func (p *progress) stage(format string, args ...any) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line(fmt.Sprintf(format, args...))
}

// line writes one status line: over the previous one on a terminal, as a
// line of its own otherwise.
func (p *progress) line(msg string) {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K[%5.1fs] %s...", time.Since(p.start).Seconds(), msg)
	} else {
		fmt.Fprintf(p.w, "[%5.1fs] %s\n", time.Since(p.start).Seconds(), msg)
	}
}

// report is the compiler's Progress callback: rules read and their rate,
// then the stage; a line for each new stage, else at most four a second.
func (p *progress) report(pr compiler.Progress) {
	p.rules.Store(pr.Rules)
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	final := pr.Total > 0 && pr.Done == pr.Total
	if !final && pr.Stage == p.lastStage && now.Sub(p.last) < 250*time.Millisecond {
		return
	}
	p.last, p.lastStage = now, pr.Stage
	el := time.Since(p.start).Seconds()
	msg := fmt.Sprintf("%s: %d rules read (%.0f rules/s)", pr.Stage, pr.Rules, float64(pr.Rules)/max(el, 1e-3))
	if pr.Total > 0 || pr.Stage == "writing" {
		msg = fmt.Sprintf("%s: %d/%d, %d rules read", pr.Stage, pr.Done, pr.Total, pr.Rules)
	}
	p.line(msg)
}

func (p *progress) done() {
	if p.on && p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
