package compiler

import (
	"fmt"
	"math"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/redirc/redirc/internal/pattern"
	"github.com/redirc/redirc/internal/rulekey"
	"github.com/redirc/redirc/internal/urlnorm"
	"github.com/redirc/redirc/shardfmt"
)

// Options controls how rules are compiled into a build.
type Options struct {
	// Shards is the number of shard files, at most shardfmt.MaxShardCount
	// (Compile fails beyond it); 0 derives it from the rule count and
	// ShardRules, rounded up to a power of two (at most 65536) so that
	// small edits keep the count (and so the names of untouched shards)
	// stable.
	Shards int
	// ShardRules is the target number of rules per shard when Shards is 0.
	// 0 means DefaultShardRules.
	ShardRules int
	// BloomFP is the Bloom filter's target false-positive rate, in
	// [shardfmt.MinBloomFP, shardfmt.MaxBloomFP] (0: 1e-3).
	BloomFP float64
	// StrictTrailingSlash makes "/a" and "/a/" different keys.
	StrictTrailingSlash bool
	// HashSeed permutes the assignment of keys to shards.
	HashSeed uint64
	// MaxSourceBytes and MaxDestBytes bound a rule's source and destination
	// as written (0: DefaultMaxSourceBytes and DefaultMaxDestBytes).
	MaxSourceBytes, MaxDestBytes int
	// Now is the time against which "expires" is judged for warnings
	// (zero: time.Now()). It never changes the output.
	Now time.Time
	// Reserved lists the paths the server answers itself (its health and
	// metrics endpoints, say); a rule on one is reported as a Warning and
	// kept. None by default: the compiler knows no server.
	Reserved []Reserved
	// Progress, when not nil, is called from CompileFiles as it goes
	// (from one goroutine at a time); it must return quickly. The
	// library prints nothing itself.
	Progress func(Progress)
	// NoFlatten keeps every rule's own destination, one hop per request as
	// the platforms answer, instead of pointing it at the end of its
	// chain. Loops are reported either way.
	NoFlatten bool
	// AllowEmpty lets Compile and Check accept a rule set with no rules.
	// By default that is an error: an empty build makes a server that
	// loads it drop every redirect.
	AllowEmpty bool
}

// DefaultShardRules is the default target number of rules per shard.
const DefaultShardRules = 4096

// Limits on a rule that apply when Options leaves them zero.
const (
	DefaultMaxSourceBytes = 4 << 10
	DefaultMaxDestBytes   = 8 << 10
)

// maxShards bounds the shard count derived from ShardRules; a count given
// in Options.Shards may go up to shardfmt.MaxShardCount.
const maxShards = 1 << 16

func (o *Options) shardCount(rules int) int {
	if o.Shards > 0 {
		return o.Shards
	}
	per := o.ShardRules
	if per <= 0 {
		per = DefaultShardRules
	}
	want := (rules + per - 1) / per
	n := 1
	for n < want && n < maxShards {
		n <<= 1
	}
	return n
}

// rule is a checked rule: its key and the outcome it compiles to. It refers
// to its source Rule by index, not by pointer, so that once checking ends
// and checked.in is dropped, the caller's []Rule can be freed while shards
// are encoded.
type rule struct {
	key     string // the lookup key: kind | host | path (see internal/rulekey)
	hostLen uint16 // length of the host part of key
	kind    rulekey.Kind
	flags   uint16
	exp     uint32
	order   int // index of the source Rule in checked.in (file order)
	dest    string
	// hop is the rule's chain-resolution state on its own host (see
	// flatten); hop.final is the destination after chain flattening.
	hop
	// pat is the rule as a pattern, for rules of ordered lists
	// (Rule.ordered); lowered says it went to the exact tier.
	pat     *pattern.Pattern
	lowered bool
}

// host returns the rule's canonical host ("" for any host).
func (r *rule) host() string {
	h, _ := rulekey.SplitAt(r.key, int(r.hostLen))
	return h
}

// path returns the rule's canonical path as matched.
func (r *rule) path() string {
	_, p := rulekey.SplitAt(r.key, int(r.hostLen))
	return p
}

func (r *rule) prefix() bool { return r.kind.IsPrefix() }

// Chain describes one flattened redirect chain, for the summary.
type Chain struct {
	Hops []Pos    // where each rule of the chain was written, first to last
	Path []string // the sources, then the final destination
}

func (c Chain) String() string {
	var b strings.Builder
	for i, p := range c.Path {
		if i > 0 {
			b.WriteString(" -> ")
		}
		b.WriteString(p)
		if i < len(c.Hops) {
			fmt.Fprintf(&b, " (%s)", c.Hops[i])
		}
	}
	return b.String()
}

// checked holds the result of checking a whole rule set.
type checked struct {
	in     []Rule
	rules  []*rule
	byKey  map[string]*rule
	chains []Chain
	probs  []Problem
	strict bool   // strict trailing slash
	buf    []byte // scratch for building keys
	// hops holds the chain-resolution state of any-host rules reached on
	// a given host (see flatten).
	hops map[hopKey]*hop
	// For the streaming build, which flattens a part of the rules: hosts,
	// when not nil, is every host of a host-scoped rule (else flatten
	// takes them from rules), and missed is told each key target looked
	// up in vain.
	hosts  map[string]bool
	missed func(key []byte)
	// what the build contains, for the index and the runtime
	hostRules, caseRules, prefixRules bool
	maxPrefixSegments                 int
	// ord holds the rules of ordered lists until orderRules sorts them
	// out; pats the pattern rules of the build, in rank order.
	ord  []*rule
	pats []pattern.Spec
}

// src returns the Rule r was checked from.
func (c *checked) src(r *rule) *Rule { return &c.in[r.order] }

func (c *checked) errorf(p Pos, format string, args ...any) { errorf(&c.probs, p, format, args...) }

func (c *checked) warnf(p Pos, format string, args ...any) { warnf(&c.probs, p, format, args...) }

func errorf(ps *[]Problem, p Pos, format string, args ...any) {
	*ps = append(*ps, Problem{Pos: p, Severity: Error, Msg: fmt.Sprintf(format, args...)})
}

func warnf(ps *[]Problem, p Pos, format string, args ...any) {
	*ps = append(*ps, Problem{Pos: p, Severity: Warning, Msg: fmt.Sprintf(format, args...)})
}

// check validates every rule, builds keys, reports duplicates and
// conflicts, and flattens chains. It reports every problem it finds.
func check(rules []Rule, opt Options) *checked {
	c := &checked{in: rules, byKey: make(map[string]*rule, len(rules)), strict: opt.StrictTrailingSlash, rules: make([]*rule, 0, len(rules))}
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	opt.Reserved = normReserved(opt.Reserved)
	maxSrc, maxDst := opt.MaxSourceBytes, opt.MaxDestBytes
	if maxSrc <= 0 {
		maxSrc = DefaultMaxSourceBytes
	}
	if maxDst <= 0 {
		maxDst = DefaultMaxDestBytes
	}
	// Checking a rule (normalizing its source, checking its destination)
	// needs nothing from other rules: do it in parallel, in contiguous
	// chunks, then meet the rules in file order for duplicates.
	slab := make([]rule, len(rules)) // one allocation, not one per rule
	valid := make([]bool, len(rules))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(rules)/8192))
	chunk := (len(rules) + workers - 1) / workers
	perWorker := make([][]Problem, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var keyBuf []byte
			for i := w * chunk; i < min(len(rules), (w+1)*chunk); i++ {
				slab[i].order = i
				valid[i] = checkRule(&slab[i], &rules[i], opt, maxSrc, maxDst, now, &keyBuf, &perWorker[w])
			}
		}()
	}
	wg.Wait()
	for _, ps := range perWorker {
		c.probs = append(c.probs, ps...)
	}
	for i := range rules {
		if !valid[i] {
			continue
		}
		in := &rules[i]
		r := &slab[i]
		if in.ordered() {
			c.ord = append(c.ord, r)
			continue
		}
		c.addExact(r)
	}
	c.orderRules()
	if len(c.rules)+len(c.pats) == 0 && !opt.AllowEmpty && !HasErrors(c.probs) {
		// An empty build would make a server that loads it drop every
		// redirect. Pos names the first rule's file when there was one.
		var p Pos
		if len(rules) > 0 {
			p.File = rules[0].Pos.File
		}
		c.probs = append(c.probs, Problem{Pos: p, Severity: Error, Hint: HintAllowEmpty,
			Msg: "no rules to build: a server loading an empty build would stop answering every redirect"})
	}
	c.flatten(opt.NoFlatten)
	return c
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// checkRule checks one rule and fills r; it reports problems to probs. It
// touches nothing shared, so rules are checked in parallel.
func checkRule(r *rule, in *Rule, opt Options, maxSrc, maxDst int, now time.Time, keyBuf *[]byte, probs *[]Problem) bool {
	ok := true
	bad := func(format string, args ...any) {
		errorf(probs, in.Pos, format, args...)
		ok = false
	}
	if len(in.Source) > maxSrc {
		*probs = append(*probs, Problem{Pos: in.Pos, Severity: Error, Hint: HintMaxSourceBytes,
			Msg: fmt.Sprintf("source is %d bytes long, over the limit of %d", len(in.Source), maxSrc)})
		ok = false
	}
	if len(in.Destination) > maxDst {
		*probs = append(*probs, Problem{Pos: in.Pos, Severity: Error, Hint: HintMaxDestBytes,
			Msg: fmt.Sprintf("destination is %d bytes long, over the limit of %d", len(in.Destination), maxDst)})
		ok = false
	}
	if i := ctlIndex(in.Destination); i >= 0 {
		bad("destination contains control character %q at byte %d", in.Destination[i], i)
	}
	switch {
	case in.Pass:
		if in.Status != 0 || in.Destination != "" || !in.Expires.IsZero() {
			bad("a Pass rule (no redirect) has no status, destination or expiry")
		}
	case in.Status == 301, in.Status == 302, in.Status == 303, in.Status == 307, in.Status == 308, in.Status == 410:
	case in.Status == 0:
		bad("missing status")
	default:
		bad("status %d is not a redirect status redirc serves (301, 302, 303, 307, 308 or 410)", in.Status)
	}
	if !ok {
		return false
	}

	if in.ordered() && in.Syntax != SyntaxPath {
		return checkPatternRule(r, in, opt, probs)
	}
	host, path, err := splitSource(in.Source)
	if err != nil {
		bad("%v", err)
		return false
	}
	if in.Host != "" {
		bad("Host is only for pattern rules: write the host in the source")
		return false
	}
	if i := ctlIndex(in.Source); i >= 0 {
		// Only in the path (checkHost refuses one in the host): the key
		// holds it percent-encoded, as a browser sends it.
		warnf(probs, in.Pos, "source contains control character %q at byte %d: it is matched as %s, as a browser sends it",
			in.Source[i], i, urlnorm.Path(path, false))
	}
	path, prefix := rulekey.SplitPattern(path)
	kind := rulekey.KindOf(prefix, in.CaseSensitive)
	b, err := rulekey.Append((*keyBuf)[:0], kind, host, path, opt.StrictTrailingSlash)
	if err != nil && len(host) <= rulekey.MaxHost { // a long host is reported below
		// splitSource gives a host without '/' and a path beginning
		// with '/': this is a bug, not a manifest problem.
		bad("source %q: %v", in.Source, err)
		return false
	}
	*keyBuf = b
	r.key = string(b)
	r.kind = kind
	if len(host) > rulekey.MaxHost {
		bad("host %q is longer than 255 bytes", host)
		return false
	}
	r.hostLen = uint16(len(host))
	warnReserved(probs, in, r.path(), opt.Reserved)

	// Destination.
	dest := in.Destination
	if in.Pass {
		dest = ""
	} else if in.Status == 410 {
		if dest != "" {
			warnf(probs, in.Pos, "destination %q is ignored: status 410 answers Gone without a Location", dest)
		}
		dest = ""
	} else {
		d, err := checkDest(dest, r.prefix(), false)
		if err != nil {
			bad("%v", err)
			return false
		}
		dest = d
	}
	r.dest = dest
	r.final = dest
	if r.prefix() && strings.Contains(dest, ":splat") {
		r.flags |= shardfmt.FlagSplat
	}
	if in.Query {
		r.flags |= shardfmt.FlagQuery
	}
	if in.Unforced {
		r.flags |= shardfmt.FlagUnforced
	}
	if !in.Expires.IsZero() {
		sec := in.Expires.Unix()
		if sec <= 0 || sec > math.MaxUint32 {
			bad("expires %s is outside 1970..2106", in.Expires.Format(time.RFC3339))
			return false
		}
		r.exp = uint32(sec)
		if in.Expires.Before(now) {
			warnf(probs, in.Pos, "rule expired at %s: it will answer 410 Gone", in.Expires.Format(time.RFC3339))
		}
	}
	if ok && in.ordered() {
		ok = checkPattern(r, in, r.host(), path, opt, probs)
	}
	return ok
}

// checkPatternRule checks a rule whose source is a pattern (Rule.Syntax
// other than SyntaxPath): it has no key, only a compiled pattern.
func checkPatternRule(r *rule, in *Rule, opt Options, probs *[]Problem) bool {
	if i := ctlIndex(in.Source); i >= 0 {
		// A pattern is matched against the path as a browser sends it,
		// where a control character is always percent-encoded: write
		// %XX in the pattern instead.
		errorf(probs, in.Pos, "source contains control character %q at byte %d: write it percent-encoded in a pattern", in.Source[i], i)
		return false
	}
	host, path := "", in.Source
	if in.Syntax != SyntaxRegex {
		if !strings.HasPrefix(in.Source, "/") && in.Syntax == SyntaxPathToRegexp && !strings.Contains(in.Source, "://") {
			warnf(probs, in.Pos, "source %q does not begin with /: it never matches (skipped)", in.Source)
			return false
		}
		h, p, err := splitSource(in.Source)
		if err != nil {
			errorf(probs, in.Pos, "%v", err)
			return false
		}
		host, path = h, p
	}
	host, err := patternHost(in, host)
	if err != nil {
		errorf(probs, in.Pos, "%v", err)
		return false
	}
	if len(host) > rulekey.MaxHost {
		errorf(probs, in.Pos, "host %q is longer than 255 bytes", host)
		return false
	}
	dest := in.Destination
	if in.Pass {
		dest = ""
	} else if in.Status == 410 {
		if dest != "" {
			warnf(probs, in.Pos, "destination %q is ignored: status 410 answers Gone without a Location", dest)
		}
		dest = ""
	} else {
		d, err := checkDest(dest, true, in.Syntax == SyntaxRegex)
		if err != nil {
			errorf(probs, in.Pos, "%v", err)
			return false
		}
		dest = d
	}
	r.dest, r.final = dest, dest
	if in.Query {
		r.flags |= shardfmt.FlagQuery
	}
	if in.Unforced {
		r.flags |= shardfmt.FlagUnforced
	}
	if !in.Expires.IsZero() {
		sec := in.Expires.Unix()
		if sec <= 0 || sec > math.MaxUint32 {
			errorf(probs, in.Pos, "expires %s is outside 1970..2106", in.Expires.Format(time.RFC3339))
			return false
		}
		r.exp = uint32(sec)
	}
	return checkPattern(r, in, host, path, opt, probs)
}

func ctlIndex(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return i
		}
	}
	return -1
}

// splitSource splits a rule source into a canonical host ("" for any host)
// and the path as written.
func splitSource(s string) (host, path string, err error) {
	if s == "" {
		return "", "", fmt.Errorf("empty source")
	}
	if s[0] == '/' {
		if strings.HasPrefix(s, "//") {
			return "", "", fmt.Errorf("source %q begins with //: write a path, host/path or https://host/path", s)
		}
		return "", s, nil
	}
	rest := s
	// A scheme ends at the first "://" before any '/': in
	// "example.com/http://old.example/x" the "://" is in the path.
	if i := strings.Index(s, "://"); i >= 0 && strings.IndexByte(s[:i], '/') < 0 {
		scheme := strings.ToLower(s[:i])
		if scheme != "http" && scheme != "https" {
			return "", "", fmt.Errorf("source %q: only http and https hosts can be matched", s)
		}
		rest = s[i+3:]
	}
	h, p, found := strings.Cut(rest, "/")
	p = "/" + p
	if !found {
		p = "/"
	}
	if err := checkHost(h); err != nil {
		return "", "", fmt.Errorf("source %q: %v", s, err)
	}
	if rest == s && !strings.Contains(h, ".") && urlnorm.StripPort(h) != "localhost" {
		return "", "", fmt.Errorf("source %q must begin with / (or name a host: host/path or https://host/path)", s)
	}
	return urlnorm.Host(h), p, nil
}

func checkHost(h string) error {
	h = urlnorm.StripPort(h)
	if h == "" {
		return fmt.Errorf("empty host")
	}
	if h[0] == '[' && h[len(h)-1] == ']' {
		return nil
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		case c >= 0x80:
			return fmt.Errorf("host %q is not ASCII: write its punycode (xn--) form", h)
		default:
			return fmt.Errorf("host %q contains %q", h, c)
		}
	}
	return nil
}

// checkDest validates a destination and returns it as it will be sent in a
// Location header: raw spaces and non-ASCII bytes percent-encoded. With
// refs (a SyntaxRegex destination), "${…}" references are kept as they
// are, and "${host}" may be (part of) the host.
func checkDest(d string, prefix, refs bool) (string, error) {
	if d == "" {
		return "", fmt.Errorf("missing destination")
	}
	if strings.Contains(d, ":splat") && !prefix {
		return "", fmt.Errorf("destination %q uses :splat but the source is not a prefix rule (end it with /*)", d)
	}
	switch {
	case strings.HasPrefix(d, "//") || strings.HasPrefix(d, "/\\"):
		return "", fmt.Errorf("destination %q is protocol-relative: write https://host/... or a path", d)
	case d[0] == '/':
	default:
		i := strings.Index(d, "://")
		if i < 0 {
			return "", fmt.Errorf("destination %q is neither an http(s) URL nor a path beginning with /", d)
		}
		scheme := strings.ToLower(d[:i])
		if scheme != "http" && scheme != "https" {
			return "", fmt.Errorf("destination %q: only http and https destinations are allowed", d)
		}
		probe := strings.ReplaceAll(d, ":splat", "splat")
		if refs {
			probe = probeRefs(probe)
		}
		u, err := url.Parse(probe)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("destination %q is not a valid URL", d)
		}
		// The host part ends at the first '/', '?' or '#' after "://".
		hostEnd := len(d)
		if j := strings.IndexAny(d[i+3:], "/?#"); j >= 0 {
			hostEnd = i + 3 + j
		}
		if strings.Contains(d[:hostEnd], ":splat") {
			return "", fmt.Errorf("destination %q puts :splat in the host: a request could choose where it is sent", d)
		}
		if strings.ContainsAny(d[i+3:hostEnd], "\\@") {
			return "", fmt.Errorf("destination %q has a host with '\\' or '@'", d)
		}
	}
	if refs {
		return encodeDestRefs(d), nil
	}
	return encodeDest(d), nil
}

// probeRefs stands in for the references of a regex destination, for
// url.Parse: "${host}" is a host name, any other "${…}" a piece of path.
func probeRefs(d string) string {
	var b strings.Builder
	for {
		i := strings.Index(d, "${")
		j := strings.IndexByte(d[max(i, 0):], '}')
		if i < 0 || j < 0 {
			break
		}
		b.WriteString(d[:i])
		if d[i:i+j+1] == "${host}" {
			b.WriteString("host.invalid")
		} else {
			b.WriteString("/x")
		}
		d = d[i+j+1:]
	}
	b.WriteString(d)
	return b.String()
}

// encodeDestRefs is encodeDest keeping "${name}" references (a name of
// letters, digits and '_') as they are.
func encodeDestRefs(d string) string {
	var b strings.Builder
	for {
		i := strings.Index(d, "${")
		if i < 0 {
			break
		}
		n := 2
		for i+n < len(d) && isRefByte(d[i+n]) {
			n++
		}
		if i+n >= len(d) || d[i+n] != '}' || n == 2 {
			b.WriteString(encodeDest(d[:i+2]))
			d = d[i+2:]
			continue
		}
		b.WriteString(encodeDest(d[:i]))
		b.WriteString(d[i : i+n+1])
		d = d[i+n+1:]
	}
	b.WriteString(encodeDest(d))
	return b.String()
}

func isRefByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// encodeDest percent-encodes the bytes that may not appear raw in a
// Location header (space, non-ASCII and a few delimiters browsers encode),
// leaving existing escapes alone.
func encodeDest(d string) string {
	need := false
	for i := 0; i < len(d); i++ {
		if destEscape(d[i]) {
			need = true
			break
		}
	}
	if !need {
		return d
	}
	var b strings.Builder
	for i := 0; i < len(d); i++ {
		c := d[i]
		if destEscape(c) {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func destEscape(c byte) bool {
	return c <= ' ' || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' || c == '{' || c == '|' || c == '}'
}
