package compiler

import (
	"fmt"
	"time"
)

// Pos names a place in a manifest: the file as given on the command line
// and a 1-based line number (0 when the format has no lines to speak of).
type Pos struct {
	File string
	Line int
}

// String formats the position as file:line, the form editors and CI
// annotations understand.
func (p Pos) String() string {
	if p.Line <= 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Rule is one redirect rule as written in a manifest, before normalization
// and validation. Readers fill it; the compiler checks and compiles it.
type Rule struct {
	// Source is the matched path as written: "/path", "host/path" or
	// "https://host/path"; a trailing "/*" makes it a prefix rule.
	Source string
	// Destination is an absolute http(s) URL or a path beginning with "/";
	// ":splat" receives what a prefix rule matched. Empty only with 410.
	Destination string
	// Status is the HTTP status (301, 302, 303, 307, 308 or 410). Readers
	// resolve format defaults and "permanent" before handing rules over,
	// so a Rule always carries a status; 0 means "unset" and is an error.
	Status int
	// CaseSensitive makes the path match case-sensitively.
	CaseSensitive bool
	// Query appends the request's query string to the destination.
	Query bool
	// Unforced makes the rule yield to a file at the request path, as a
	// Netlify rule written without "!" does: a server that also serves a
	// static directory (redirc serve --fallback DIR) serves the file
	// instead. Lookups are unchanged (shardfmt.FlagUnforced).
	Unforced bool
	// Expires, when not zero, is the time after which the rule answers
	// 410 Gone.
	Expires time.Time
	// Pos is where the rule was written.
	Pos Pos
	// FirstMatch is set by readers of formats whose platform applies rules
	// in file order (Netlify, and every importer of an ordered format):
	// the rule is part of its file's ordered list, where the first rule
	// that matches answers (ranked by Order, then file order). A rule is
	// in an ordered list when FirstMatch is set, Order is not zero or
	// Syntax is a pattern; other rules keep the bulk precedence. Importers
	// should set it on every rule of an ordered format, exact ones too.
	FirstMatch bool
	// Syntax says how Source is matched: a plain path or "/*" prefix (the
	// zero value), or a pattern. Pattern rules keep their platform's order
	// semantics (see FirstMatch and Order).
	Syntax Syntax
	// QueryMatch, for pattern formats that match on the query string (Netlify's
	// "/store id=:id"), lists the parameters a request must carry; a
	// Value beginning with ':' captures the parameter's value under that
	// name. Empty means the query string is not matched.
	QueryMatch []QueryParam
	// Order, when not zero, ranks rules of one ordered list (an importer's
	// output, where file order alone does not give the platform's
	// precedence, such as nginx's location rules): within the same file,
	// a lower Order is tried first. Zero means file order.
	Order int
	// Host, for pattern rules whose Source cannot carry a host (a
	// SyntaxRegex expression), scopes the rule to one host, as a host
	// written in Source does; "" is any host. Only pattern rules may set
	// it.
	Host string
	// Pass marks an ordered pattern rule that, when it is the first to
	// match, answers "no redirect" (the request goes on to whatever serves
	// the site): an nginx location that does not redirect, an Apache
	// "RewriteRule PATTERN - [L]", or the catch-all that keeps a
	// host-scoped nginx server from falling through to the default
	// server's rules. Status is 0 and Destination empty. (The pattern
	// tier does not compile Pass rules yet.)
	Pass bool
}

// Syntax names the pattern language of a Rule's Source.
type Syntax uint8

const (
	// SyntaxPath is an exact path, or a prefix rule ending in "/*".
	SyntaxPath Syntax = iota
	// SyntaxNetlify is Netlify's: ":name" matches one whole path
	// segment, "*" matches the rest of the path (also inside a segment,
	// as in "/docs/kubectl_*"); the destination uses ":name" and
	// ":splat".
	SyntaxNetlify
	// SyntaxPathToRegexp is Vercel's path-to-regexp: ":name", ":name*",
	// ":name+", ":name?", ":name(a|b)", "{…}" optional groups and raw
	// "(…)" groups; the destination uses ":name" (and "$1" for unnamed
	// groups).
	SyntaxPathToRegexp
	// SyntaxRegex is an RE2 regular expression (nginx "~"/"~*",
	// rewrite, Apache RedirectMatch/RewriteRule) matched against the
	// request path percent-decoded, as nginx's $uri and Apache's
	// URL-path are; it is not anchored unless it anchors itself. The
	// destination refers to captures as "$1".."$9" and "$name" (as the
	// pattern tier reads them), "$$" is a "$"; importers also emit "${0}"
	// for the whole match and "${host}" for the request's host (lower
	// case, without port: nginx's $host; importers refuse it as a capture
	// name), which the pattern tier does not compile yet.
	// CaseSensitive false matches case-insensitively (nginx "~*", Apache
	// [NC]).
	SyntaxRegex
)

// String returns the syntax's name as used in messages.
func (s Syntax) String() string {
	switch s {
	case SyntaxPath:
		return "path"
	case SyntaxNetlify:
		return "netlify"
	case SyntaxPathToRegexp:
		return "path-to-regexp"
	case SyntaxRegex:
		return "regex"
	}
	return fmt.Sprintf("Syntax(%d)", s)
}

// QueryParam is one query-string condition of a pattern rule.
type QueryParam struct {
	Key   string
	Value string // ":name" captures; otherwise the value must be equal
}

// Severity says whether a Problem fails the build.
type Severity int

const (
	// Error problems fail the build (and `redirc check`).
	Error Severity = iota
	// Warning problems are reported but the build goes on.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Problem is one finding about a manifest, always tied to a place.
type Problem struct {
	Pos      Pos
	Severity Severity
	// Msg says what is wrong. It names no option: see Hint.
	Msg string
	// Hint, when not NoHint, is the option that would change the outcome
	// (a limit to raise, a format to name); Message appends it to Msg.
	Hint Hint
}

// Message returns Msg followed by the hint, if any, in parentheses, with
// the hint's option named name(p.Hint.Option()); a nil name uses the
// option's field name ("MaxLineBytes").
func (p Problem) Message(name func(Option) string) string {
	if p.Hint == NoHint {
		return p.Msg
	}
	return p.Msg + " (" + p.Hint.text(optionName(name)(p.Hint.Option())) + ")"
}

// String formats the problem as "file:line: severity: message", naming
// options by their field names.
func (p Problem) String() string {
	return fmt.Sprintf("%s: %s: %s", p.Pos, p.Severity, p.Message(nil))
}
