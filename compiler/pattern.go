package compiler

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/redirc/redirc/internal/pattern"
	"github.com/redirc/redirc/internal/rulekey"
	"github.com/redirc/redirc/internal/urlnorm"
	"github.com/redirc/redirc/shardfmt"
)

// ordered reports whether a rule belongs to an ordered list (first match
// wins): a pattern, a rule of a first-match format (Netlify), or one an
// importer ranked (Order). Other rules keep the bulk precedence: exact
// rules, then prefix rules, longest first.
func (in *Rule) ordered() bool {
	return in.FirstMatch || in.Order != 0 || in.Syntax != SyntaxPath
}

// checkPattern translates an ordered rule's source and destination into a
// compiled pattern (r.pat). host is the canonical host ("" for any), path
// the source's path (the expression, for SyntaxRegex).
func checkPattern(r *rule, in *Rule, host, path string, opt Options, probs *[]Problem) bool {
	var (
		src *pattern.Source
		err error
	)
	switch in.Syntax {
	case SyntaxPath:
		// path is the base of a prefix rule (SplitPattern has cut the '*').
		src, err = pattern.Literal(path, r.prefix(), in.CaseSensitive, opt.StrictTrailingSlash)
	case SyntaxNetlify:
		src, err = pattern.Netlify(path, in.CaseSensitive)
	case SyntaxPathToRegexp:
		src, err = pattern.PathToRegexp(path, in.CaseSensitive)
	case SyntaxRegex:
		src, err = pattern.Regex(path, in.CaseSensitive)
	default:
		err = fmt.Errorf("unknown syntax %v", in.Syntax)
	}
	if err != nil {
		errorf(probs, in.Pos, "source %q (%s): %v", in.Source, in.Syntax, err)
		return false
	}
	var query []pattern.QueryCond
	for _, q := range in.QueryMatch {
		if q.Key == "" {
			errorf(probs, in.Pos, "empty query parameter name in a query matcher")
			return false
		}
		query = append(query, pattern.QueryCond{Key: q.Key, Value: q.Value})
	}
	spec := pattern.Spec{Host: host, Re: src.Re, Fold: src.Fold, Segs: src.Segs, Tail: src.Tail,
		Query: query, Status: in.Status, Flags: r.flags &^ shardfmt.FlagSplat, Expires: r.exp}
	if in.Status != 410 {
		tmpl, err := src.Template(r.dest, query)
		if err != nil {
			errorf(probs, in.Pos, "destination %q: %v", in.Destination, err)
			return false
		}
		if hostEnd := destHostEnd(tmpl); strings.Contains(tmpl[:hostEnd], "${") {
			errorf(probs, in.Pos, "destination %q puts a capture in the host: a request could choose where it is sent", in.Destination)
			return false
		}
		spec.Dest = tmpl
	}
	p, err := pattern.Prepare(spec, src.Groups)
	if err != nil {
		errorf(probs, in.Pos, "source %q: %v", in.Source, err)
		return false
	}
	r.pat = p
	return true
}

// destHostEnd returns the end of the scheme and host of a destination (0
// for a path).
func destHostEnd(d string) int {
	i := strings.Index(d, "://")
	if i < 0 || strings.HasPrefix(d, "/") {
		return 0
	}
	if j := strings.IndexAny(d[i+3:], "/?#"); j >= 0 {
		return i + 3 + j
	}
	return len(d)
}

// orderRules puts the ordered rules (c.ord, in input order) in rank order:
// by file (in the order files first appear), then Order, then position.
// Each exact rule that no earlier rule of the list can match (on its path,
// in any case and with or without a final '/', as an exact key matches)
// goes to the exact tier (c.rules), where its answer is the same; the
// others become patterns (c.pats). A rule an earlier one always answers
// for is dropped with the warning "never reached".
func (c *checked) orderRules() {
	if len(c.ord) == 0 {
		return
	}
	fileIdx := map[string]int{}
	for i := range c.in {
		if _, ok := fileIdx[c.in[i].Pos.File]; !ok {
			fileIdx[c.in[i].Pos.File] = len(fileIdx)
		}
	}
	slices.SortStableFunc(c.ord, func(a, b *rule) int {
		ra, rb := c.src(a), c.src(b)
		return cmp.Or(cmp.Compare(fileIdx[ra.Pos.File], fileIdx[rb.Pos.File]), cmp.Compare(ra.Order, rb.Order), cmp.Compare(a.order, b.order))
	})
	pats := make([]*pattern.Pattern, len(c.ord))
	for i, r := range c.ord {
		r.pat.Rank = i
		pats[i] = r.pat
	}
	folded, err := pattern.NewIndexFolded(pats)
	if err != nil {
		panic(err) // ranks are 0..n-1: unique
	}
	ci := make([]*regexp.Regexp, len(pats)) // case-insensitive forms, made when needed
	ciRe := func(id int) *regexp.Regexp {
		if ci[id] == nil {
			ci[id] = regexp.MustCompile("(?i)" + pats[id].Re)
		}
		return ci[id]
	}
	dropped := make([]bool, len(c.ord))
	firstKey := map[string]*rule{}
	firstSrc := map[string]*rule{}
	var sub, fold []byte
	for rank, r := range c.ord {
		in := c.src(r)
		// The same source twice: the second is never reached.
		sk := r.pat.Host + "\x00" + r.pat.Re
		if in.Syntax == SyntaxPath {
			sk = r.key
		}
		for _, q := range r.pat.Query {
			sk += "\x00" + q.Key + "=" + q.Value
		}
		if prev, ok := firstSrc[sk]; ok {
			c.neverReached(r, prev)
			dropped[rank] = true
			continue
		}
		firstSrc[sk] = r
		if in.Syntax != SyntaxPath || r.prefix() || len(in.QueryMatch) > 0 {
			continue
		}
		if prev, ok := firstKey[r.key]; ok {
			c.neverReached(r, prev)
			dropped[rank] = true
			continue
		}
		firstKey[r.key] = r
		// May an earlier rule match this exact rule's path?
		canon := r.path()
		variants := []string{canon}
		if !c.strict && canon != "/" {
			variants = append(variants, canon+"/")
		}
		blocked := false
		var shadow *rule
		full := map[int]int{} // candidate id -> variants it surely matches
		for _, v := range variants {
			sub = pattern.AppendSubject(sub[:0], []byte(v))
			fold = pattern.AppendFold(fold[:0], sub)
			folded.Candidates(sub, fold, func(id int) {
				if id >= rank || dropped[id] {
					return
				}
				p := pats[id]
				if p.Host != "" && r.hostLen > 0 && p.Host != r.host() {
					return
				}
				if !ciRe(id).Match(sub) {
					return
				}
				blocked = true
				if len(p.Query) == 0 && (p.Host == "" || p.Host == r.host()) && (p.Fold || in.CaseSensitive) && p.Regexp().Match(sub) {
					full[id]++
				}
			})
		}
		for id, n := range full {
			if n == len(variants) && (shadow == nil || id < shadow.pat.Rank) {
				shadow = c.ord[id]
			}
		}
		if shadow != nil {
			c.neverReached(r, shadow)
			dropped[rank] = true
			continue
		}
		if !blocked {
			r.lowered = true
		}
	}
	c.lowerPrefixes(folded, pats, dropped)
	for rank, r := range c.ord {
		switch {
		case dropped[rank]:
		case r.lowered:
			c.addExact(r)
		default:
			c.pats = append(c.pats, r.pat.Spec)
			if r.pat.Host != "" {
				c.hostRules = true // the runtime needs the request's host
			}
		}
	}
	// Ranks in the build are positions among the patterns kept.
	for i := range c.pats {
		c.pats[i].Rank = i
	}
	c.ord = nil
}

func (c *checked) neverReached(r, by *rule) {
	c.warnf(c.src(r).Pos, "never reached: shadowed by %s (%s)", c.src(by).Pos, c.src(by).Source)
}

// addExact adds a checked rule to the exact and prefix tiers, reporting
// duplicates and conflicts.
func (c *checked) addExact(r *rule) {
	in := c.src(r)
	if prev, ok := c.byKey[r.key]; ok {
		if prev.dest == r.dest && c.src(prev).Status == in.Status && prev.flags == r.flags && prev.exp == r.exp {
			c.warnf(in.Pos, "duplicate rule: %s is already defined at %s with the same outcome", in.Source, c.src(prev).Pos)
		} else {
			p := Problem{Pos: in.Pos, Severity: Error,
				Msg: fmt.Sprintf("conflicting rule: %s is already defined at %s (%d %s) but here it is %d %s",
					in.Source, c.src(prev).Pos, c.src(prev).Status, orDash(prev.dest), in.Status, orDash(r.dest))}
			if c.src(prev).Source != in.Source && strings.TrimSuffix(c.src(prev).Source, "/") == strings.TrimSuffix(in.Source, "/") {
				p.Hint = HintStrictTrailingSlash
			}
			c.probs = append(c.probs, p)
		}
		return
	}
	c.byKey[r.key] = r
	c.rules = append(c.rules, r)
	switch r.kind {
	case rulekey.ExactCase:
		c.caseRules = true
	case rulekey.PrefixCase:
		c.caseRules = true
		fallthrough
	case rulekey.Prefix:
		c.prefixRules = true
		c.maxPrefixSegments = max(c.maxPrefixSegments, rulekey.Segments(r.path()))
	}
	if r.hostLen > 0 {
		c.hostRules = true
	}
}

// patternHost returns the canonical host of a pattern rule: Rule.Host, or
// the host written in the source.
func patternHost(in *Rule, host string) (string, error) {
	if in.Host == "" {
		return host, nil
	}
	if host != "" {
		return "", fmt.Errorf("source %q names a host and Host is %q", in.Source, in.Host)
	}
	if err := checkHost(in.Host); err != nil {
		return "", err
	}
	return urlnorm.Host(in.Host), nil
}

// prefixInfo is an ordered prefix rule's base, as folded segments.
type prefixInfo struct {
	segs []string
	host string
	cs   bool
}

// lowerPrefixes moves ordered "/*" prefix rules to the prefix tier where
// that gives the same answers: the tier runs after the patterns and picks
// host-scoped before any-host, then the longest base, so a prefix rule P
// may go there only if no later rule left among the patterns may match a
// path under P (for a host-scoped P, probed before the patterns: no
// pattern at all), and for every other lowered prefix rule whose base P's
// path begins with, the tier's choice is the earlier rule. Rules are taken
// out of the candidates until both hold (a fixpoint). A later prefix rule
// entirely under an earlier one is never reached. A rule that overlaps a
// bulk prefix rule of its own host class stays a pattern.
func (c *checked) lowerPrefixes(folded *pattern.Index, pats []*pattern.Pattern, dropped []bool) {
	info := map[int]prefixInfo{}
	byBase := map[string][]int{}
	var ranks []int
	for rank, r := range c.ord {
		in := c.src(r)
		if dropped[rank] || in.Syntax != SyntaxPath || !r.prefix() || len(in.QueryMatch) > 0 {
			continue
		}
		sub := pattern.FoldString(pattern.Subject(r.path()))
		sub = strings.Trim(sub, "/")
		var segs []string
		if sub != "" {
			segs = strings.Split(sub, "/")
		}
		pi := prefixInfo{segs: segs, host: r.host(), cs: in.CaseSensitive}
		// Under an earlier prefix rule that covers it: never reached.
		shadowed := false
		for d := 0; d <= len(segs) && !shadowed; d++ {
			for _, q := range byBase[strings.Join(segs[:d], "/")] {
				qi := info[q]
				if (qi.host == "" || qi.host == pi.host) && (!qi.cs || pi.cs) {
					c.neverReached(r, c.ord[q])
					dropped[rank] = true
					shadowed = true
					break
				}
			}
		}
		if shadowed {
			continue
		}
		info[rank] = pi
		k := strings.Join(segs, "/")
		byBase[k] = append(byBase[k], rank)
		ranks = append(ranks, rank)
	}
	if len(ranks) == 0 {
		return
	}
	// Bulk prefix rules (already in the tier) of P's own host class come
	// before (host-scoped) or after (any-host) every ordered list, where
	// the tier would order them by length: a lowered rule must not
	// overlap one of them. Those of the other class keep their place.
	bulk, bulkAnc := map[string]bool{}, map[string]bool{}
	for _, r := range c.rules {
		if !r.prefix() {
			continue
		}
		h := r.host() + "\x00"
		sub := strings.Trim(pattern.FoldString(pattern.Subject(r.path())), "/")
		bulk[h+sub] = true
		for {
			bulkAnc[h+sub] = true
			i := strings.LastIndexByte(sub, '/')
			if i < 0 {
				break
			}
			sub = sub[:i]
		}
		bulkAnc[h] = true
	}
	inL := make(map[int]bool, len(ranks))
	for _, rank := range ranks {
		h := info[rank].host + "\x00"
		segs := info[rank].segs
		overlap := bulkAnc[h+strings.Join(segs, "/")]
		for d := 0; d <= len(segs) && !overlap; d++ {
			overlap = bulk[h+strings.Join(segs[:d], "/")]
		}
		if !overlap {
			inL[rank] = true
		}
	}
	hostsMeet := func(a, b string) bool { return a == "" || b == "" || a == b }
	for changed := true; changed; {
		changed = false
		for _, rank := range ranks {
			if !inL[rank] {
				continue
			}
			pi := info[rank]
			bad := false
			// Host-scoped prefix rules are probed before every pattern,
			// any-host ones after: either way no pattern it would
			// overtake may match under it.
			folded.Under(pi.segs, func(id int) {
				overtakes := id > rank || pi.host != "" && id != rank
				if bad || !overtakes || dropped[id] || inL[id] || !hostsMeet(pats[id].Host, pi.host) {
					return
				}
				bad = true
			})
			if bad {
				delete(inL, rank)
				changed = true
				continue
			}
			for d := 0; d <= len(pi.segs); d++ {
				for _, q := range byBase[strings.Join(pi.segs[:d], "/")] {
					if q == rank || !inL[q] || !inL[rank] {
						continue
					}
					qi := info[q]
					if !hostsMeet(qi.host, pi.host) {
						continue
					}
					// The tier's choice between P (rank) and Q (its base
					// is a prefix of P's) on a path under P.
					tierP := pi.host != "" && qi.host == "" ||
						(pi.host == "") == (qi.host == "") && (len(pi.segs) > len(qi.segs) || pi.cs && !qi.cs)
					if tierP != (rank < q) {
						delete(inL, min(rank, q))
						changed = true
					}
				}
			}
		}
	}
	for rank := range inL {
		c.ord[rank].lowered = true
	}
}
