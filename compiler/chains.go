package compiler

import (
	"fmt"
	"strings"

	"github.com/redirc/redirc/internal/rulekey"
	"github.com/redirc/redirc/internal/urlnorm"
	"github.com/redirc/redirc/shardfmt"
)

const (
	unvisited uint8 = iota
	active
	resolved
)

// hop is one state of chain resolution: a rule as met by a request on a
// given host. A rule's own state (embedded in rule) is on its own host, ""
// for an any-host rule; an any-host rule reached from a host-scoped rule,
// or through an absolute URL, is met on that host and resolves on its own
// (checked.hops), since host-scoped rules on that host may take the next
// hop.
type hop struct {
	r    *rule
	host string // the request's canonical host, "" when unknown
	// query says the request's query string is still carried along the
	// chain: the first rule and every hop so far pass it on (FlagQuery).
	// A rule that passes it on, met where it is no longer carried, may
	// chain further than on its own (through rules that do not).
	query bool
	state uint8
	loop  bool
	next  *hop
	// base is "scheme://host" as written in r's destination when that is
	// an absolute URL through which next was reached: a relative final
	// destination of next is on that site.
	base string
	// final is the destination after chain flattening, on host: relative
	// unless a hop went to another site.
	final string
}

type hopKey struct {
	r     *rule
	host  string
	query bool
}

// flatten points every rule whose destination is itself the source of an
// exact rule on the same site at the end of that chain, and reports loops
// with the whole cycle. A visitor then gets one redirect, not several.
// Each hop is looked up on the site the previous one sent the visitor to:
// the host of an absolute destination, else the host the chain is on. With
// noFlatten the loops are reported but every rule keeps its destination.
func (c *checked) flatten(noFlatten bool) {
	hosts := c.hosts
	if hosts == nil {
		hosts = make(map[string]bool)
	}
	for _, r := range c.rules {
		r.hop.r = r
		r.hop.host = r.host()
		r.hop.query = r.flags&shardfmt.FlagQuery != 0
		if r.hostLen > 0 && c.hosts == nil {
			hosts[r.host()] = true
		}
	}
	var stack []*hop
	for _, start := range c.rules {
		stack = stack[:0]
		for h := &start.hop; h.state != resolved; {
			if h.state == active {
				c.reportLoop(stack, h)
				break
			}
			h.state = active
			stack = append(stack, h)
			n, base := c.target(h, hosts)
			if n == nil {
				break
			}
			h.next, h.base = n, base
			h = n
		}
		// Unwind: each hop takes the final destination of the next one.
		for i := len(stack) - 1; i >= 0; i-- {
			x := stack[i]
			x.state = resolved
			if x.loop || x.next == nil || x.next.loop {
				x.next = nil
				continue
			}
			f := x.next.final
			if x.base != "" && strings.HasPrefix(f, "/") {
				f = x.base + f
			}
			x.final = withFragment(f, x.r.dest)
		}
	}
	if noFlatten {
		for _, r := range c.rules {
			r.final, r.next = r.dest, nil
		}
	}
	c.hops = nil
	for _, r := range c.rules {
		if r.next == nil {
			continue
		}
		ch := Chain{}
		for x := &r.hop; x != nil; x = x.next {
			ch.Hops = append(ch.Hops, c.src(x.r).Pos)
			ch.Path = append(ch.Path, c.src(x.r).Source)
		}
		ch.Path = append(ch.Path, r.final)
		c.chains = append(c.chains, ch)
	}
}

func (c *checked) reportLoop(stack []*hop, at *hop) {
	i := 0
	for stack[i] != at {
		i++
	}
	cycle := stack[i:]
	var b strings.Builder
	for _, x := range cycle {
		x.loop = true
		fmt.Fprintf(&b, "%s (%s) -> ", c.src(x.r).Source, c.src(x.r).Pos)
	}
	b.WriteString(c.src(at.r).Source)
	if at.host != "" && at.r.hostLen == 0 {
		fmt.Fprintf(&b, " (on %s)", at.host)
	}
	c.errorf(c.src(at.r).Pos, "redirect loop: %s", b.String())
}

// withFragment keeps the first rule's #fragment when the chain's final
// destination has none, as a browser following the hops would.
func withFragment(final, first string) string {
	if strings.Contains(final, "#") {
		return final
	}
	if i := strings.IndexByte(first, '#'); i >= 0 {
		return final + first[i:]
	}
	return final
}

// target returns the state of the exact rule that h's destination would
// hit, and the "scheme://host" to resolve its relative destinations against
// when h's destination is an absolute URL, or nil. Destinations with a
// query, prefix rules, 410s and expiring rules are never chained through:
// their outcome depends on the request or on time. Nor is a chain that
// carries the request's query string followed through a rule that would
// drop it.
func (c *checked) target(h *hop, hosts map[string]bool) (_ *hop, base string) {
	r := h.r
	d := r.dest
	if d == "" || r.prefix() || r.exp != 0 {
		return nil, ""
	}
	host := h.host
	if d[0] != '/' {
		i := strings.Index(d, "://")
		rest := d[i+3:]
		hp, p, _ := strings.Cut(rest, "/")
		if j := strings.IndexAny(hp, "?#"); j >= 0 {
			return nil, ""
		}
		host = urlnorm.Host(hp)
		if !hosts[host] {
			return nil, "" // not a site this build is known to serve
		}
		base = d[:i+3+len(hp)]
		d = "/" + p
	}
	if i := strings.IndexByte(d, '#'); i >= 0 {
		d = d[:i]
	}
	if strings.IndexByte(d, '?') >= 0 {
		return nil, ""
	}
	for _, hk := range [2]string{host, ""} {
		for _, kind := range [2]rulekey.Kind{rulekey.ExactCase, rulekey.Exact} {
			if kind == rulekey.ExactCase && !c.caseRules {
				continue
			}
			b, err := rulekey.Append(c.buf[:0], kind, hk, d, c.strict)
			if err != nil {
				continue // a host no rule can have (over 255 bytes)
			}
			c.buf = b
			t, ok := c.byKey[string(b)]
			if !ok && c.missed != nil {
				c.missed(b)
			}
			if ok {
				if c.src(t).Status == 410 || t.exp != 0 {
					return nil, ""
				}
				if h.query && t.flags&shardfmt.FlagQuery == 0 {
					return nil, ""
				}
				return c.hopOn(t, host, h.query), base
			}
		}
		if hk == "" {
			break
		}
	}
	return nil, ""
}

// hopOn returns the state of rule t met by a request on host, carrying
// the query string or not: t's own state when that is t's own host ("" for
// an any-host rule) and t's own query flag, else a state of its own.
func (c *checked) hopOn(t *rule, host string, query bool) *hop {
	if (t.hostLen > 0 || host == "") && query == t.hop.query {
		return &t.hop
	}
	k := hopKey{t, host, query}
	if h, ok := c.hops[k]; ok {
		return h
	}
	if c.hops == nil {
		c.hops = make(map[hopKey]*hop)
	}
	h := &hop{r: t, host: host, query: query, final: t.dest}
	c.hops[k] = h
	return h
}
