package pattern

import (
	"regexp/syntax"
	"unicode/utf8"
)

// segItem is one step of a pattern matched without regexp: literal text,
// or a run of bytes other than '/' (a class such as "[^/]+", captured in
// group cap, or not when cap is 0).
type segItem struct {
	lit  string // literal text (run is false)
	fold bool   // lit is compared as (?i) compares it
	run  bool   // a run of non-'/' bytes
	min  int    // the run's minimum length: 0 or 1
	cap  int    // the run's capture group, 0 for none
}

// segProgram returns the steps that match exactly what t matches, with
// the same capture positions, or nil when t is not of that form. The
// form is the one nginx and Apache rules mostly take: "^", then literal
// text and runs "([^/]+)" or "([^/]*)" (greedy, captured or not), each
// run followed by text that begins with '/' or by the end, and an
// optional "$". Such an expression has one match from position 0, found
// without backtracking: a run takes every byte up to the next '/'
// (regexp reads an invalid UTF-8 byte as one rune U+FFFD, which is not
// '/' either).
func segProgram(t *syntax.Regexp) []segItem {
	if t.Op != syntax.OpConcat || len(t.Sub) < 2 || t.Sub[0].Op != syntax.OpBeginText {
		return nil
	}
	subs := t.Sub[1:]
	var items []segItem
	for i, sub := range subs {
		switch sub.Op {
		case syntax.OpLiteral:
			for _, r := range sub.Rune {
				if r == utf8.RuneError {
					return nil // matches invalid bytes too: leave it to regexp
				}
			}
			items = append(items, segItem{lit: string(sub.Rune), fold: sub.Flags&syntax.FoldCase != 0})
		case syntax.OpEndText:
			if i != len(subs)-1 {
				return nil
			}
			items = append(items, segItem{}) // the end: lit "" and not run
		default:
			cp := 0
			if sub.Op == syntax.OpCapture {
				cp, sub = sub.Cap, sub.Sub[0]
			}
			if sub.Op != syntax.OpPlus && sub.Op != syntax.OpStar || sub.Flags&syntax.NonGreedy != 0 || !notSlashClass(sub.Sub[0]) {
				return nil
			}
			it := segItem{run: true, cap: cp}
			if sub.Op == syntax.OpPlus {
				it.min = 1
			}
			items = append(items, it)
		}
	}
	// A run must be followed by the end or by text beginning with '/'.
	for i, it := range items {
		if !it.run || i == len(items)-1 {
			continue
		}
		next := items[i+1]
		if next.run || next.lit != "" && next.lit[0] != '/' {
			return nil
		}
	}
	return items
}

// maxSegGroups bounds the groups of a pattern matched by matchSegs, so
// that a miss needs no allocation.
const maxSegGroups = 9

// notSlashClass reports whether t is the class of every rune but '/'.
func notSlashClass(t *syntax.Regexp) bool {
	r := t.Rune
	return t.Op == syntax.OpCharClass && len(r) == 4 && r[0] == 0 && r[1] == '/'-1 && r[2] == '/'+1 && r[3] == utf8.MaxRune
}

// matchSegs is Regexp().FindSubmatchIndex for a pattern with segs.
func (p *Pattern) matchSegs(dst []int, sub []byte) []int {
	n := 2 * (p.groups + 1) // at most maxSegGroups+1 groups (Compile)
	var stack [2 * (maxSegGroups + 1)]int
	caps := stack[:n]
	for i := range caps {
		caps[i] = -1
	}
	pos := 0
	for _, it := range p.segs {
		switch {
		case it.run:
			start := pos
			for pos < len(sub) && sub[pos] != '/' {
				pos++
			}
			if pos-start < it.min {
				return nil
			}
			if it.cap > 0 {
				caps[2*it.cap], caps[2*it.cap+1] = start, pos
			}
		case it.lit == "":
			if pos != len(sub) {
				return nil
			}
		case it.fold:
			e, ok := foldPrefix(sub[pos:], it.lit)
			if !ok {
				return nil
			}
			pos += e
		default:
			if len(sub)-pos < len(it.lit) || string(sub[pos:pos+len(it.lit)]) != it.lit {
				return nil
			}
			pos += len(it.lit)
		}
	}
	caps[0], caps[1] = 0, pos
	if cap(dst) < n {
		return append(make([]int, 0, n), caps...)
	}
	return append(dst[:0], caps...)
}

// foldPrefix reports whether s begins with text that matches lit under
// (?i) (rune by rune, the same simple case-folding orbit) and its length.
func foldPrefix(s []byte, lit string) (int, bool) {
	i := 0
	for _, lr := range lit {
		if i >= len(s) {
			return 0, false
		}
		r, w := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRune(s[i:])
		}
		if r != lr && minFold(r) != minFold(lr) {
			return 0, false
		}
		i += w
	}
	return i, true
}
