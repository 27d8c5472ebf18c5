// Package shorten assigns short codes to long URLs for `redirc shorten`
// and keeps them in a state file, the source of truth from which it
// writes a redirect manifest that `redirc build` compiles.
//
// # Codes
//
// Hash codes (the default) are digits of a keyed xxhash64 of the URL (see
// HashKey) in an alphabet without confusable characters (DefaultAlphabet),
// at least Options.Length long and lengthened one character at a time only
// when the shorter code is taken. A code that contains a blocked word is
// skipped for the next variant of the same length (digits of other hash
// blocks), since a longer code would keep the word. A URL's code
// depends only on the URL and on the codes already in the state, so two
// branches that each add links pick the same codes as one run over both
// inputs would (barring a collision between the two branches' own new
// links, which the build then reports as a duplicate source), and the
// order of input rows never matters: new URLs are coded in byte order.
//
// Counter codes are a counter written in the alphabet. With a Writer name
// and Reserve > 0, each writer draws from blocks of Reserve values recorded
// in the state, so parallel writers never draw the same value.
//
// Aliases are codes chosen by people (see ValidateAlias); an active
// alias may point to a new URL (an edit), but a retired one is never given
// to another URL.
//
// # Rules kept by the state
//
//   - A code is never reassigned to another URL (aliases may be edited
//     while active).
//   - A URL that has a generated code keeps it, also after it was gone.
//   - A link removed from the input stays in the state as gone; its
//     manifest row answers 410 Gone and its code is never reused.
//   - Running twice on the same input changes nothing: same bytes.
//
// Every rule in the manifest is case-sensitive (codes use both cases).
package shorten

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Codes names how codes are generated.
type Codes string

// The code generators.
const (
	CodesHash    Codes = "hash"
	CodesCounter Codes = "counter"
)

// Options configures Apply. The zero value generates hash codes of
// DefaultLength in DefaultAlphabet that answer 302.
type Options struct {
	Codes    Codes    // "" means CodesHash
	Alphabet Alphabet // zero: DefaultAlphabet
	Length   int      // minimum code length; 0 means DefaultLength
	Status   int      // status of links whose row gives none; 0 means 302
	// Host, if set, scopes every rule to that host ("sho.rt/abc").
	Host string
	// Writer and Reserve make counter codes come from blocks of Reserve
	// values reserved in the state for Writer.
	Writer  string
	Reserve uint64
	// Blocklist holds words generated codes never contain.
	Blocklist *Blocklist
}

// Result summarizes what Apply changed.
type Result struct {
	Added   []Link // new codes
	Changed []Link // active links whose URL, status, expiry or tags changed
	Revived []Link // gone links back in the input
	Retired []Link // links that left the input (now gone)
	Active  int    // active links after the run
	Gone    int    // gone links after the run
}

func (o *Options) defaults() error {
	if o.Codes == "" {
		o.Codes = CodesHash
	}
	if o.Codes != CodesHash && o.Codes != CodesCounter {
		return fmt.Errorf("codes %q: want hash or counter", o.Codes)
	}
	if o.Alphabet.chars == "" {
		o.Alphabet = Alphabet{chars: DefaultAlphabet}
	}
	if o.Length == 0 {
		o.Length = DefaultLength
	}
	if o.Length < 1 || o.Length > MaxCodeLength {
		return fmt.Errorf("length %d: want 1 to %d", o.Length, MaxCodeLength)
	}
	if o.Status == 0 {
		o.Status = 302
	}
	if !validStatus(o.Status) {
		return fmt.Errorf("status %d: want 301, 302, 303, 307 or 308", o.Status)
	}
	if o.Reserve > 0 && o.Writer == "" {
		return fmt.Errorf("reserve needs a writer name")
	}
	if strings.ContainsAny(o.Writer, " \t\r\n#,") {
		return fmt.Errorf("writer %q: no spaces, '#' or ','", o.Writer)
	}
	return nil
}

// Apply brings st up to date with rows: it gives every new URL and alias a
// code, updates the status, expiry and tags of links in the input, and
// marks links no longer in the input as gone. If any row is refused it
// returns a ProblemsError listing every refusal with file:line, and st is
// unchanged.
func Apply(st *State, rows []Row, opt Options) (Result, error) {
	if err := opt.defaults(); err != nil {
		return Result{}, err
	}
	var probs []Problem
	bad := func(p Pos, format string, args ...any) {
		probs = append(probs, Problem{p, fmt.Sprintf(format, args...)})
	}
	byCode := make(map[string]int, len(st.Links))
	byURL := map[string]int{} // generated (non-alias) code per URL; active ones preferred
	for i, l := range st.Links {
		byCode[l.Code] = i
		if l.Origin == OriginAlias {
			continue
		}
		if j, ok := byURL[l.URL]; !ok || st.Links[j].Gone && !l.Gone || st.Links[j].Gone == l.Gone && l.Code < st.Links[j].Code {
			byURL[l.URL] = i
		}
	}

	// Collect what the input wants: one entry per code (aliases) and per
	// URL (generated codes). Duplicates must agree.
	type want struct {
		row Row
	}
	aliases := map[string]want{}
	urls := map[string]want{}
	same := func(a, b Row) bool {
		return a.URL == b.URL && a.Status == b.Status && a.Expires == b.Expires && a.Tags == b.Tags
	}
	for _, r := range rows {
		if r.Alias != "" {
			if w, ok := aliases[r.Alias]; ok {
				if !same(w.row, r) {
					bad(r.Pos, "alias %q is also given at %s with a different url, status, expires or tags", r.Alias, w.row.Pos)
				}
				continue
			}
			if w := opt.Blocklist.Segment(r.Alias); w != "" {
				bad(r.Pos, "alias %q contains the blocked word %q", r.Alias, w)
				continue
			}
			if i, ok := byCode[r.Alias]; ok {
				l := st.Links[i]
				switch {
				case l.Origin != OriginAlias:
					bad(r.Pos, "alias %q is already taken: it is the %s code of %s", r.Alias, l.Origin, l.URL)
					continue
				case l.Gone && l.URL != r.URL:
					bad(r.Pos, "alias %q was retired (gone) from %s; a retired code is never given to another url", r.Alias, l.URL)
					continue
				}
			}
			aliases[r.Alias] = want{r}
			continue
		}
		if w, ok := urls[r.URL]; ok {
			if !same(w.row, r) {
				bad(r.Pos, "url %s is also given at %s with a different status, expires or tags", r.URL, w.row.Pos)
			}
			continue
		}
		urls[r.URL] = want{r}
	}
	if len(probs) > 0 {
		return Result{}, ProblemsError(probs)
	}

	// From here on nothing can be refused; work on a copy so that an
	// internal error leaves st as it was.
	next := &State{Links: slices.Clone(st.Links), Next: st.Next, Blocks: slices.Clone(st.Blocks)}
	var res Result
	active := make([]bool, len(next.Links))
	update := func(i int, r Row, url string) {
		l := &next.Links[i]
		status := r.Status
		if status == 0 {
			status = opt.Status
		}
		changed := l.URL != url || l.Status != status || l.Expires != r.Expires || l.Tags != r.Tags
		l.URL, l.Status, l.Expires, l.Tags = url, status, r.Expires, r.Tags
		switch {
		case l.Gone:
			l.Gone = false
			res.Revived = append(res.Revived, *l)
		case changed:
			res.Changed = append(res.Changed, *l)
		}
		active[i] = true
	}
	add := func(code string, r Row, origin Origin, n uint64) {
		status := r.Status
		if status == 0 {
			status = opt.Status
		}
		l := Link{Code: code, URL: r.URL, Status: status, Expires: r.Expires, Tags: r.Tags, Origin: origin, Counter: n}
		byCode[code] = len(next.Links)
		next.Links = append(next.Links, l)
		active = append(active, true)
		res.Added = append(res.Added, l)
	}

	// Aliases first: they are chosen, so generated codes step around them.
	for _, a := range sortedKeys(aliases) {
		r := aliases[a].row
		if i, ok := byCode[a]; ok {
			update(i, r, r.URL)
		} else {
			add(a, r, OriginAlias, 0)
		}
	}
	// URLs that already have a generated code keep it.
	var fresh []string
	for _, u := range sortedKeys(urls) {
		if i, ok := byURL[u]; ok {
			update(i, urls[u].row, u)
		} else {
			fresh = append(fresh, u)
		}
	}
	taken := func(code string) bool {
		_, ok := byCode[code]
		return ok || ValidateAlias(code) != nil // reserved names such as robots.txt are never generated
	}
	var dr *drawer
	for _, u := range fresh {
		r := urls[u].row
		switch opt.Codes {
		case CodesHash:
			code := ""
		lengths:
			for n := opt.Length; n <= MaxCodeLength; n++ {
				for v := range uint64(maxVariants) {
					c := opt.Alphabet.hashCode(u, n, v)
					if opt.Blocklist.Contains(c) != "" {
						continue // another variant of the same length
					}
					if taken(c) {
						continue lengths // a collision: one character longer
					}
					code = c
					break lengths
				}
			}
			if code == "" {
				return Result{}, fmt.Errorf("%s: no free hash code of up to %d characters for %s (is the blocklist too broad?)", r.Pos, MaxCodeLength, u)
			}
			add(code, r, OriginHash, 0)
		case CodesCounter:
			if dr == nil {
				dr = newDrawer(next, opt)
			}
			for tries := 0; ; tries++ {
				if tries > 1<<20 {
					return Result{}, fmt.Errorf("%s: no free counter code after %d tries (is the blocklist too broad?)", r.Pos, tries)
				}
				n := dr.draw()
				c := opt.Alphabet.CounterCode(n, opt.Length)
				if !taken(c) && opt.Blocklist.Contains(c) == "" {
					add(c, r, OriginCounter, n)
					break
				}
			}
		}
	}
	for i := range next.Links {
		l := &next.Links[i]
		if !active[i] && !l.Gone {
			l.Gone = true
			res.Retired = append(res.Retired, *l)
		}
		if l.Gone {
			res.Gone++
		} else {
			res.Active++
		}
	}
	slices.SortFunc(next.Links, func(x, y Link) int { return strings.Compare(x.Code, y.Code) })
	*st = *next
	return res, nil
}

// maxVariants bounds the variants of one length tried when codes contain
// blocked words.
const maxVariants = 64

// drawer hands out counter values for one run of Apply.
type drawer struct {
	st     *State
	opt    Options
	used   map[uint64]bool // counter values of existing codes and values drawn in this run
	cursor map[int]uint64  // next candidate in each of the writer's blocks
}

func newDrawer(st *State, opt Options) *drawer {
	d := &drawer{st: st, opt: opt, used: map[uint64]bool{}, cursor: map[int]uint64{}}
	for _, l := range st.Links {
		if l.Origin == OriginCounter {
			d.used[l.Counter] = true
		}
	}
	return d
}

// draw takes the next counter value: from the writer's reserved blocks
// when opt.Writer is set (reserving a new block of opt.Reserve values when
// they are used up), else the next value outside every block.
func (d *drawer) draw() uint64 {
	st := d.st
	if d.opt.Writer != "" {
		for i, b := range st.Blocks {
			if b.Writer != d.opt.Writer {
				continue
			}
			n, ok := d.cursor[i]
			if !ok {
				n = b.First
			}
			for ; n <= b.Last && n >= b.First; n++ {
				if !d.used[n] {
					d.used[n] = true
					d.cursor[i] = n + 1
					return n
				}
			}
			d.cursor[i] = n
		}
		size := d.opt.Reserve
		if size == 0 {
			size = DefaultReserve
		}
		st.Blocks = append(st.Blocks, Block{Writer: d.opt.Writer, First: st.Next, Last: st.Next + size - 1})
		st.Next += size
		return d.draw()
	}
	for {
		n := st.Next
		st.Next++
		if !st.inBlock(n) && !d.used[n] {
			d.used[n] = true
			return n
		}
	}
}

// DefaultReserve is the block size a writer reserves when Options.Reserve
// is 0.
const DefaultReserve = 1000

func (st *State) inBlock(n uint64) bool {
	for _, b := range st.Blocks {
		if n >= b.First && n <= b.Last {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Manifest returns the redirect manifest for st: a CSV that `redirc build`
// compiles, with one case-sensitive rule per code, sorted by code. Active
// links redirect to their URL with their status (and expiry); gone links
// answer 410 Gone.
func Manifest(st *State, host string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"source", "destination", "statusCode", "caseSensitive", "expires"})
	links := slices.Clone(st.Links)
	slices.SortFunc(links, func(x, y Link) int { return strings.Compare(x.Code, y.Code) })
	for _, l := range links {
		src := "/" + l.Code
		if host != "" {
			src = host + src
		}
		if l.Gone {
			w.Write([]string{src, "", "410", "true", ""})
			continue
		}
		w.Write([]string{src, l.URL, strconv.Itoa(l.Status), "true", l.Expires})
	}
	w.Flush()
	return b.Bytes()
}
