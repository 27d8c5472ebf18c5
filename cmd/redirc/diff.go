package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/internal/builddiff"
	"github.com/redirc/redirc/internal/inspect"
	"github.com/redirc/redirc/shardfmt"
)

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "compare the answers of two builds or manifests",
		ArgsUsage: "OLD NEW",
		Description: `OLD and NEW are each a build directory or a manifest. A manifest is
compiled in memory, with the input flags below; when the other side is a
build, with that build's shard count, hash seed and trailing-slash mode
(unless --strict-trailing-slash is given), so that both walk the same shards.

Lists the rules NEW adds, the rules it removes and the rules whose answer
changes (old answer -> new answer), then the counts.

  --output-format text     one line per rule, then the counts (default)
  --output-format json     one object: old, new, same, counts, settings, added,
                           removed, changed (--json for short); on failure,
                           one object with ok false, error and problems
  --output-format github   GitHub Actions annotations: ::notice for added
                           rules and ::warning for changed and removed ones,
                           on NEW's file:line when NEW is a manifest

Either side may be "-", a manifest read from standard input. -v lists the
chains flattened in a manifest side.

Exit codes, as diff(1): 0 the answers are the same, 1 they differ, 2 usage
errors or trouble (an unreadable build, a manifest with errors).`,
		Flags:        append(inputFlags(), outputFlags("output")...),
		OnUsageError: cmdUsageError,
		Action:       runDiff,
	}
}

// diffSide is one argument of diff, loaded.
type diffSide struct {
	arg      string
	manifest bool
	build    *shardfmt.Build
	rules    []compiler.Rule // a manifest's rules, kept for github annotations
}

func runDiff(c *cli.Context) error {
	if c.NArg() != 2 {
		return usageErr("diff: want two arguments, OLD and NEW (usage: redirc diff [--output-format text|json|github] OLD NEW)")
	}
	out, err := outputFormat(c, "output")
	if err != nil {
		return err
	}
	if err := checkManifestArgs("diff", c.Args().Slice()); err != nil {
		return err
	}
	ro, err := readOptions(c)
	if err != nil {
		return err
	}
	opt, err := compileOptions(c)
	if err != nil {
		return err
	}
	sides := [2]*diffSide{{arg: c.Args().Get(0)}, {arg: c.Args().Get(1)}}
	// Builds first: a manifest is compiled to match the other side's build.
	for _, s := range sides {
		if s.arg == "-" {
			s.manifest = true
			continue
		}
		fi, err := os.Stat(s.arg)
		if err != nil {
			return cli.Exit(fmt.Sprintf("diff: %v", err), 2)
		}
		if !fi.IsDir() {
			s.manifest = true
			continue
		}
		if s.build, err = shardfmt.LoadBuild(s.arg); err != nil {
			return cli.Exit(fmt.Sprintf("diff: %s: %v", s.arg, err), 2)
		}
	}
	for i, s := range sides {
		if !s.manifest {
			continue
		}
		other := sides[1-i].build
		o := opt
		if other != nil {
			o.Shards, o.HashSeed = other.Index.ShardCount, other.Index.HashSeed
			if !c.IsSet("strict-trailing-slash") {
				o.StrictTrailingSlash = other.Index.StrictTrailingSlash
			}
		}
		keep := i == 1 && out != "text" // json and github give file:line
		if err := s.compile(c, ro, o, keep, out == "json"); err != nil {
			return err
		}
	}
	old, new := sides[0], sides[1]
	res := builddiff.Diff(old.build, new.build)

	w := bufio.NewWriterSize(c.App.Writer, 64<<10)
	switch out {
	case "json":
		err = writeDiffJSON(w, old, new, res)
	case "github":
		err = writeDiffGitHub(w, old, new, res)
	default:
		err = writeDiffText(w, old, new, res)
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return cli.Exit(fmt.Sprintf("diff: %v", err), 2)
	}
	if !res.Same() {
		return cli.Exit("", 1)
	}
	return nil
}

// compile reads and compiles a manifest side into an in-memory build. With
// keep, the rules are kept for their positions. With asJSON, a manifest
// with errors is reported in a JSON document on stdout.
func (s *diffSide) compile(c *cli.Context, ro compiler.ReadOptions, opt compiler.Options, keep, asJSON bool) error {
	rules, probs, err := readAll([]string{s.arg}, c.App.Reader, ro)
	if err != nil {
		return cli.Exit(fmt.Sprintf("diff: %v", err), 2)
	}
	b, cprobs, err := compiler.Compile(rules, opt)
	probs = append(probs, cprobs...)
	sortProblems(probs, []string{s.arg})
	if compiler.HasErrors(probs) || errors.Is(err, compiler.ErrInvalid) {
		var errs []compiler.Problem
		for _, p := range probs {
			if p.Severity == compiler.Error {
				errs = append(errs, p)
			}
		}
		msg := fmt.Sprintf("diff: %s has errors (%s); see redirc check", displayName(s.arg), countProblems(probs))
		if asJSON {
			writeJSON(c.App.Writer, failureDoc{Command: "diff", ExitCode: 2, Error: msg, Problems: problemsJSON(errs)})
		} else {
			for _, p := range errs {
				fmt.Fprintf(c.App.ErrWriter, "%s: %s: %s\n", p.Pos, p.Severity, p.Message(flagName))
			}
		}
		return cli.Exit(msg, 2)
	}
	if c.Bool("verbose") && b != nil {
		for _, ch := range b.Chains {
			fmt.Fprintf(c.App.ErrWriter, "chain flattened: %s\n", ch)
		}
	}
	if err != nil {
		return cli.Exit(fmt.Sprintf("diff: compiling %s: %v", s.arg, err), 2)
	}
	shards := make([]*shardfmt.Shard, len(b.Shards))
	for i, img := range b.Shards {
		if shards[i], err = shardfmt.OpenShard(img); err != nil {
			return cli.Exit(fmt.Sprintf("diff: %s: shard %d: %v", s.arg, i, err), 2)
		}
	}
	if s.build, err = shardfmt.NewBuild(b.Index, shards); err != nil {
		return cli.Exit(fmt.Sprintf("diff: %s: %v", s.arg, err), 2)
	}
	if keep {
		s.rules = rules
	}
	return nil
}

// source returns the manifest source of a key of this side's build.
func (s *diffSide) source(key string) string {
	src, ci, err := inspect.SourceOf(key, s.build.Index.StrictTrailingSlash)
	if err != nil {
		return fmt.Sprintf("%q", key) // not a key the compiler writes; show it as it is
	}
	if ci {
		src += " (case-sensitive)"
	}
	return src
}

// answerText formats what a rule answers: "301 /dest", "410 Gone", with
// " +query" and " until TIME" when they apply.
func answerText(r shardfmt.Record) string {
	s := fmt.Sprintf("%d %s", r.Status, r.Dest)
	if r.Status == 410 {
		s = "410 Gone"
	}
	if r.Flags&shardfmt.FlagQuery != 0 {
		s += " +query"
	}
	if r.Expires != 0 {
		s += " until " + time.Unix(int64(r.Expires), 0).UTC().Format(time.RFC3339)
	}
	return s
}

func diffCounts(r *builddiff.Result) string {
	s := fmt.Sprintf("%d added, %d removed, %d changed, %d unchanged", len(r.Added), len(r.Removed), len(r.Changed), r.Unchanged)
	if len(r.Settings) > 0 {
		s += fmt.Sprintf(", %s changed", nounCount(len(r.Settings), "setting"))
	}
	if r.Patterns != nil {
		s += ", pattern rules changed"
	}
	return s
}

func writeDiffText(w io.Writer, old, new *diffSide, r *builddiff.Result) error {
	for _, st := range r.Settings {
		fmt.Fprintf(w, "! %s: %v -> %v\n", st.Name, st.Old, st.New)
	}
	if p := r.Patterns; p != nil {
		fmt.Fprintf(w, "! pattern rules (compared as a whole): %s -> %s\n", nounCount(p.OldRules, "rule"), nounCount(p.NewRules, "rule"))
	}
	for _, ch := range r.Changed {
		fmt.Fprintf(w, "~ %s: %s -> %s\n", new.source(ch.Key), answerText(ch.Old), answerText(ch.New))
	}
	for _, e := range r.Added {
		fmt.Fprintf(w, "+ %s: %s\n", new.source(e.Key), answerText(e.Answer))
	}
	for _, e := range r.Removed {
		fmt.Fprintf(w, "- %s: %s\n", old.source(e.Key), answerText(e.Answer))
	}
	_, err := fmt.Fprintf(w, "%s (%s -> %s)\n", diffCounts(r), old.arg, new.arg)
	return err
}

// positions maps the keys that the annotations need to their place in NEW's
// manifest.
func (s *diffSide) positions(r *builddiff.Result) map[string]compiler.Pos {
	if s.rules == nil {
		return nil
	}
	want := make(map[string]bool, len(r.Added)+len(r.Changed))
	for _, e := range r.Added {
		want[e.Key] = true
	}
	for _, ch := range r.Changed {
		want[ch.Key] = true
	}
	return inspect.Positions(s.rules, s.build.Index.StrictTrailingSlash, func(k []byte) bool { return want[string(k)] })
}

func writeDiffGitHub(w io.Writer, old, new *diffSide, r *builddiff.Result) error {
	pos := new.positions(r)
	where := func(key string) string {
		if !new.manifest {
			return ""
		}
		p, ok := pos[key]
		if !ok || p.Line <= 0 {
			return "file=" + ghProp(new.arg) + ","
		}
		return fmt.Sprintf("file=%s,line=%d,", ghProp(p.File), p.Line)
	}
	for _, st := range r.Settings {
		fmt.Fprintf(w, "::warning %stitle=redirc diff::%s", where(""), ghData(fmt.Sprintf("%s changes from %v to %v", st.Name, st.Old, st.New)))
		fmt.Fprintln(w)
	}
	for _, ch := range r.Changed {
		fmt.Fprintf(w, "::warning %stitle=redirect changed::%s\n", where(ch.Key),
			ghData(fmt.Sprintf("%s: %s -> %s", new.source(ch.Key), answerText(ch.Old), answerText(ch.New))))
	}
	for _, e := range r.Added {
		fmt.Fprintf(w, "::notice %stitle=redirect added::%s\n", where(e.Key), ghData(fmt.Sprintf("%s: %s", new.source(e.Key), answerText(e.Answer))))
	}
	for _, e := range r.Removed {
		fmt.Fprintf(w, "::warning %stitle=redirect removed::%s\n", where(""), ghData(fmt.Sprintf("%s: was %s", old.source(e.Key), answerText(e.Answer))))
	}
	_, err := fmt.Fprintf(w, "::notice title=redirc diff::%s\n", ghData(fmt.Sprintf("%s (%s -> %s)", diffCounts(r), old.arg, new.arg)))
	return err
}

// jsonAnswer is a rule's answer in diff --output json.
type jsonAnswer struct {
	Status      int    `json:"status"`
	Destination string `json:"destination,omitempty"`
	Query       bool   `json:"query,omitempty"`
	Expires     string `json:"expires,omitempty"`
}

func toJSONAnswer(r shardfmt.Record) jsonAnswer {
	a := jsonAnswer{Status: int(r.Status), Destination: r.Dest, Query: r.Flags&shardfmt.FlagQuery != 0}
	if r.Expires != 0 {
		a.Expires = time.Unix(int64(r.Expires), 0).UTC().Format(time.RFC3339)
	}
	return a
}

type jsonRule struct {
	Source        string      `json:"source"`
	CaseSensitive bool        `json:"caseSensitive,omitempty"`
	Answer        *jsonAnswer `json:"answer,omitempty"`
	Old           *jsonAnswer `json:"old,omitempty"`
	New           *jsonAnswer `json:"new,omitempty"`
	File          string      `json:"file,omitempty"`
	Line          int         `json:"line,omitempty"`
}

type jsonSide struct {
	Path    string `json:"path"`
	Kind    string `json:"kind"` // "build" or "manifest"
	BuildID string `json:"buildId"`
	Rules   int    `json:"rules"`
}

func (s *diffSide) jsonSide() jsonSide {
	kind := "build"
	if s.manifest {
		kind = "manifest"
	}
	return jsonSide{s.arg, kind, s.build.Index.BuildID, s.build.Index.Rules}
}

func (s *diffSide) jsonRule(key string) jsonRule {
	src, ci, err := inspect.SourceOf(key, s.build.Index.StrictTrailingSlash)
	if err != nil {
		src = key
	}
	return jsonRule{Source: src, CaseSensitive: ci}
}

func writeDiffJSON(w io.Writer, old, new *diffSide, r *builddiff.Result) error {
	pos := new.positions(r)
	at := func(j *jsonRule, key string) {
		if p, ok := pos[key]; ok {
			j.File, j.Line = p.File, p.Line
		}
	}
	doc := struct {
		Command  string     `json:"command"`
		OK       bool       `json:"ok"` // the diff ran (false only in a failure document)
		Old      jsonSide   `json:"old"`
		New      jsonSide   `json:"new"`
		Same     bool       `json:"same"`
		Counts   any        `json:"counts"`
		Settings []any      `json:"settings"`
		Patterns any        `json:"patterns,omitempty"`
		Added    []jsonRule `json:"added"`
		Removed  []jsonRule `json:"removed"`
		Changed  []jsonRule `json:"changed"`
		Stats    any        `json:"stats"`
	}{
		Command: "diff", OK: true,
		Old: old.jsonSide(), New: new.jsonSide(), Same: r.Same(),
		Counts: struct {
			Added     int `json:"added"`
			Removed   int `json:"removed"`
			Changed   int `json:"changed"`
			Unchanged int `json:"unchanged"`
		}{len(r.Added), len(r.Removed), len(r.Changed), r.Unchanged},
		Settings: []any{},
		Added:    make([]jsonRule, 0, len(r.Added)),
		Removed:  make([]jsonRule, 0, len(r.Removed)),
		Changed:  make([]jsonRule, 0, len(r.Changed)),
		Stats: struct {
			SkippedShards int  `json:"skippedShards"`
			Sorted        bool `json:"sorted"`
		}{r.SkippedShards, r.Sorted},
	}
	if p := r.Patterns; p != nil {
		doc.Patterns = struct {
			OldRules int `json:"oldRules"`
			NewRules int `json:"newRules"`
		}{p.OldRules, p.NewRules}
	}
	for _, st := range r.Settings {
		doc.Settings = append(doc.Settings, struct {
			Name string `json:"name"`
			Old  bool   `json:"old"`
			New  bool   `json:"new"`
		}{st.Name, st.Old, st.New})
	}
	for _, e := range r.Added {
		j := new.jsonRule(e.Key)
		a := toJSONAnswer(e.Answer)
		j.Answer = &a
		at(&j, e.Key)
		doc.Added = append(doc.Added, j)
	}
	for _, e := range r.Removed {
		j := old.jsonRule(e.Key)
		a := toJSONAnswer(e.Answer)
		j.Answer = &a
		doc.Removed = append(doc.Removed, j)
	}
	for _, ch := range r.Changed {
		j := new.jsonRule(ch.Key)
		o, n := toJSONAnswer(ch.Old), toJSONAnswer(ch.New)
		j.Old, j.New = &o, &n
		at(&j, ch.Key)
		doc.Changed = append(doc.Changed, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
