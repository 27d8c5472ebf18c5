package compiler

import (
	"strings"

	"github.com/redirc/redirc/internal/urlnorm"
)

// Reserved is a path that the program serving the build answers itself,
// so that a rule there would never be served. The compiler warns about
// such rules; it keeps them in the build.
type Reserved struct {
	// Path is the reserved path, such as "/.redirc/healthz". It is
	// compared as rules are: percent-encoding normalized, case ignored, a
	// trailing "/" ignored.
	Path string
	// Prefix reserves every path under Path too.
	Prefix bool
	// Why completes the warning "SOURCE is under PATH/, where WHY" (or
	// "SOURCE matches PATH, where WHY"), such as "the server answers
	// health checks itself".
	Why string
}

// normReserved returns rs with each Path in canonical form (see
// urlnorm.AppendPath, folded) and without trailing slashes, the form
// reservedAt compares.
func normReserved(rs []Reserved) []Reserved {
	if len(rs) == 0 {
		return nil
	}
	out := make([]Reserved, len(rs))
	for i, r := range rs {
		r.Path = strings.TrimRight(urlnorm.Path(r.Path, true), "/")
		out[i] = r
	}
	return out
}

// warnReserved warns when a rule's path, as in its key (the prefix
// without "/*" for a prefix rule), is a reserved path or, for a Prefix
// one, under it. A prefix rule that merely covers a reserved path, such
// as "/*", is not reported: a catch-all is common and the server's own
// paths are a small exception to it. rs must come from normReserved.
func warnReserved(probs *[]Problem, in *Rule, path string, rs []Reserved) {
	for _, r := range rs {
		if len(path) < len(r.Path) || !strings.EqualFold(path[:len(r.Path)], r.Path) {
			continue
		}
		switch rest := path[len(r.Path):]; {
		case r.Prefix && (rest == "" || rest[0] == '/'):
			warnf(probs, in.Pos, "%s is under %s/, where %s", in.Source, r.Path, r.Why)
		case rest == "" || rest == "/":
			warnf(probs, in.Pos, "%s matches %s, where %s", in.Source, orSlash(r.Path), r.Why)
		default:
			continue
		}
		return
	}
}

func orSlash(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
