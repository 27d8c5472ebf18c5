package pattern

import "hash/maphash"

// flat is the skeleton trie laid out for lookups: every node but the
// roots is a slot of one open-addressing table, keyed by a 64-bit hash
// of its parent's key and its segment (or of the parent's key alone for
// an Any edge), and the candidates of every node sit in one array. A step
// down the trie is then one probe of the table, usually one cache line,
// where a Go map per node costs several dependent cache misses (the map,
// its group, the key's bytes, the child): with 100,000 patterns those
// misses were most of a hit's cost. As a key is computed from the
// request, not read from the parent's slot, the probes of successive
// levels do not wait for each other's loads.
//
// Slots are not checked against their segment's text: two different keys
// with the same hash are refused when the table is built (it is rebuilt
// with another seed), and a request segment whose hash happens to equal a
// slot's only adds candidates, which Pattern.MatchInto rejects, so the
// answer is the same.
type flat struct {
	seed  maphash.Seed
	mask  uint64
	slots []slot
	cands []cand  // each node's here then rest patterns, in rank order
	roots [2]slot // cs, ci
}

// cand is a candidate pattern: its id (rank order) and the pattern, kept
// together so that trying it reads no other array.
type cand struct {
	id int32
	p  *Pattern
}

// rootKeys are the keys the roots' children are hashed from.
var rootKeys = [2]uint64{0x8f1bbcdcbfa53e0b, 0x6a09e667f3bcc909}

// slot is one trie node.
type slot struct {
	h                              uint64 // the key; 0: empty
	hereOff, hereN, restOff, restN uint32
	flags                          uint32
}

const (
	hasLit = 1 << iota
	hasAny
)

// key is the key of the child of the node keyed parent by segment seg.
func (f *flat) key(parent uint64, seg []byte) uint64 {
	return mixKey(maphash.Bytes(f.seed, seg) ^ parent*0x9e3779b97f4a7c15)
}

// keyString is key for a segment held as a string (the same hash as
// maphash.Bytes of its bytes).
func (f *flat) keyString(parent uint64, seg string) uint64 {
	return mixKey(maphash.String(f.seed, seg) ^ parent*0x9e3779b97f4a7c15)
}

// anyKey is the key of the Any child of the node keyed parent.
func anyKey(parent uint64) uint64 {
	return mixKey(parent*0xc2b2ae3d27d4eb4f + 0x165667b19e3779f9)
}

func mixKey(h uint64) uint64 {
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	if h == 0 {
		h = 1
	}
	return h
}

// find returns the slot of key h, or nil.
func (f *flat) find(h uint64) *slot {
	for i := h & f.mask; ; i = (i + 1) & f.mask {
		s := &f.slots[i]
		if s.h == h {
			return s
		}
		if s.h == 0 {
			return nil
		}
	}
}

// newFlat lays out the tries cs and ci.
func newFlat(cs, ci *node, pats []*Pattern) *flat {
	nodes := 0
	var count func(n *node)
	count = func(n *node) {
		nodes++
		for _, c := range n.lit {
			count(c)
		}
		if n.any != nil {
			count(n.any)
		}
	}
	count(cs)
	count(ci)
	size := 8
	for size < 2*nodes {
		size *= 2
	}
	for {
		if f, ok := tryFlat(cs, ci, pats, size); ok {
			return f
		}
	}
}

// tryFlat lays out the tries with a new seed; it fails when two keys
// have the same hash.
func tryFlat(cs, ci *node, pats []*Pattern, size int) (*flat, bool) {
	f := &flat{seed: maphash.MakeSeed(), mask: uint64(size - 1), slots: make([]slot, size)}
	ok := true
	add := func(ids []int32) {
		for _, id := range ids {
			f.cands = append(f.cands, cand{id, pats[id]})
		}
	}
	var lay func(n *node, s *slot, key uint64)
	lay = func(n *node, s *slot, key uint64) {
		s.hereOff, s.hereN = uint32(len(f.cands)), uint32(len(n.here))
		add(n.here)
		s.restOff, s.restN = uint32(len(f.cands)), uint32(len(n.rest))
		add(n.rest)
		if len(n.lit) > 0 {
			s.flags |= hasLit
		}
		if n.any != nil {
			s.flags |= hasAny
		}
		put := func(h uint64, c *node) {
			i := h & f.mask
			for ; f.slots[i].h != 0; i = (i + 1) & f.mask {
				if f.slots[i].h == h {
					ok = false
					return
				}
			}
			f.slots[i].h = h
			lay(c, &f.slots[i], h)
		}
		for seg, c := range n.lit {
			if ok {
				put(f.keyString(key, seg), c)
			}
		}
		if n.any != nil && ok {
			put(anyKey(key), n.any)
		}
	}
	// The slots of the table do not move: lay writes through pointers.
	lay(cs, &f.roots[0], rootKeys[0])
	lay(ci, &f.roots[1], rootKeys[1])
	return f, ok
}

// walkFlat is the search of one trie (see Index.LookupInto).
func (s *search) walkFlat(f *flat, n *slot, key uint64, rest []byte, none bool) {
	if n.restN > 0 {
		s.tryCands(f.cands[n.restOff : n.restOff+n.restN])
	}
	if none {
		if n.hereN > 0 {
			s.tryCands(f.cands[n.hereOff : n.hereOff+n.hereN])
		}
		return
	}
	seg, after := rest, []byte(nil)
	more := false
	for i, c := range rest { // a loop: segments are short (see matchShape)
		if c == '/' {
			seg, after, more = rest[:i], rest[i+1:], true
			break
		}
	}
	if n.flags&hasLit != 0 {
		k := f.key(key, seg)
		if c := f.find(k); c != nil {
			s.walkFlat(f, c, k, after, !more)
		}
	}
	if n.flags&hasAny != 0 {
		k := anyKey(key)
		if c := f.find(k); c != nil {
			s.walkFlat(f, c, k, after, !more)
		}
	}
}

// tryCands tries candidates in rank order, stopping at the first match
// or at the best rank found so far.
func (s *search) tryCands(list []cand) {
	for _, c := range list {
		if c.id >= s.best {
			return
		}
		if m, ok := c.p.MatchInto(s.dst, s.host, s.subject, s.rawQuery); ok {
			s.best, s.m = c.id, m
			return
		}
	}
}
