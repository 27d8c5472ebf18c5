package runtime

import (
	"sync"
	"time"

	"github.com/redirc/redirc/internal/pattern"
	"github.com/redirc/redirc/shardfmt"
)

// patScratch holds the buffers of one pattern lookup: the request's
// subject and its case-folded form (internal/pattern). They come from a
// pool, not the stack: the regexp engine keeps its input in a pooled
// machine, so a stack buffer handed to it would escape (an allocation
// per lookup).
type patScratch struct {
	sub, fold, host []byte
	caps            [2 * 10]int
}

var patPool = sync.Pool{New: func() any {
	return &patScratch{sub: make([]byte, 0, 512), fold: make([]byte, 0, 512), host: make([]byte, 0, 256)}
}}

// maxScratch bounds the buffers kept in the pool.
const maxScratch = 64 << 10

// findPattern answers a request from the build's pattern rules: the one
// of lowest rank that matches (internal/pattern.Index). h is the canonical
// host (nil for none) and cp the canonical, case-preserving path. It
// allocates only on a match (the Location, and the capture positions).
func (s *Set) findPattern(h, cp []byte, rawQuery string, now time.Time) (Result, bool) {
	sc := patPool.Get().(*patScratch)
	sub := pattern.AppendSubject(sc.sub[:0], cp)
	var fold []byte
	if s.pat.NeedFold() {
		fold = pattern.AppendFold(sc.fold[:0], sub)
	}
	// h (like cp) is on the caller's stack: the index gets a copy.
	var host []byte
	if len(h) > 0 {
		host = append(sc.host[:0], h...)
	}
	p, m := s.pat.LookupInto(sc.caps[:0], host, sub, fold, rawQuery)
	var r Result
	if p != nil {
		r = patternAnswer(p, sub, m, rawQuery, now)
	}
	if cap(sub) <= maxScratch && cap(fold) <= maxScratch {
		sc.sub, sc.fold = sub[:0], fold[:0]
		patPool.Put(sc)
	}
	return r, p != nil
}

func patternAnswer(p *pattern.Pattern, sub []byte, m []int, rawQuery string, now time.Time) Result {
	unforced := p.Flags&shardfmt.FlagUnforced != 0
	if p.Expires != 0 {
		if now.IsZero() {
			now = time.Now()
		}
		if now.Unix() >= int64(p.Expires) {
			return Result{Status: 410, Unforced: unforced}
		}
	}
	if p.Status == 410 {
		return Result{Status: 410, Unforced: unforced}
	}
	return Result{Status: p.Status, Location: p.Expand(sub, m, rawQuery, p.Flags&shardfmt.FlagQuery != 0), Unforced: unforced}
}
