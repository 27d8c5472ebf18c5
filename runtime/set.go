// Package runtime loads a redirc build and answers redirect lookups from
// memory. A Set is immutable once opened and safe for concurrent use; the
// lookup path takes no locks and does not allocate on a miss or on a plain
// hit.
//
// The lookup path, top to bottom (Set.Lookup):
//
//  1. The request path is put in canonical form (internal/urlnorm: the same
//     code the compiler used on rule sources) into a stack buffer, once as
//     sent and once case-folded. Keys are laid out as internal/rulekey
//     says (kind | host | path), the same package the compiler writes them
//     with. A path that does not begin with '/' is a miss ("" is "/"), and
//     a host that cannot be part of a key (containing '/', or longer than
//     255 bytes) matches only any-host rules, so a host and a path can
//     never run into each other.
//  2. Exact keys are probed in precedence order: host-scoped case-sensitive,
//     host-scoped folded, any-host case-sensitive, any-host folded. Probes
//     for kinds of rule the build does not contain are skipped (the index
//     says which exist).
//  3. Then prefix keys, longest first at each "/" boundary, host-scoped
//     before any-host, starting at the longest prefix with no more
//     segments than the build's longest prefix rule (rulekey.FirstPrefix).
//     The remainder after the prefix is the splat. Between the host-scoped
//     and the any-host prefix keys come the build's pattern rules (the
//     ordered lists the compiler could not put in the exact and prefix
//     tiers), first match in rank order: see pattern.go.
//  4. The record gives the status and destination; ":splat" and the query
//     string are filled in only when the rule asks for them, and an expired
//     rule answers 410 Gone.
//
// Each probe hashes the key, picks its shard and searches it: see
// shardfmt/FORMAT.md, section on lookups.
package runtime

import (
	"strings"
	"time"

	"github.com/redirc/redirc/internal/pattern"
	"github.com/redirc/redirc/internal/rulekey"
	"github.com/redirc/redirc/internal/urlnorm"
	"github.com/redirc/redirc/shardfmt"
)

// Set is one loaded, verified build. A nil *Set is a build with no rules:
// every lookup misses (runtime.Live.Set() is nil before the first build).
type Set struct {
	build *shardfmt.Build
	ix    *shardfmt.Index
	// lazy, when not nil, holds the shards instead of build.Shards: a
	// build served from an HTTP origin, its shards fetched on demand
	// (remote.go). Local builds leave it nil and keep the lookup path
	// as it is.
	lazy *lazyBuild
	// deadline is, in the copy of a lazy Set that one lookup works on
	// (lazyBuild.lookup), how long the lookup may wait for shards.
	deadline time.Time

	// copies of the index flags, kept next to each other for the hot path
	strict, hostRules, caseRules, prefixRules bool
	maxPrefixSegments                         int
	loadedAt                                  time.Time
	// pat indexes the build's pattern rules (nil: none); see pattern.go.
	pat *pattern.Index
}

// Open loads and fully verifies the build in dir (its index and every
// shard). Shard bytes are read into memory, not mapped, so files replaced
// or truncated later cannot affect the Set.
func Open(dir string) (*Set, error) {
	b, err := shardfmt.LoadBuild(dir)
	if err != nil {
		return nil, openError(dir, err)
	}
	return newSet(b), nil
}

func newSet(b *shardfmt.Build) *Set {
	ix := b.Index
	return &Set{
		build:             b,
		ix:                ix,
		strict:            ix.StrictTrailingSlash,
		hostRules:         ix.HostRules,
		caseRules:         ix.CaseSensitiveRules,
		prefixRules:       ix.PrefixRules,
		maxPrefixSegments: ix.MaxPrefixSegments,
		loadedAt:          time.Now(),
		pat:               b.Patterns,
	}
}

// BuildID returns the id of the loaded build ("" for a nil Set).
func (s *Set) BuildID() string {
	if s == nil {
		return ""
	}
	return s.ix.BuildID
}

// Rules returns the number of rules in the loaded build, pattern rules
// included (0 for a nil Set).
func (s *Set) Rules() int {
	if s == nil {
		return 0
	}
	if p := s.ix.Patterns; p != nil {
		return s.ix.Rules + p.Rules
	}
	return s.ix.Rules
}

// Index returns the loaded build's index (nil for a nil Set). It must not
// be modified.
func (s *Set) Index() *shardfmt.Index {
	if s == nil {
		return nil
	}
	return s.ix
}

// Result is the answer to a lookup.
type Result struct {
	// Status is the HTTP status to answer with, or 0 when no rule matched.
	Status int
	// Location is the redirect target ("" for 410 Gone and for misses).
	Location string
	// Unforced says the rule yields to a file at the request path (a
	// Netlify rule written without "!", shardfmt.FlagUnforced): a server
	// that also serves static files should serve the file instead (see
	// HandlerOptions.Shadowed). Rules of older builds are forced.
	Unforced bool
}

// Found reports whether a rule matched.
func (r Result) Found() bool { return r.Status != 0 }

// maxStackPath is the canonical path length handled in stack buffers;
// longer paths are looked up through a heap buffer.
const maxStackPath = 1024

// maxHost is the longest host name looked up (DNS allows 253 bytes).
const maxHost = rulekey.MaxHost

// smallKey is the size of the key buffers used for most requests: a kind
// byte, a host and a path whose canonical form may be up to 3 times as
// long as sent (every byte percent-encoded). Go zeroes a stack array on
// every call, so the common case gets small ones: zeroing the two large
// ones (2.5 KiB) measured a seventh of a lookup's CPU time.
const smallKey = 256

// Lookup finds the rule for a request. host is the request's Host (port
// and case are ignored; it matters only for host-scoped rules), path is
// the path as sent (percent-encoded, without the query) and rawQuery the
// query string without '?'. It returns a zero Result on a miss.
//
// Any input is safe: a path that does not begin with '/' is a miss (the
// empty path is "/"), and a host that contains '/' or is longer than 255
// bytes is treated as a host the build does not know (only any-host rules
// apply). A nil Set misses every lookup.
func (s *Set) Lookup(host, path, rawQuery string) Result {
	if s == nil {
		return Result{}
	}
	if s.lazy != nil {
		return s.lazy.lookup(s, host, path, rawQuery)
	}
	return s.lookup(host, path, rawQuery, time.Time{})
}

// lookup is Lookup with an optional fixed clock for tests.
func (s *Set) lookup(host, path, rawQuery string, now time.Time) Result {
	path, ok := rulekey.RequestPath(path)
	if !ok {
		return Result{} // no key can hold it: a miss
	}
	// The canonical host goes right before the path in the key buffers,
	// so that each key is one contiguous slice: kind | host | path. room
	// is where the path starts.
	var h []byte
	if s.hostRules && host != "" && len(host) <= maxHost {
		var hbuf [maxHost]byte // zeroed only when host rules exist
		if hh, ok := rulekey.AppendHost(hbuf[:0], host); ok {
			h = hh
		}
	}
	room := rulekey.HeaderLen(h)
	if room+3*len(path) <= smallKey {
		var fbuf, cbuf [smallKey]byte
		return s.find(fbuf[:], cbuf[:], room, h, path, rawQuery, now)
	}
	if 3*len(path) <= maxStackPath {
		var fbuf, cbuf [1 + maxHost + maxStackPath]byte
		return s.find(fbuf[:], cbuf[:], room, h, path, rawQuery, now)
	}
	n := room + 3*len(path)
	return s.find(make([]byte, n), make([]byte, n), room, h, path, rawQuery, now)
}

// find does the lookup with fbuf and cbuf as key buffers for the folded and
// the case-preserving path; each must have room + 3*len(path) bytes, and
// room must be rulekey.HeaderLen(h): the path is written at room, and a
// probe puts the kind byte and the host (h, or none) right before it.
// path begins with '/'.
func (s *Set) find(fbuf, cbuf []byte, room int, h []byte, path, rawQuery string, now time.Time) Result {
	// lookup has checked path with rulekey.RequestPath, so it is put in
	// canonical form directly (rulekey.AppendPath without the check).
	fp := urlnorm.AppendPath(fbuf[room:room], path, true)
	// The case-preserving path is needed up front only for case-sensitive
	// rules; for prefix rules (the splat keeps its case) it is made only
	// once the exact probes have missed.
	var cp []byte
	if s.caseRules {
		cp = urlnorm.AppendPath(cbuf[room:room], path, false)
	}
	fe := rulekey.ExactLen(fp, s.strict) // exact keys may drop a trailing slash
	ce := fe                             // folding keeps lengths, so cp's exact key ends at fe too

	// Exact rules.
	if len(h) > 0 {
		if s.caseRules {
			if rec, ok := s.probe(cbuf, room, rulekey.ExactCase, h, ce); ok {
				return s.answer(rec, nil, rawQuery, now)
			}
		}
		if rec, ok := s.probe(fbuf, room, rulekey.Exact, h, fe); ok {
			return s.answer(rec, nil, rawQuery, now)
		}
	}
	if s.caseRules {
		if rec, ok := s.probe(cbuf, room, rulekey.ExactCase, nil, ce); ok {
			return s.answer(rec, nil, rawQuery, now)
		}
	}
	if rec, ok := s.probe(fbuf, room, rulekey.Exact, nil, fe); ok {
		return s.answer(rec, nil, rawQuery, now)
	}
	if !s.prefixRules {
		if s.pat != nil {
			if cp == nil {
				cp = urlnorm.AppendPath(cbuf[room:room], path, false)
			}
			if r, ok := s.findPattern(h, cp, rawQuery, now); ok {
				return r
			}
		}
		return Result{}
	}

	// Prefix rules, longest first, host-scoped before any-host.
	// The splat is taken from the path as sent (not case-folded).
	if cp == nil {
		cp = urlnorm.AppendPath(cbuf[room:room], path, false)
	}
	first := rulekey.FirstPrefix(fp, s.maxPrefixSegments)
	for pass := 0; pass < 2; pass++ {
		var ph []byte
		if pass == 1 && s.pat != nil {
			// Pattern rules (ordered lists, in rank order) come after
			// host-scoped prefix rules and before any-host ones.
			if r, ok := s.findPattern(h, cp, rawQuery, now); ok {
				return r
			}
		}
		if pass == 0 {
			if len(h) == 0 {
				continue
			}
			ph = h
		}
		for n := first; n >= 0; n = rulekey.NextPrefix(fp, n) {
			var splat []byte
			if n < len(fp) {
				splat = cp[n+1:]
			}
			if s.caseRules {
				if rec, ok := s.probe(cbuf, room, rulekey.PrefixCase, ph, n); ok {
					return s.answer(rec, splat, rawQuery, now)
				}
			}
			if rec, ok := s.probe(fbuf, room, rulekey.Prefix, ph, n); ok {
				return s.answer(rec, splat, rawQuery, now)
			}
		}
	}
	return Result{}
}

// probe looks up kind|host|buf[room:room+n]. It writes the kind and host
// into the room before the path (room >= rulekey.HeaderLen(host)).
func (s *Set) probe(buf []byte, room int, kind rulekey.Kind, host []byte, n int) (shardfmt.Record, bool) {
	start := rulekey.PutHeader(buf, room, kind, host)
	if s.lazy != nil {
		return s.lazy.find(buf[start:room+n], &s.deadline)
	}
	return s.build.Find(buf[start : room+n])
}

// answer turns a matched record into a Result.
func (s *Set) answer(rec shardfmt.Record, splat []byte, rawQuery string, now time.Time) Result {
	if rec.Status == fetchFailed {
		return Result{Status: fetchFailed} // lazy builds only: see lazyBuild.lookup
	}
	unforced := rec.Flags&shardfmt.FlagUnforced != 0
	if rec.Expires != 0 {
		if now.IsZero() {
			now = time.Now()
		}
		if now.Unix() >= int64(rec.Expires) {
			return Result{Status: 410, Unforced: unforced}
		}
	}
	if rec.Status == 410 {
		return Result{Status: 410, Unforced: unforced}
	}
	loc := rec.Dest
	if rec.Flags&shardfmt.FlagSplat != 0 || (rec.Flags&shardfmt.FlagQuery != 0 && rawQuery != "") {
		loc = buildLocation(rec, splat, rawQuery)
	}
	return Result{Status: int(rec.Status), Location: loc, Unforced: unforced}
}

// buildLocation fills in ":splat" and appends the request's query string.
// The splat is a canonical path (no control bytes, no backslash, no raw
// spaces); its leading slashes are dropped so that "/:splat" can never
// become a protocol-relative "//host". Bytes of the query that may not
// appear in a header are percent-encoded.
func buildLocation(rec shardfmt.Record, splat []byte, rawQuery string) string {
	for len(splat) > 0 && splat[0] == '/' {
		splat = splat[1:]
	}
	dest := rec.Dest
	var b strings.Builder
	b.Grow(len(dest) + len(splat) + len(rawQuery) + 2)
	frag := ""
	if i := strings.IndexByte(dest, '#'); i >= 0 && rec.Flags&shardfmt.FlagQuery != 0 && rawQuery != "" {
		dest, frag = dest[:i], dest[i:]
	}
	if rec.Flags&shardfmt.FlagSplat != 0 {
		for {
			i := strings.Index(dest, ":splat")
			if i < 0 {
				break
			}
			b.WriteString(dest[:i])
			b.Write(splat)
			dest = dest[i+len(":splat"):]
		}
	}
	b.WriteString(dest)
	if rec.Flags&shardfmt.FlagQuery != 0 && rawQuery != "" {
		if strings.IndexByte(b.String(), '?') >= 0 {
			b.WriteByte('&')
		} else {
			b.WriteByte('?')
		}
		for i := 0; i < len(rawQuery); i++ {
			c := rawQuery[i]
			if c <= ' ' || c >= 0x7f || c == '#' {
				b.WriteByte('%')
				b.WriteByte("0123456789ABCDEF"[c>>4])
				b.WriteByte("0123456789ABCDEF"[c&15])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteString(frag)
	loc := b.String()
	if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
		// Defence in depth: never hand out a protocol-relative Location.
		loc = "/" + strings.TrimLeft(loc, "/\\")
	}
	return loc
}
