// Package synth generates deterministic synthetic pattern rules for
// benchmarks and cmd/redirc-synth: Kong-like Netlify placeholder rules
// ("/product17/:version/install/linux-3/" style) and nginx-like regex
// rules ("^/product17/([^/]+)/page-9\.html$"). The same seed gives the same
// rules.
package synth

import (
	"fmt"
	"math/rand/v2"
)

var (
	products = []string{"gateway", "mesh", "konnect", "insomnia", "deck", "kic", "dev-portal", "plugins", "hub", "ai"}
	pages    = []string{"install", "upgrade", "admin-api", "reference", "how-to", "plugins", "config", "deploy", "faq", "release-notes"}
)

// Rule is one generated rule.
type Rule struct {
	Source, Destination string
}

// Kong returns n Netlify-syntax placeholder rules: a literal product
// segment (one of n/100 products), a ":version" placeholder, then one or
// two literal segments, some with a ":os" placeholder or a final "*".
func Kong(n int, seed uint64) []Rule {
	rng := rand.New(rand.NewPCG(seed, 0xc0ffee))
	out := make([]Rule, n)
	for i := range out {
		prod := fmt.Sprintf("%s-%d", products[rng.IntN(len(products))], i/100)
		page := fmt.Sprintf("%s-%d", pages[rng.IntN(len(pages))], i%100)
		switch rng.IntN(4) {
		case 0:
			out[i] = Rule{"/" + prod + "/:version/" + page + "/:os/", "/" + prod + "/:version/new-" + page + "/:os/"}
		case 1:
			out[i] = Rule{"/" + prod + "/:version/" + page + "/*", "/" + prod + "/latest/" + page + "/:splat"}
		default:
			out[i] = Rule{"/" + prod + "/:version/" + page + "/", "/" + prod + "/:version/" + page + "-moved/"}
		}
	}
	return out
}

// KongPath returns a request path that rule i of Kong(n, seed) matches.
func KongPath(r Rule) string {
	b := []byte(r.Source)
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == ':':
			j := i + 1
			for j < len(b) && b[j] != '/' {
				j++
			}
			out = append(out, "3.9"...)
			i = j - 1
		case b[i] == '*':
			out = append(out, "a/b"...)
		default:
			out = append(out, b[i])
		}
	}
	return string(out)
}

// Nginx returns n nginx-like regex rules: anchored, a literal product
// prefix, a capture and a literal page.
func Nginx(n int, seed uint64) []Rule {
	rng := rand.New(rand.NewPCG(seed, 0xbeef))
	out := make([]Rule, n)
	for i := range out {
		prod := fmt.Sprintf("%s-%d", products[rng.IntN(len(products))], i/100)
		page := fmt.Sprintf("%s-%d", pages[rng.IntN(len(pages))], i%100)
		out[i] = Rule{fmt.Sprintf(`^/%s/([^/]+)/%s\.html$`, prod, page), fmt.Sprintf("/%s/$1/%s/", prod, page)}
	}
	return out
}

// NginxPath returns a request path that an Nginx rule matches.
func NginxPath(r Rule) string {
	s := r.Source[1 : len(r.Source)-1] // strip ^ and $
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
			out = append(out, s[i])
		case s[i] == '(':
			for s[i] != ')' {
				i++
			}
			out = append(out, "v2"...)
		default:
			out = append(out, s[i])
		}
	}
	return string(out)
}
