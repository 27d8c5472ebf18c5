package compiler

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/redirc/redirc/internal/rulekey"
	"github.com/redirc/redirc/internal/urlnorm"
	"github.com/redirc/redirc/shardfmt"
)

// This file is the streaming build (CompileFiles): rules go from the
// readers to per-bucket spill files without ever being held all at once,
// and each bucket is then checked and encoded on its own.
//
// Passes, each bounded by one bucket's rules per worker:
//
//  1. read: the readers hand rules over in batches; workers check each
//     rule (checkRule, which needs no other rule) and encode it as a
//     compact record (its key's hash, position, status, kind, flags,
//     expiry, key, destination, source as written); one writer appends
//     the records, in file order, to the spill file of the key's bucket.
//     A bucket is a pure function of the key's hash: its top bits (ShardOf
//     over the bucket count, a power of two), so that every shard count
//     the rule count may give later (a power of two up to 65536) splits
//     buckets or groups them without moving a key; with Options.Shards,
//     the bucket is the shard's number scaled down to the bucket count.
//     The workers also spill each rule's chain candidates (the keys
//     checked.target may look up for its destination: 8-byte hashes with
//     the rule's bucket and order) to the bucket of the key they name.
//  2. dedup: per bucket, the first rule of each key wins and later ones
//     are duplicates or conflicts (a key is in one bucket only); the
//     unique rules are written back (the spill file is renamed when there
//     were none), and the hashes of exact keys kept in memory, sorted,
//     with a directory (about 10 bytes per exact rule: the index of exact
//     sources). The bucket's incoming candidates are matched against its
//     exact keys, in cache: a hit names a rule that may start a chain.
//  3. chains: flatten itself runs over the rules that may start a chain,
//     read back from their buckets; a walk that looks up a key it does
//     not have but the index does has that rule fetched, and the walk runs
//     again, until nothing is missing. Rules outside that set have no hop
//     in the whole rule set either, so the chains, loops and final
//     destinations are the whole rule set's, found in the same order.
//     Without chains this pass reads nothing.
//  4. encode: per bucket (or group of buckets forming one shard), the
//     unique rules, with flattened destinations, are encoded into shards
//     and handed to a pool of writers (writeDir) that put them in the
//     output directory as WriteDir does, index last.
//
// Cost: the spill files hold each rule once (about the size of its CSV
// line plus 20 bytes) and two chain candidates of about 14 bytes for a
// typical rule; each is written once and read once, plus a second read of
// the rules in pass 4 (from the page cache when memory allows). Memory is
// the largest bucket's rules times the number of workers, plus about 10
// bytes per exact rule for the index of sources, the distinct hosts of
// host-scoped rules, and the rules taking part in chains.

// Progress reports how far CompileFiles has got.
type Progress struct {
	// Stage is "reading", "checking", "chains", "encoding" or "writing".
	Stage string
	// Rules is the number of rules read so far.
	Rules int64
	// Done and Total count the stage's units (buckets or shards); both are
	// zero while reading.
	Done, Total int
}

// spillBuckets is the number of buckets of a streaming build, a power of two
// (so that buckets and power-of-two shard counts nest); a test lowers
// it to make buckets hold several shards and shards span several buckets.
var spillBuckets = 256

// spillBucketBytes is about how much manifest goes to one bucket below
// spillBuckets buckets; a test sets it to 0 to use spillBuckets always.
var spillBucketBytes int64 = 1 << 20

// streamMinBytes is the input size under which CompileFiles reads the
// rules into memory and uses Compile: small inputs gain nothing from
// spilling. Tests set it to 0.
var streamMinBytes int64 = 32 << 20

// errInMemory stops a streaming read that met a rule only the in-memory
// path handles (first-match order, patterns): CompileFiles starts over
// with Compile.
var errInMemory = errors.New("compiler: rule needs the in-memory path")

// ReadError is returned by CompileFiles when a manifest could not be read
// (I/O, a limit, an unknown format, a directory, binary data): the error
// ReadFile would have returned, unchanged, in Err.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return e.Err.Error() }

// Unwrap returns the read error.
func (e *ReadError) Unwrap() error { return e.Err }

// CompileFiles reads the named manifests (as ReadFile does) and compiles
// them into the build directory dir (as Compile, then WriteDirContext,
// would), in memory bounded by a bucket's rules rather than by the whole
// rule set: rules are spilled to temporary files in a directory created
// beside dir and removed before CompileFiles returns. The output is
// byte-identical to Compile's for the same rules.
//
// It returns every problem, readers' and the compiler's, sorted as
// SortProblems sorts them. When a problem is an Error, dir is left
// untouched and err is ErrInvalid; a manifest that cannot be read gives a
// *ReadError. The returned Build has Index, Chains and Stats but no Shards
// (they were written to dir).
//
// Manifests whose rules need each other's order (Netlify's first-match
// rules, patterns) and small inputs are compiled in memory with Compile.
func CompileFiles(ctx context.Context, dir string, files []string, ro ReadOptions, opt Options) (*Build, []Problem, error) {
	if opt.Shards < 0 || opt.Shards > shardfmt.MaxShardCount {
		return nil, nil, fmt.Errorf("compiler: Options.Shards %d out of range 0..%d", opt.Shards, shardfmt.MaxShardCount)
	}
	if p := opt.Progress; p != nil {
		var mu sync.Mutex
		opt.Progress = func(pr Progress) {
			mu.Lock()
			defer mu.Unlock()
			p(pr)
		}
	}
	var size int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			size += fi.Size()
		}
	}
	if size >= streamMinBytes {
		b, probs, err := compileStream(ctx, dir, files, ro, opt, size)
		if !errors.Is(err, errInMemory) {
			return b, probs, err
		}
	}
	return compileInMemory(ctx, dir, files, ro, opt)
}

// compileInMemory is CompileFiles by ReadFile, Compile and WriteDirContext.
func compileInMemory(ctx context.Context, dir string, files []string, ro ReadOptions, opt Options) (*Build, []Problem, error) {
	var rules []Rule
	var probs []Problem
	for _, f := range files {
		report(opt, Progress{Stage: "reading", Rules: int64(len(rules))})
		r, p, err := ReadFile(f, ro)
		if err != nil {
			return nil, nil, &ReadError{Err: err}
		}
		if rules == nil {
			rules = r
		} else {
			rules = append(rules, r...)
		}
		probs = append(probs, p...)
	}
	report(opt, Progress{Stage: "checking", Rules: int64(len(rules))})
	b, cp, err := Compile(rules, opt)
	readErrs := HasErrors(probs)
	for _, p := range cp {
		if p.Hint == HintAllowEmpty && readErrs {
			continue // the rules the readers refused are why
		}
		probs = append(probs, p)
	}
	SortProblems(probs, files)
	if err == nil && HasErrors(probs) {
		err = ErrInvalid
	}
	if err != nil {
		return nil, probs, err
	}
	b.Stats.Inputs = len(rules)
	b.Stats.Warnings = countWarnings(probs)
	report(opt, Progress{Stage: "writing", Rules: int64(len(rules)), Total: len(b.Shards)})
	if err := b.WriteDirContext(ctx, dir); err != nil {
		return nil, probs, err
	}
	return b, probs, nil
}

func report(opt Options, p Progress) {
	if opt.Progress != nil {
		opt.Progress(p)
	}
}

func countWarnings(ps []Problem) int {
	n := 0
	for _, p := range ps {
		if p.Severity == Warning {
			n++
		}
	}
	return n
}

// srec is one checked rule as spilled: what the build, the duplicate
// check and chain flattening need of it.
type srec struct {
	hash    uint64 // shardfmt.HashString of key under the build's seed
	order   int64
	file    int32
	line    int32
	status  uint16
	kind    rulekey.Kind
	flags   uint16
	exp     uint32
	hostLen uint16
	key     string
	dest    string
	source  string
}

func (r *srec) prefix() bool { return r.kind.IsPrefix() }

func (r *srec) host() string { h, _ := rulekey.SplitAt(r.key, int(r.hostLen)); return h }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendRec(b []byte, r *srec) []byte {
	b = binary.LittleEndian.AppendUint64(b, r.hash)
	b = binary.AppendUvarint(b, uint64(r.order))
	b = binary.AppendUvarint(b, uint64(r.file))
	b = binary.AppendUvarint(b, uint64(r.line))
	b = binary.AppendUvarint(b, uint64(r.status))
	b = append(b, byte(r.kind))
	b = binary.AppendUvarint(b, uint64(r.flags))
	b = binary.AppendUvarint(b, uint64(r.exp))
	b = binary.AppendUvarint(b, uint64(r.hostLen))
	b = appendString(b, r.key)
	b = appendString(b, r.dest)
	return appendString(b, r.source)
}

// recReader decodes records from a spill file's content; the strings it
// returns share data.
type recReader struct {
	data string
	off  int
	err  error
}

func (d *recReader) uvarint() uint64 {
	var x uint64
	var s uint
	for i := 0; i < 10 && d.off < len(d.data); i++ {
		c := d.data[d.off]
		d.off++
		if c < 0x80 {
			return x | uint64(c)<<s
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	d.err = errors.New("compiler: corrupt spill file")
	return 0
}

func (d *recReader) str() string {
	n := int(d.uvarint())
	if n < 0 || n > len(d.data)-d.off {
		d.err = errors.New("compiler: corrupt spill file")
		return ""
	}
	s := d.data[d.off : d.off+n]
	d.off += n
	return s
}

func (d *recReader) next(r *srec) bool {
	if d.err != nil || d.off >= len(d.data) {
		return false
	}
	if len(d.data)-d.off < 8 {
		d.err = errors.New("compiler: corrupt spill file")
		return false
	}
	b := d.data[d.off : d.off+8]
	r.hash = uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	d.off += 8
	r.order = int64(d.uvarint())
	r.file = int32(d.uvarint())
	r.line = int32(d.uvarint())
	r.status = uint16(d.uvarint())
	if d.off < len(d.data) {
		r.kind = rulekey.Kind(d.data[d.off])
		d.off++
	}
	r.flags = uint16(d.uvarint())
	r.exp = uint32(d.uvarint())
	r.hostLen = uint16(d.uvarint())
	r.key = d.str()
	r.dest = d.str()
	r.source = d.str()
	return d.err == nil
}

// readRecs reads a spill file's records.
func readRecs(path string) ([]srec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading spill file: %w", err)
	}
	if len(data) == 0 {
		return nil, nil
	}
	// The records' strings share data, which nothing writes to again.
	d := recReader{data: unsafe.String(&data[0], len(data))}
	// Records are at least 20 bytes: a first guess at the count.
	recs := make([]srec, 0, len(data)/64+1)
	var r srec
	for d.next(&r) {
		recs = append(recs, r)
	}
	if d.err != nil {
		return nil, fmt.Errorf("%s: %w", path, d.err)
	}
	return recs, nil
}

// stream is the state of one streaming build.
type stream struct {
	opt     Options
	files   []string
	tmp     string
	buckets int
	// bucketOf maps a key hash to its bucket.
	bucketOf func(h uint64) int

	// gathered while reading (by the writer goroutine)
	inputs                            int64
	firstFile                         int       // the file of the first rule read
	readProbs                         []Problem // the readers'
	probs                             []Problem // checkRule's
	hosts                             map[string]bool
	hostRules, caseRules, prefixRules bool
	maxPrefixSegments                 int

	// from dedup
	unique  []int         // unique rules per bucket
	exact   []exactBucket // the exact keys' hashes, by bucket
	seeds   []seed        // rules whose destination may be an exact rule's key
	dupProb []orderedProblem

	// from chains
	final  map[int64]string // flattened destination by rule order
	chains []Chain
	loops  []Problem
}

// seed is a rule by its bucket and order.
type seed struct {
	bucket int
	order  int64
}

type orderedProblem struct {
	order int64
	p     Problem
}

func (s *stream) raw(b int) string  { return filepath.Join(s.tmp, fmt.Sprintf("r%05d", b)) }
func (s *stream) uniq(b int) string { return filepath.Join(s.tmp, fmt.Sprintf("u%05d", b)) }
func (s *stream) cand(b int) string { return filepath.Join(s.tmp, fmt.Sprintf("c%05d", b)) }

func (s *stream) pos(r *srec) Pos { return Pos{File: s.files[r.file], Line: int(r.line)} }

func compileStream(ctx context.Context, dir string, files []string, ro ReadOptions, opt Options, size int64) (_ *Build, _ []Problem, err error) {
	start := time.Now()
	for _, f := range files {
		format := ro.Format
		if format == FormatAuto {
			format, _ = DetectFormat(f)
		}
		if format == FormatNetlify {
			return nil, nil, errInMemory // first-match order: see warnShadowed
		}
	}
	tmp, err := spillDir(dir)
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp)

	s := &stream{opt: opt, files: files, tmp: tmp, hosts: make(map[string]bool)}
	s.buckets = spillBuckets
	switch {
	case size > 8<<30:
		s.buckets *= 4 // keep a bucket near 100k rules at 1e8
	case spillBucketBytes > 0:
		// Fewer files for smaller inputs: about 1 MB of manifest per
		// bucket, a power of two.
		n := 1
		for n < s.buckets && int64(n)*spillBucketBytes < size {
			n <<= 1
		}
		s.buckets = n
	}
	if n := opt.Shards; n > 0 {
		s.buckets = min(s.buckets, n)
		nb := s.buckets
		s.bucketOf = func(h uint64) int { return shardfmt.ShardOf(h, n) * nb / n }
	} else {
		nb := s.buckets
		s.bucketOf = func(h uint64) int { return shardfmt.ShardOf(h, nb) }
	}
	if err := s.read(ro); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err := s.dedup(); err != nil {
		return nil, nil, err
	}
	total := 0
	for _, n := range s.unique {
		total += n
	}
	if total == 0 && !opt.AllowEmpty && !HasErrors(s.probs) && !hasErrorsOrdered(s.dupProb) {
		// As check does: an empty build would make a server that loads
		// it drop every redirect.
		var p Pos
		if s.inputs > 0 {
			p.File = s.files[s.firstFile]
		}
		s.dupProb = append(s.dupProb, orderedProblem{math.MaxInt64, Problem{Pos: p, Severity: Error, Hint: HintAllowEmpty,
			Msg: "no rules to build: a server loading an empty build would stop answering every redirect"}})
	}
	if err := s.flattenChains(); err != nil {
		return nil, nil, err
	}
	probs := s.problems()
	if HasErrors(s.readProbs) {
		// "No rules" is left out when a reader reported an error: the
		// rules it refused are why.
		probs = slices.DeleteFunc(probs, func(p Problem) bool { return p.Hint == HintAllowEmpty })
	}
	SortProblems(probs, files)
	st := Stats{Inputs: int(s.inputs)}
	for _, p := range probs {
		if p.Severity == Error {
			st.Errors++
		} else {
			st.Warnings++
		}
	}
	if st.Errors > 0 {
		return nil, probs, ErrInvalid
	}
	if err := ctx.Err(); err != nil {
		return nil, probs, err
	}
	var ix *shardfmt.Index
	written, err := writeDir(ctx, dir, func(put func(name string, img []byte) error) (*shardfmt.Index, []byte, error) {
		var err error
		ix, err = s.encode(put)
		return ix, nil, err // patterns take the in-memory path
	})
	if err != nil {
		return nil, probs, err
	}
	st.Rules = ix.Rules
	st.Shards = ix.ShardCount
	for _, sh := range ix.Shards {
		st.Bytes += sh.Size
	}
	st.Chains = len(s.chains)
	st.Written = written
	st.Duration = time.Since(start)
	return &Build{Index: ix, Chains: s.chains, Stats: st}, probs, nil
}

// mkdirTemp is os.MkdirTemp; a test makes it fail.
var mkdirTemp = os.MkdirTemp

// spillPrefix names the spill directories of streaming builds.
const spillPrefix = ".redirc-spill-"

// spillDir creates the directory a streaming build spills to: beside the
// output directory dir (on the same file system, which has room for the
// build), else, when its parent is not writable (a mounted volume, say),
// inside dir as a temporary name readers and WriteDir's clean-up know
// (".tmp-"), else in the system's temporary directory. Spill directories
// left beside dir by builds killed more than a day ago are removed.
func spillDir(dir string) (string, error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("creating output directory: %w", err)
	}
	if ents, err := os.ReadDir(parent); err == nil {
		for _, e := range ents {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), spillPrefix) {
				continue
			}
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
				os.RemoveAll(filepath.Join(parent, e.Name()))
			}
		}
	}
	tmp, err := mkdirTemp(parent, spillPrefix)
	if err == nil {
		return tmp, nil
	}
	if fi, e := os.Stat(dir); e == nil && fi.IsDir() {
		if t, e := mkdirTemp(dir, ".tmp-spill-"); e == nil {
			return t, nil
		}
	}
	if t, e := os.MkdirTemp("", spillPrefix); e == nil {
		return t, nil
	}
	return "", fmt.Errorf("creating spill directory: %w", err)
}

// problems returns every problem in the order check would have found
// them: the readers', per-rule checks, then duplicates and conflicts, then loops.
func (s *stream) problems() []Problem {
	slices.SortStableFunc(s.dupProb, func(a, b orderedProblem) int {
		switch {
		case a.order < b.order:
			return -1
		case a.order > b.order:
			return 1
		}
		return 0
	})
	ps := append(s.readProbs, s.probs...)
	for _, d := range s.dupProb {
		ps = append(ps, d.p)
	}
	return append(ps, s.loops...)
}

const batchRules = 4096

// span is where one record of a batch lies in its buffer, and its bucket.
type span struct{ bucket, start, end int32 }

// byBucket copies the records of buf at spans into a new buffer grouped by
// bucket, keeping their order within a bucket, and returns it with the
// offsets of each bucket's records (len buckets+1).
func byBucket(buf []byte, spans []span, buckets int) ([]byte, []int32) {
	off := make([]int32, buckets+1)
	for _, sp := range spans {
		off[sp.bucket+1] += sp.end - sp.start
	}
	for b := range buckets {
		off[b+1] += off[b]
	}
	out := make([]byte, len(buf))
	next := slices.Clone(off[:buckets])
	for _, sp := range spans {
		next[sp.bucket] += int32(copy(out[next[sp.bucket]:], buf[sp.start:sp.end]))
	}
	return out, off
}

type batch struct {
	first int64 // order of rules[0]
	file  int32 // index of the rules' file in files
	rules []Rule
	done  chan struct{}
	// filled by a worker
	recs    []byte  // the records, by bucket
	recOff  []int32 // bucket b's records are recs[recOff[b]:recOff[b+1]]
	cands   []byte  // the candidates (hash, the rule's bucket and order), by bucket
	candOff []int32
	probs   []Problem
	inputs  int
	hosts   map[string]bool
	hostR   bool
	caseR   bool
	prefixR bool
	maxSeg  int
	err     error
}

// read is pass 1.
func (s *stream) read(ro ReadOptions) error {
	workers := max(1, runtime.GOMAXPROCS(0))
	work := make(chan *batch, workers)
	queue := make(chan *batch, 2*workers)
	now := s.opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	opt := s.opt
	opt.Reserved = normReserved(opt.Reserved)
	maxSrc, maxDst := opt.MaxSourceBytes, opt.MaxDestBytes
	if maxSrc <= 0 {
		maxSrc = DefaultMaxSourceBytes
	}
	if maxDst <= 0 {
		maxDst = DefaultMaxDestBytes
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var keyBuf, recs, cands []byte
			var recSpans, candSpans []span
			var r rule
			var rec srec
			for b := range work {
				recs, cands = recs[:0], cands[:0]
				recSpans, candSpans = recSpans[:0], candSpans[:0]
				for i := range b.rules {
					in := &b.rules[i]
					r = rule{}
					if !checkRule(&r, in, opt, maxSrc, maxDst, now, &keyBuf, &b.probs) {
						continue
					}
					h := shardfmt.HashString(opt.HashSeed, r.key)
					rec = srec{hash: h, order: b.first + int64(i), file: b.file, line: int32(in.Pos.Line), status: uint16(in.Status),
						kind: r.kind, flags: r.flags, exp: r.exp, hostLen: r.hostLen, key: r.key, dest: r.dest, source: in.Source}
					srcBucket := s.bucketOf(h)
					at := len(recs)
					recs = appendRec(recs, &rec)
					recSpans = append(recSpans, span{int32(srcBucket), int32(at), int32(len(recs))})
					// Where the rule's destination may lead: spilled to
					// the bucket of the key it names, where dedup looks
					// it up among that bucket's exact keys.
					keyBuf = candidates(r.kind, r.host(), r.dest, r.exp, opt.StrictTrailingSlash, keyBuf, func(key []byte) {
						ch := shardfmt.HashString(opt.HashSeed, string(key))
						at := len(cands)
						cands = binary.LittleEndian.AppendUint64(cands, ch)
						cands = binary.AppendUvarint(cands, uint64(srcBucket))
						cands = binary.AppendUvarint(cands, uint64(rec.order))
						candSpans = append(candSpans, span{int32(s.bucketOf(ch)), int32(at), int32(len(cands))})
					})
					switch r.kind {
					case rulekey.ExactCase:
						b.caseR = true
					case rulekey.PrefixCase:
						b.caseR = true
						fallthrough
					case rulekey.Prefix:
						b.prefixR = true
						b.maxSeg = max(b.maxSeg, rulekey.Segments(r.path()))
					}
					if r.hostLen > 0 {
						b.hostR = true
						if b.hosts == nil {
							b.hosts = make(map[string]bool)
						}
						b.hosts[r.host()] = true
					}
				}
				// Grouped by bucket (in file order within each), so that
				// the writer, which is serial, makes one write per bucket.
				b.recs, b.recOff = byBucket(recs, recSpans, s.buckets)
				b.cands, b.candOff = byBucket(cands, candSpans, s.buckets)
				b.rules = nil
				close(b.done)
			}
		})
	}

	// The writer appends each batch's records to the bucket files, in
	// batch order.
	writerErr := make(chan error, 1)
	go func() {
		bw := make([]*bufio.Writer, 2*s.buckets)
		fs := make([]*os.File, 2*s.buckets)
		cw := bw[s.buckets:]
		var err error
		for i := range fs {
			name := s.raw(i)
			if i >= s.buckets {
				name = s.cand(i - s.buckets)
			}
			if err == nil {
				fs[i], err = os.Create(name)
				if err == nil {
					bw[i] = bufio.NewWriterSize(fs[i], 32<<10)
				}
			}
		}
		for b := range queue {
			<-b.done
			if err != nil {
				continue // drain
			}
			s.probs = append(s.probs, b.probs...)
			for h := range b.hosts {
				s.hosts[h] = true
			}
			s.hostRules = s.hostRules || b.hostR
			s.caseRules = s.caseRules || b.caseR
			s.prefixRules = s.prefixRules || b.prefixR
			s.maxPrefixSegments = max(s.maxPrefixSegments, b.maxSeg)
			for bk := range s.buckets {
				if r := b.recs[b.recOff[bk]:b.recOff[bk+1]]; len(r) > 0 {
					if _, e := bw[bk].Write(r); e != nil && err == nil {
						err = fmt.Errorf("writing spill file: %w", e)
					}
				}
				if c := b.cands[b.candOff[bk]:b.candOff[bk+1]]; len(c) > 0 {
					if _, e := cw[bk].Write(c); e != nil && err == nil {
						err = fmt.Errorf("writing spill file: %w", e)
					}
				}
			}
			b.recs, b.cands = nil, nil
		}
		for i := range fs {
			if fs[i] == nil {
				continue
			}
			if e := bw[i].Flush(); e != nil && err == nil {
				err = fmt.Errorf("writing spill file: %w", e)
			}
			if e := fs[i].Close(); e != nil && err == nil {
				err = fmt.Errorf("writing spill file: %w", e)
			}
		}
		writerErr <- err
	}()

	var cur *batch
	var order int64
	flush := func() {
		if cur == nil || len(cur.rules) == 0 {
			return
		}
		queue <- cur
		work <- cur
		cur = nil
	}
	var readErr error
	for i, f := range s.files {
		_, p, err := readFile(f, ro, func(r Rule) error {
			if r.ordered() || len(r.QueryMatch) > 0 {
				return errInMemory // ordered lists: see checked.orderRules
			}
			if order == 0 {
				s.firstFile = i
			}
			if cur == nil {
				cur = &batch{first: order, file: int32(i), rules: make([]Rule, 0, batchRules), done: make(chan struct{})}
			}
			cur.rules = append(cur.rules, r)
			order++
			if len(cur.rules) == batchRules {
				flush()
				if order%(1<<16) == 0 {
					report(s.opt, Progress{Stage: "reading", Rules: order})
				}
			}
			return nil
		})
		flush() // a batch holds one file's rules
		// The readers' problems come before the compiler's (see problems).
		s.readProbs = append(s.readProbs, p...)
		if err != nil {
			readErr = err
			break
		}
	}
	close(work)
	wg.Wait()
	close(queue)
	werr := <-writerErr
	s.inputs = order
	switch {
	case errors.Is(readErr, errInMemory):
		return errInMemory
	case readErr != nil:
		return &ReadError{Err: readErr}
	}
	return werr
}

// dedup is pass 2.
func (s *stream) dedup() error {
	s.unique = make([]int, s.buckets)
	s.exact = make([]exactBucket, s.buckets)
	var mu sync.Mutex
	var done atomic.Int32
	return parallel(s.buckets, runtime.GOMAXPROCS(0), func(b int) error {
		recs, err := readRecs(s.raw(b))
		if err != nil {
			return err
		}
		byKey := make(map[string]int32, len(recs))
		var probs []orderedProblem
		var exact []uint64
		dup := make([]bool, len(recs))
		n := 0
		for i := range recs {
			r := &recs[i]
			if j, ok := byKey[r.key]; ok {
				dup[i] = true
				prev := &recs[j]
				if prev.dest == r.dest && prev.status == r.status && prev.flags == r.flags && prev.exp == r.exp {
					probs = append(probs, orderedProblem{r.order, Problem{Pos: s.pos(r), Severity: Warning,
						Msg: fmt.Sprintf("duplicate rule: %s is already defined at %s with the same outcome", r.source, s.pos(prev))}})
				} else {
					p := Problem{Pos: s.pos(r), Severity: Error,
						Msg: fmt.Sprintf("conflicting rule: %s is already defined at %s (%d %s) but here it is %d %s",
							r.source, s.pos(prev), prev.status, orDash(prev.dest), r.status, orDash(r.dest))}
					if prev.source != r.source && strings.TrimSuffix(prev.source, "/") == strings.TrimSuffix(r.source, "/") {
						p.Hint = HintStrictTrailingSlash
					}
					probs = append(probs, orderedProblem{r.order, p})
				}
				continue
			}
			byKey[r.key] = int32(i)
			n++
			if !r.prefix() {
				exact = append(exact, r.hash)
			}
		}
		if n == len(recs) {
			// No duplicates (the usual case): the spill file is the
			// unique rules already.
			if err := os.Rename(s.raw(b), s.uniq(b)); err != nil {
				return fmt.Errorf("renaming spill file: %w", err)
			}
		} else {
			out := make([]byte, 0, 1<<20)
			for i := range recs {
				if !dup[i] {
					out = appendRec(out, &recs[i])
				}
			}
			if err := os.WriteFile(s.uniq(b), out, 0o600); err != nil {
				return fmt.Errorf("writing spill file: %w", err)
			}
			os.Remove(s.raw(b))
		}
		slices.Sort(exact)
		eb := newExactBucket(exact)
		// The rules whose destination may be one of this bucket's exact
		// keys take part in flattening.
		cands, err := os.ReadFile(s.cand(b))
		if err != nil {
			return fmt.Errorf("reading spill file: %w", err)
		}
		os.Remove(s.cand(b))
		var seeds []seed
		for len(cands) >= 8 {
			h := binary.LittleEndian.Uint64(cands)
			sb, n1 := binary.Uvarint(cands[8:])
			order, n2 := binary.Uvarint(cands[8+n1:])
			if n1 <= 0 || n2 <= 0 {
				return errors.New("compiler: corrupt spill file")
			}
			cands = cands[8+n1+n2:]
			if eb.has(h) {
				seeds = append(seeds, seed{int(sb), int64(order)})
			}
		}
		s.unique[b] = n
		s.exact[b] = eb
		mu.Lock()
		s.dupProb = append(s.dupProb, probs...)
		s.seeds = append(s.seeds, seeds...)
		mu.Unlock()
		report(s.opt, Progress{Stage: "checking", Rules: s.inputs, Done: int(done.Add(1)), Total: s.buckets})
		return nil
	})
}

// exactBucket is the sorted hashes of a bucket's exact keys with a
// directory: looking a hash up reads one directory entry and a couple of
// neighbouring hashes (binary searches over 1e7 hashes missed the cache at
// each of their last steps and took a third of the build's CPU). About 10
// bytes per exact rule. The buckets together are the index of exact
// sources.
type exactBucket struct {
	hashes []uint64
	first  uint64
	shift  uint
	dir    []uint32 // dir[t] is the first hash h with (h-first)>>shift >= t
}

func newExactBucket(hs []uint64) exactBucket {
	if len(hs) == 0 {
		return exactBucket{}
	}
	eb := exactBucket{hashes: hs, first: hs[0], shift: 64}
	span := hs[len(hs)-1] - hs[0]
	for eb.shift > 0 && span>>(eb.shift-1) < uint64(len(hs)/2+1) {
		eb.shift--
	}
	eb.dir = make([]uint32, eb.slot(hs[len(hs)-1])+2)
	j := 0
	for t := range eb.dir {
		for j < len(hs) && eb.slot(hs[j]) < uint64(t) {
			j++
		}
		eb.dir[t] = uint32(j)
	}
	return eb
}

func (eb *exactBucket) slot(h uint64) uint64 {
	if eb.shift >= 64 {
		return 0
	}
	return (h - eb.first) >> eb.shift
}

func (eb *exactBucket) has(h uint64) bool {
	if len(eb.hashes) == 0 || h < eb.first {
		return false
	}
	t := eb.slot(h)
	if t+1 >= uint64(len(eb.dir)) {
		return false
	}
	for _, v := range eb.hashes[eb.dir[t]:eb.dir[t+1]] {
		if v == h {
			return true
		}
	}
	return false
}

// hasExact reports whether an exact rule's key may hash to h.
func (s *stream) hasExact(h uint64) bool { return s.exact[s.bucketOf(h)].has(h) }

// flattenChains is pass 3. It finds the rules whose own destination may
// be the source of an exact rule (a key target would look up is in the
// index of exact keys), then runs flatten itself over those rules and the
// rules their hops reach: a walk that looks up a key it does not have,
// but which the index holds, has that rule fetched from its bucket and
// the walk is run again, until no lookup is missing. Rules outside that
// set have no hop in the whole rule set either, so flatten over the set
// gives the whole rule set's chains, loops and destinations, in the same
// order.
func (s *stream) flattenChains() error {
	s.final = make(map[int64]string)
	defer func() { s.exact = nil }()
	var (
		mu   sync.Mutex
		set  = make(map[string]*srec) // the rules taking part, by key
		done atomic.Int32
	)
	keep := func(r *srec) *srec {
		c := *r
		c.key, c.dest, c.source = strings.Clone(r.key), strings.Clone(r.dest), strings.Clone(r.source)
		return &c
	}
	byBucket := make(map[int]map[int64]bool)
	for _, sd := range s.seeds {
		if byBucket[sd.bucket] == nil {
			byBucket[sd.bucket] = make(map[int64]bool)
		}
		byBucket[sd.bucket][sd.order] = true
	}
	s.seeds = nil
	buckets := make([]int, 0, len(byBucket))
	for b := range byBucket {
		buckets = append(buckets, b)
	}
	err := parallel(len(buckets), runtime.GOMAXPROCS(0), func(i int) error {
		b := buckets[i]
		recs, err := readRecs(s.uniq(b))
		if err != nil {
			return err
		}
		var found []*srec
		for i := range recs {
			if byBucket[b][recs[i].order] {
				found = append(found, keep(&recs[i]))
			}
		}
		mu.Lock()
		for _, r := range found {
			set[r.key] = r
		}
		mu.Unlock()
		report(s.opt, Progress{Stage: "chains", Rules: s.inputs, Done: int(done.Add(1)), Total: len(buckets)})
		return nil
	})
	if err != nil || len(set) == 0 {
		return err
	}
	absent := make(map[string]bool) // keys whose hash collided
	for {
		c, rules := s.checkedOf(set)
		wanted := make(map[string]bool)
		c.missed = func(key []byte) {
			k := string(key)
			if !absent[k] && s.hasExact(shardfmt.HashString(s.opt.HashSeed, k)) {
				wanted[k] = true
			}
		}
		c.flatten(s.opt.NoFlatten)
		if len(wanted) == 0 {
			for i, r := range c.rules {
				if r.final != r.dest {
					s.final[rules[i].order] = r.final
				}
			}
			s.chains = c.chains
			s.loops = c.probs
			return nil
		}
		// Fetch the rules the walk missed, from their buckets.
		byBucket := make(map[int][]string)
		for k := range wanted {
			b := s.bucketOf(shardfmt.HashString(s.opt.HashSeed, k))
			byBucket[b] = append(byBucket[b], k)
		}
		for b, keys := range byBucket {
			recs, err := readRecs(s.uniq(b))
			if err != nil {
				return err
			}
			for i := range recs {
				if wanted[recs[i].key] {
					set[recs[i].key] = keep(&recs[i])
				}
			}
			for _, k := range keys {
				if set[k] == nil {
					absent[k] = true
				}
			}
		}
	}
}

// checkedOf returns a checked holding the rules of set, in file order, for
// flatten, with the whole rule set's hosts and kinds, and the rules in the
// order of its rules.
func (s *stream) checkedOf(set map[string]*srec) (*checked, []*srec) {
	recs := make([]*srec, 0, len(set))
	for _, r := range set {
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b *srec) int { return cmpInt64(a.order, b.order) })
	c := &checked{
		in:        make([]Rule, len(recs)),
		rules:     make([]*rule, len(recs)),
		byKey:     make(map[string]*rule, len(recs)),
		strict:    s.opt.StrictTrailingSlash,
		caseRules: s.caseRules,
		hosts:     s.hosts,
	}
	slab := make([]rule, len(recs))
	for i, r := range recs {
		c.in[i] = Rule{Source: r.source, Status: int(r.status), Pos: s.pos(r)}
		x := &slab[i]
		x.key, x.hostLen, x.kind, x.flags, x.exp, x.order, x.dest = r.key, r.hostLen, r.kind, r.flags, r.exp, i, r.dest
		x.final = r.dest
		c.rules[i] = x
		c.byKey[r.key] = x
	}
	return c, recs
}

// candidates calls f with each key checked.target may look up for a rule
// on its own host with destination dest: a superset, since the hosts of
// the whole rule set, and whether it has case-sensitive rules, are not
// known yet when it is called (pass 1). A key that target would not look
// up matches no rule anyway (no rule has that host, or that kind), or
// only makes the rule take part in flattening, which then decides. buf is
// scratch space, returned for reuse.
func candidates(kind rulekey.Kind, ownHost, dest string, exp uint32, strict bool, buf []byte, f func(key []byte)) []byte {
	d := dest
	if d == "" || kind.IsPrefix() || exp != 0 {
		return buf
	}
	host := ownHost
	if d[0] != '/' {
		_, rest, _ := strings.Cut(d, "://")
		h, p, _ := strings.Cut(rest, "/")
		if j := strings.IndexAny(h, "?#"); j >= 0 {
			return buf
		}
		host = urlnorm.Host(h)
		d = "/" + p
	}
	if i := strings.IndexByte(d, '#'); i >= 0 {
		d = d[:i]
	}
	if strings.IndexByte(d, '?') >= 0 {
		return buf
	}
	for _, h := range [2]string{host, ""} {
		for _, k := range [2]rulekey.Kind{rulekey.ExactCase, rulekey.Exact} {
			b, err := rulekey.Append(buf[:0], k, h, d, strict)
			if err != nil {
				continue
			}
			buf = b
			f(b)
		}
		if h == "" {
			break
		}
	}
	return buf
}

// encode is pass 4: it derives the shard count from the unique rules, as
// Compile does, and encodes every shard into a spill file.
func (s *stream) encode(put func(name string, img []byte) error) (*shardfmt.Index, error) {
	total := 0
	for _, n := range s.unique {
		total += n
	}
	n := s.opt.shardCount(total)
	// Units of work: a run of buckets holding whole shards. With n >= the
	// bucket count, bucket b holds the shards s with s*buckets/n == b;
	// otherwise (only for a derived, power-of-two n) shard i spans buckets
	// [i*buckets/n, (i+1)*buckets/n).
	type unit struct{ b0, b1, s0, s1 int }
	var units []unit
	if n >= s.buckets {
		for i := 0; i < n; {
			b := i * s.buckets / n
			j := i
			for j < n && j*s.buckets/n == b {
				j++
			}
			units = append(units, unit{b, b + 1, i, j})
			i = j
		}
	} else {
		for i := range n {
			units = append(units, unit{i * s.buckets / n, (i + 1) * s.buckets / n, i, i + 1})
		}
	}
	ix := &shardfmt.Index{
		Format:              shardfmt.IndexFormat,
		HashSeed:            s.opt.HashSeed,
		ShardCount:          n,
		Rules:               total,
		StrictTrailingSlash: s.opt.StrictTrailingSlash,
		HostRules:           s.hostRules,
		CaseSensitiveRules:  s.caseRules,
		PrefixRules:         s.prefixRules,
		MaxPrefixSegments:   s.maxPrefixSegments,
		Shards:              make([]shardfmt.IndexShard, n),
	}
	var done atomic.Int32
	err := parallel(len(units), runtime.GOMAXPROCS(0), func(u int) error {
		un := units[u]
		var recs []srec
		for b := un.b0; b < un.b1; b++ {
			r, err := readRecs(s.uniq(b))
			if err != nil {
				return err
			}
			if recs == nil {
				recs = r
			} else {
				recs = append(recs, r...)
			}
		}
		// Entries in file order, as Compile hands them to EncodeShard.
		if un.b1-un.b0 > 1 {
			slices.SortFunc(recs, func(a, b srec) int { return cmpInt64(a.order, b.order) })
		}
		buckets := make([][]shardfmt.Entry, un.s1-un.s0)
		shardOf := make([]int32, len(recs))
		counts := make([]int, len(buckets))
		for i := range recs {
			sh := shardfmt.ShardOf(recs[i].hash, n) - un.s0
			shardOf[i] = int32(sh)
			counts[sh]++
		}
		for i := range buckets {
			buckets[i] = make([]shardfmt.Entry, 0, counts[i])
		}
		for i := range recs {
			r := &recs[i]
			dest := r.dest
			if f, ok := s.final[r.order]; ok {
				dest = f
			}
			buckets[shardOf[i]] = append(buckets[shardOf[i]], shardfmt.Entry{Key: r.key, Dest: dest, Status: r.status, Flags: r.flags, Expires: r.exp})
		}
		recs = nil
		for i, entries := range buckets {
			sh := un.s0 + i
			img, err := shardfmt.EncodeShard(entries, shardfmt.ShardOptions{Index: sh, Count: n, Seed: s.opt.HashSeed, BloomFP: s.opt.BloomFP})
			if err != nil {
				return fmt.Errorf("encoding shard %d: %w", sh, err)
			}
			sum := xxhash.Sum64(img)
			ix.Shards[sh] = shardfmt.IndexShard{File: shardfmt.ShardFileName(sh, sum), Hash: fmt.Sprintf("%016x", sum), Rules: len(entries), Size: int64(len(img))}
			if err := put(ix.Shards[sh].File, img); err != nil {
				return err
			}
			buckets[i] = nil
			report(s.opt, Progress{Stage: "encoding", Rules: s.inputs, Done: int(done.Add(1)), Total: n})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ix.BuildID = ix.ComputeBuildID()
	return ix, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func hasErrorsOrdered(ps []orderedProblem) bool {
	for _, p := range ps {
		if p.p.Severity == Error {
			return true
		}
	}
	return false
}
