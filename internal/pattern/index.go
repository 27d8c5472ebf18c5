package pattern

import (
	"bytes"
	"fmt"
	"slices"
)

// node is a node of a skeleton trie: one level per path segment.
type node struct {
	lit  map[string]*node
	any  *node
	here []int32 // patterns whose skeleton ends here and has no tail
	rest []int32 // patterns whose skeleton ends here and has a tail
}

func (n *node) child(seg string) *node {
	if seg == Any {
		if n.any == nil {
			n.any = &node{}
		}
		return n.any
	}
	if n.lit == nil {
		n.lit = map[string]*node{}
	}
	c := n.lit[seg]
	if c == nil {
		c = &node{}
		n.lit[seg] = c
	}
	return c
}

// Index finds the patterns a request can match by their skeletons, so that
// a lookup tries only those: its cost depends on the patterns that share
// the request's leading segments, not on how many patterns there are.
type Index struct {
	pats []*Pattern // in rank order; a pattern's id is its position
	cs   node       // skeletons compared as written
	ci   node       // skeletons compared case-folded (Spec.Fold)
	fold bool       // some pattern is in ci
	// foldAll puts every pattern in ci (NewIndexFolded).
	foldAll bool
	// flat is cs and ci laid out for LookupInto (flat.go).
	flat *flat
}

// NewIndex indexes compiled patterns; their ranks must be unique.
func NewIndex(pats []*Pattern) (*Index, error) { return newIndex(pats, false) }

// NewIndexFolded indexes patterns as if every skeleton were case-folded:
// Candidates then gives a superset of the patterns that could match any
// case variant of a path. The compiler uses it to prove rules apart.
func NewIndexFolded(pats []*Pattern) (*Index, error) { return newIndex(pats, true) }

func newIndex(pats []*Pattern, foldAll bool) (*Index, error) {
	ps := slices.Clone(pats)
	slices.SortFunc(ps, func(a, b *Pattern) int { return a.Rank - b.Rank })
	ix := &Index{pats: ps, foldAll: foldAll}
	for i, p := range ps {
		if i > 0 && ps[i-1].Rank == p.Rank {
			return nil, fmt.Errorf("two patterns have rank %d", p.Rank)
		}
		root := &ix.cs
		if p.Fold || foldAll {
			root = &ix.ci
			ix.fold = true
		}
		n := root
		for _, seg := range p.Segs {
			if foldAll && !p.Fold && seg != Any {
				seg = FoldString(seg)
			}
			n = n.child(seg)
		}
		if p.Tail {
			n.rest = append(n.rest, int32(i))
		} else {
			n.here = append(n.here, int32(i))
		}
	}
	if !foldAll {
		// Lookups use flat only: the maps of the tries would be
		// memory the garbage collector walks on every cycle. (The
		// compiler's folded index keeps its tries for Candidates
		// and Under, and looks up through them.)
		ix.flat = newFlat(&ix.cs, &ix.ci, ps)
		ix.cs, ix.ci = node{}, node{}
	}
	return ix, nil
}

// Len returns the number of patterns.
func (ix *Index) Len() int { return len(ix.pats) }

// Pattern returns the pattern of id i (ids are positions in rank order).
func (ix *Index) Pattern(i int) *Pattern { return ix.pats[i] }

// NeedFold reports whether Lookup needs the folded subject.
func (ix *Index) NeedFold() bool { return ix.fold }

// segsOf trims the leading '/' and the final '/' of a subject, so that the
// rest is the '/'-separated segments ("" when there are none).
func segsOf(s []byte) (rest []byte, none bool) {
	if len(s) == 0 || s[0] != '/' {
		return nil, true
	}
	s = s[1:]
	if len(s) == 0 {
		return nil, true
	}
	if s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	if len(s) == 0 {
		// "//" is the root with a final '/': its skeleton has no
		// segment, as "/" (a literal "/" matches both; patterns with
		// an empty segment are not indexed by segments, see skel.finish).
		return nil, true
	}
	return s, false
}

// search is the state of one lookup.
type search struct {
	ix       *Index
	host     []byte
	subject  []byte
	rawQuery string
	best     int32
	m        []int
	dst      []int
}

func (s *search) try(list []int32) {
	for _, id := range list {
		if id >= s.best {
			return
		}
		if m, ok := s.ix.pats[id].MatchInto(s.dst, s.host, s.subject, s.rawQuery); ok {
			s.best, s.m = id, m
			return
		}
	}
}

func (s *search) walk(n *node, rest []byte, none bool) {
	s.try(n.rest)
	if none {
		s.try(n.here)
		return
	}
	seg, after := rest, []byte(nil)
	more := false
	if i := bytes.IndexByte(rest, '/'); i >= 0 {
		seg, after, more = rest[:i], rest[i+1:], true
	}
	if n.lit != nil {
		if c := n.lit[string(seg)]; c != nil {
			s.walk(c, after, !more)
		}
	}
	if n.any != nil {
		s.walk(n.any, after, !more)
	}
}

// Lookup returns the pattern of lowest rank that matches the request and
// its capture positions, or nil. host is the canonical request host (nil
// for none); subject is the request's subject (AppendSubject) and folded
// its AppendFold (needed only when NeedFold). It allocates only on a
// match.
func (ix *Index) Lookup(host, subject, folded []byte, rawQuery string) (*Pattern, []int) {
	return ix.LookupInto(nil, host, subject, folded, rawQuery)
}

// LookupInto is Lookup writing capture positions into dst when it has room
// (skeleton-shaped patterns only): a hit on one of those then allocates
// nothing here.
func (ix *Index) LookupInto(dst []int, host, subject, folded []byte, rawQuery string) (*Pattern, []int) {
	if ix == nil || len(ix.pats) == 0 {
		return nil, nil
	}
	s := search{ix: ix, host: host, subject: subject, rawQuery: rawQuery, best: int32(len(ix.pats)), dst: dst}
	rest, none := segsOf(subject)
	if f := ix.flat; f != nil {
		s.walkFlat(f, &f.roots[0], rootKeys[0], rest, none)
		if ix.fold {
			rest, none = segsOf(folded)
			s.walkFlat(f, &f.roots[1], rootKeys[1], rest, none)
		}
	} else {
		s.walk(&ix.cs, rest, none)
		if ix.fold {
			rest, none = segsOf(folded)
			s.walk(&ix.ci, rest, none)
		}
	}
	if s.m == nil {
		return nil, nil
	}
	return ix.pats[s.best], s.m
}

// Candidates calls f with the id of every pattern whose skeleton admits
// the subject, in no particular order; folded is its AppendFold (as every
// skeleton of a folded index is folded, subject itself is not read). It
// needs an index made by NewIndexFolded (NewIndex
// keeps only what Lookup needs) and panics otherwise.
func (ix *Index) Candidates(subject, folded []byte, f func(id int)) {
	if !ix.foldAll {
		panic("pattern: Candidates needs an index made by NewIndexFolded")
	}
	var walk func(n *node, rest []byte, none bool)
	walk = func(n *node, rest []byte, none bool) {
		for _, id := range n.rest {
			f(int(id))
		}
		if none {
			for _, id := range n.here {
				f(int(id))
			}
			return
		}
		seg, after, more := rest, []byte(nil), false
		if i := bytes.IndexByte(rest, '/'); i >= 0 {
			seg, after, more = rest[:i], rest[i+1:], true
		}
		if c := n.lit[string(seg)]; c != nil {
			walk(c, after, !more)
		}
		if n.any != nil {
			walk(n.any, after, !more)
		}
	}
	rest, none := segsOf(folded)
	walk(&ix.ci, rest, none) // foldAll: every pattern is in ci
}

// Under calls f with the id of every pattern whose skeleton admits some
// path that begins with the segments segs (each folded with FoldString,
// or Any): the patterns that may match a path under them. It needs an
// index made by NewIndexFolded and panics otherwise.
func (ix *Index) Under(segs []string, f func(id int)) {
	if !ix.foldAll {
		panic("pattern: Under needs an index made by NewIndexFolded")
	}
	var all func(n *node)
	all = func(n *node) {
		for _, id := range n.rest {
			f(int(id))
		}
		for _, id := range n.here {
			f(int(id))
		}
		for _, c := range n.lit {
			all(c)
		}
		if n.any != nil {
			all(n.any)
		}
	}
	var walk func(n *node, d int)
	walk = func(n *node, d int) {
		if d == len(segs) {
			all(n)
			return
		}
		for _, id := range n.rest {
			f(int(id))
		}
		if segs[d] == Any {
			for _, c := range n.lit {
				walk(c, d+1)
			}
		} else if c := n.lit[segs[d]]; c != nil {
			walk(c, d+1)
		}
		if n.any != nil {
			walk(n.any, d+1)
		}
	}
	walk(&ix.ci, 0) // foldAll: every pattern is in ci
}
