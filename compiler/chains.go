package compiler

import (
	"fmt"
	"strings"

	"github.com/redirc/redirc/internal/rulekey"
	"github.com/redirc/redirc/internal/urlnorm"
)

const (
	unvisited uint8 = iota
	active
	resolved
)

// flatten points every rule whose destination is itself the source of an
// exact rule on the same site at the end of that chain, and reports loops
// with the whole cycle. A visitor then gets one redirect, not several.
func (c *checked) flatten() {
	hosts := make(map[string]bool)
	for _, r := range c.rules {
		if r.hostLen > 0 {
			hosts[r.host()] = true
		}
	}
	var stack []*rule
	for _, start := range c.rules {
		stack = stack[:0]
		for r := start; r.state != resolved; {
			if r.state == active {
				c.reportLoop(stack, r)
				break
			}
			r.state = active
			stack = append(stack, r)
			n := c.target(r, hosts)
			if n == nil {
				break
			}
			r.next = n
			r = n
		}
		// Unwind: each rule takes the final destination of the next one.
		for i := len(stack) - 1; i >= 0; i-- {
			x := stack[i]
			x.state = resolved
			if x.loop || x.next == nil || x.next.loop {
				x.next = nil
				continue
			}
			x.final = withFragment(x.next.final, x.dest)
		}
	}
	for _, r := range c.rules {
		if r.next == nil {
			continue
		}
		ch := Chain{}
		for x := r; x != nil; x = x.next {
			ch.Hops = append(ch.Hops, c.src(x).Pos)
			ch.Path = append(ch.Path, c.src(x).Source)
		}
		ch.Path = append(ch.Path, r.final)
		c.chains = append(c.chains, ch)
	}
}

func (c *checked) reportLoop(stack []*rule, at *rule) {
	i := 0
	for stack[i] != at {
		i++
	}
	cycle := stack[i:]
	var b strings.Builder
	for _, x := range cycle {
		x.loop = true
		fmt.Fprintf(&b, "%s (%s) -> ", c.src(x).Source, c.src(x).Pos)
	}
	b.WriteString(c.src(at).Source)
	c.errorf(c.src(at).Pos, "redirect loop: %s", b.String())
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

// target returns the exact rule that r's destination would hit on the same
// site, or nil. Destinations with a query, prefix rules, 410s and expiring
// rules are never chained through: their outcome depends on the request or
// on time.
func (c *checked) target(r *rule, hosts map[string]bool) *rule {
	d := r.dest
	if d == "" || r.prefix() || r.exp != 0 {
		return nil
	}
	host := r.host()
	if d[0] != '/' {
		_, rest, _ := strings.Cut(d, "://")
		h, p, _ := strings.Cut(rest, "/")
		if j := strings.IndexAny(h, "?#"); j >= 0 {
			return nil
		}
		host = urlnorm.Host(h)
		if !hosts[host] {
			return nil // not a site this build is known to serve
		}
		d = "/" + p
	}
	if i := strings.IndexByte(d, '#'); i >= 0 {
		d = d[:i]
	}
	if strings.IndexByte(d, '?') >= 0 {
		return nil
	}
	for _, h := range [2]string{host, ""} {
		for _, kind := range [2]rulekey.Kind{rulekey.ExactCase, rulekey.Exact} {
			if kind == rulekey.ExactCase && !c.caseRules {
				continue
			}
			b, err := rulekey.Append(c.buf[:0], kind, h, d, c.strict)
			if err != nil {
				continue // a host no rule can have (over 255 bytes)
			}
			c.buf = b
			if t, ok := c.byKey[string(b)]; ok {
				if c.src(t).Status == 410 || t.exp != 0 {
					return nil
				}
				return t
			}
		}
		if h == "" {
			break
		}
	}
	return nil
}
