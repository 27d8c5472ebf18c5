// Package compiler turns redirect manifests into a build: hash-sharded
// shard files in the shardfmt format and the index that lists them.
//
// # Pipeline
//
// A build goes one way, in three steps, and each step can be used alone:
//
//	ReadFile / Read     manifest bytes -> []Rule and []Problem
//	Check / Compile     []Rule -> []Problem, and (Compile) a *Build
//	Build.WriteDir      *Build -> a build directory
//
// Read checks syntax and fields only and resolves each rule's Status; it
// keeps sources and destinations as written. Check validates each rule
// (source and destination syntax, unsafe destinations, control characters,
// sizes, hosts, expiry), builds its lookup key (urlnorm canonical path,
// case folding unless the rule is case-sensitive, trailing slash), then
// meets the rules in file order to report duplicates and conflicts, warns
// where a first-match format (Netlify) would have answered differently
// (compile.go), and flattens redirect chains (chains.go), reporting loops
// with the whole cycle. Compile does the same and, when no problem is an
// Error, assigns each key to a shard by xxhash (shardfmt.ShardOf), encodes
// the shards in parallel (shardfmt.EncodeShard) and fills a
// shardfmt.Index; the same rules and options give byte-identical output.
// WriteDir writes shard files under content-addressed names, skips those
// already on disk with the same bytes, renames index.json into place last
// and then removes shards neither the new nor the previous index names
// (output.go).
//
// # Readers
//
// One file per format, all filling the same Rule through one
// manifestReader (read.go):
//
//   - read_csv.go: CSV with a header row naming the fields (any order,
//     any letter case), through encoding/csv.
//   - read_json.go: a JSON array of rule objects (Vercel bulk redirects),
//     a vercel.json object whose "redirects" array holds them, and JSONL.
//     The array is streamed with encoding/json's Decoder, so it is never
//     held whole; each object is parsed by the allocation-free scanner in
//     jsonscan.go, which accepts exactly what encoding/json accepts
//     (FuzzReadJSONL checks this).
//   - vercel.go: the warning for a vercel.json pattern written in a CSV or
//     JSON bulk-redirect file, where sources are literal (vercel.json
//     sources are SyntaxPathToRegexp rules).
//   - read_netlify.go: Netlify _redirects, applied in file order
//     (Rule.FirstMatch; placeholders are SyntaxNetlify).
//
// pattern.go turns the ordered lists (Rule.ordered: FirstMatch, Order or a
// pattern Syntax) into the build's pattern rules (internal/pattern), keeping
// in the exact and prefix tiers only the rules whose answers stay the same
// there, and warns "never reached" for rules an earlier one always answers.
//   - read_tsv.go: FROM<TAB>TO[<TAB>STATUS] lines, as in MDN's
//     _redirects.txt.
//
// CSV and JSON share the field names and aliases (source, destination,
// permanent, statusCode or status, caseSensitive or sensitive, query or
// preserveQueryParams, expires) and one resolver, finish in
// read_record.go: the readers only turn their syntax into typed values,
// and finish applies the status, "permanent" and the defaults, so the two
// formats give the same Rule and the same messages for the same fields.
// DetectFormat picks the format from a file name; ReadFile decompresses
// ".gz" and ".zst" first. Every reader is fuzzed (read_fuzz_test.go) and
// checked against the fixtures in testdata/manifests and their .golden
// files.
//
// # Options
//
// ReadOptions control reading: the format, the default status, whether
// unsupported constructs are errors or skipped with a warning
// (SkipUnsupported), and two limits that bound memory on hostile input:
// MaxLineBytes for one line (one rule object in JSON) and MaxInputBytes
// for the decompressed input, which refuses decompression bombs early.
// Options control compiling: the shard count or the rules per shard, the
// Bloom false-positive rate, StrictTrailingSlash, the hash seed, the
// MaxSourceBytes and MaxDestBytes limits on a rule, the time expiry is
// judged against, and Reserved, the paths the serving program answers
// itself (a rule there is a warning). Zero values give the defaults.
//
// # Problems and errors
//
// Everything wrong with a manifest is a Problem: a place (Pos, file and
// line), a Severity (Error fails the build, Warning does not) and a
// message. Readers and the checker report every problem they find rather
// than stopping at the first; rules with errors are left out and the rest
// are still checked, so one run lists everything. Problems come back
// sorted by place; HasErrors tells whether the build can proceed, and
// Compile returns ErrInvalid when it cannot.
//
// Messages name no command-line flag. A problem that an option would
// change (a limit to raise, a format to name, StrictTrailingSlash)
// carries a Hint naming an Option; Problem.Message renders it with the
// caller's names (the redirc command prints its flags), Problem.String
// with the field names. Errors are kept for what stops reading: I/O
// errors, an unknown format (ErrUnknownFormat), and the limits, returned
// as *LimitError (matching ErrInputTooLarge or ErrLineTooLong), which a
// caller formats the same way with LimitError.Message.
//
// # Output
//
// A Build holds the encoded shard images, the shardfmt.Index, the
// flattened chains (for a verbose summary) and Stats. The shard file
// format and the index are specified in shardfmt/FORMAT.md; the runtime
// package opens what WriteDir writes.
package compiler
