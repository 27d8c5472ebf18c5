package compiler

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file holds what the CSV and JSON readers share: the rule fields
// they accept (Vercel's bulk-redirect names and aliases), the record a
// reader fills from one row or object, and finish, the one place where a
// record's status, "permanent" and defaults are resolved into a Rule. The
// readers only turn their syntax into typed values (a CSV cell into a
// boolean, a JSON token into a string); every message about a field's
// value or a missing field comes from here, so the two formats say the
// same thing about the same mistake.

// ruleRecord is one rule's fields as a CSV or JSON reader found them.
type ruleRecord struct {
	line int
	// rule holds Source, Destination, CaseSensitive and Query as given.
	rule Rule
	// expires is the "expires" value as written; "" when absent.
	expires string
	// status is the checked status field; 0 when absent or invalid.
	status int
	// statusName is the status field's spelling ("statusCode" or
	// "status"), for messages.
	statusName string
	// permanent is the "permanent" field; set is false when absent.
	permanent struct{ set, v bool }
	// noSource and noDest are set when the field was given with a value
	// the reader already reported (a JSON number as source, say), so that
	// finish does not also call it missing.
	noSource, noDest bool
	// bad is set once any problem of Error severity has been reported.
	bad bool
	// why lists constructs redirc cannot honour (vercel.json conditions,
	// patterns), reported together by finish.
	why []string
}

// setStatus checks a status field's value as written: the digits of a CSV
// cell or of a JSON number.
func setStatus[T string | []byte](m *manifestReader, rec *ruleRecord, name string, v T) {
	rec.statusName = name
	code, ok := parseStatusCode(v)
	switch {
	case !ok:
		m.errorf(rec.line, "invalid %s %q: want a number, one of %s", name, v, redirectStatusList)
		rec.bad = true
	case !redirectStatus(code):
		m.errorf(rec.line, "%s %d is not one of %s", name, code, redirectStatusList)
		rec.bad = true
	default:
		rec.status = code
	}
}

// setFlag records a boolean field: permanent, caseSensitive or query.
func (rec *ruleRecord) setFlag(f ruleField, v bool) {
	switch f {
	case fieldPermanent:
		rec.permanent.set, rec.permanent.v = true, v
	case fieldCaseSensitive:
		rec.rule.CaseSensitive = v
	case fieldQuery:
		rec.rule.Query = v
	case fieldForce:
		rec.rule.Unforced = !v
	}
}

// finish resolves a record into a Rule and adds it, or reports why not.
// vercel selects vercel.json rules: path-to-regexp sources, "permanent"
// defaulting to true, and a status and "permanent" exclusive.
//
// The status is, in order: the status field; 308 or 307 by "permanent";
// ReadOptions.DefaultStatus; the format's default (307 for bulk-redirect
// CSV, JSON and JSONL, as Vercel does; 308 in vercel.json).
func (m *manifestReader) finish(rec *ruleRecord, vercel bool) {
	r := rec.rule
	line := rec.line
	if rec.expires != "" {
		t, err := parseExpires(rec.expires)
		if err != nil {
			m.errorf(line, "%v", err)
			rec.bad = true
		}
		r.Expires = t
	}
	switch {
	case rec.status != 0 && rec.permanent.set && vercel:
		m.errorf(line, "%s and permanent cannot both be set in vercel.json", rec.statusName)
		rec.bad = true
	case rec.status != 0:
		r.Status = rec.status
	case rec.permanent.set && rec.permanent.v:
		r.Status = 308
	case rec.permanent.set:
		r.Status = 307
	case vercel:
		r.Status = m.defaultStatus(308)
	default:
		r.Status = m.defaultStatus(307)
	}
	if r.Source == "" && !rec.noSource {
		m.errorf(line, "missing source")
		rec.bad = true
	}
	if r.Destination == "" && r.Status != 410 && !rec.noDest {
		m.errorf(line, "missing destination")
		rec.bad = true
	}
	if vercel {
		// path-to-regexp, first match in file order, "/a" and "/a/"
		// different (internal/pattern.PathToRegexp).
		r.Syntax = SyntaxPathToRegexp
	}
	if len(rec.why) > 0 {
		m.unsupported(line, strings.Join(rec.why, "; "))
		rec.bad = true
	}
	if rec.bad {
		return
	}
	if !vercel {
		m.literalPatternHint(line, r.Source)
	}
	r.Pos = Pos{File: m.name, Line: line}
	m.add(r)
}

// defaultStatus is the status of a rule that gives neither a status nor
// "permanent", in a format whose own default is def.
func (m *manifestReader) defaultStatus(def int) int {
	if m.opt.DefaultStatus != 0 {
		return m.opt.DefaultStatus
	}
	return def
}

// redirectStatus reports whether redirc serves the status.
func redirectStatus(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308, 410:
		return true
	}
	return false
}

const redirectStatusList = "301, 302, 303, 307, 308 or 410"

// parseStatusCode parses a decimal status of 1 to 3 digits.
func parseStatusCode[T string | []byte](s T) (int, bool) {
	if len(s) == 0 || len(s) > 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// ruleField identifies a rule field by its canonical name.
type ruleField uint8

const (
	fieldUnknown ruleField = iota
	fieldSource
	fieldDestination
	fieldPermanent
	fieldStatus
	fieldCaseSensitive
	fieldQuery
	fieldExpires
	fieldForce   // false: Rule.Unforced (as Netlify's force)
	fieldHas     // vercel.json condition, unsupported
	fieldMissing // vercel.json condition, unsupported
	numRuleFields
)

// ruleFieldNames lists the accepted field names; aliases follow their
// canonical name (Vercel's docs, CLI and SDKs use both spellings).
var ruleFieldNames = []struct {
	name  string
	field ruleField
}{
	{"source", fieldSource},
	{"destination", fieldDestination},
	{"permanent", fieldPermanent},
	{"statusCode", fieldStatus},
	{"status", fieldStatus},
	{"caseSensitive", fieldCaseSensitive},
	{"sensitive", fieldCaseSensitive},
	{"query", fieldQuery},
	{"preserveQueryParams", fieldQuery},
	{"expires", fieldExpires},
	{"force", fieldForce},
}

const knownFieldList = "source, destination, permanent, statusCode (or status), caseSensitive (or sensitive), query (or preserveQueryParams), expires, force"

// lookupField finds a field by its exact name, returning the name as a
// constant string.
func lookupField(name []byte) (ruleField, string) {
	switch string(name) { // no allocation: the compiler compares in place
	case "source":
		return fieldSource, "source"
	case "destination":
		return fieldDestination, "destination"
	case "permanent":
		return fieldPermanent, "permanent"
	case "statusCode":
		return fieldStatus, "statusCode"
	case "status":
		return fieldStatus, "status"
	case "caseSensitive":
		return fieldCaseSensitive, "caseSensitive"
	case "sensitive":
		return fieldCaseSensitive, "sensitive"
	case "query":
		return fieldQuery, "query"
	case "preserveQueryParams":
		return fieldQuery, "preserveQueryParams"
	case "expires":
		return fieldExpires, "expires"
	case "force":
		return fieldForce, "force"
	}
	return fieldUnknown, ""
}

// lookupFieldFold finds a field ignoring case and returns its canonical
// spelling too.
func lookupFieldFold(name string) (ruleField, string) {
	for _, f := range ruleFieldNames {
		if strings.EqualFold(f.name, name) {
			return f.field, f.name
		}
	}
	return fieldUnknown, ""
}

// unknownFieldMsg describes an unknown field, suggesting the intended name
// when only the letter case is off or the name is a near miss.
func unknownFieldMsg(name string) string {
	if _, canon := lookupFieldFold(name); canon != "" {
		return fmt.Sprintf("unknown field %q (field names are case-sensitive: did you mean %q?)", name, canon)
	}
	if s := suggestField(name); s != "" {
		return fmt.Sprintf("unknown field %q (did you mean %q? known fields: %s)", name, s, knownFieldList)
	}
	return fmt.Sprintf("unknown field %q (known fields: %s)", name, knownFieldList)
}

// suggestedField is the field unknownFieldMsg suggests for name, or
// fieldUnknown: a reader that reported the misspelling does not also call
// the field missing.
func suggestedField(name string) ruleField {
	if f, _ := lookupFieldFold(name); f != fieldUnknown {
		return f
	}
	f, _ := lookupFieldFold(suggestField(name))
	return f
}

// suggestField returns the accepted field name closest to a misspelled
// one ("destinaton" -> "destination"), or "" when none is close: at most
// two edits (insertions, deletions, substitutions or swaps of adjacent
// letters, ignoring case), and fewer than half the letters of the name.
func suggestField(name string) string {
	best, bestD := "", 3
	lower := strings.ToLower(name)
	for _, f := range ruleFieldNames {
		d := editDistance(lower, strings.ToLower(f.name))
		if d < bestD && 2*d < len(f.name) {
			best, bestD = f.name, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// the number of single-byte insertions, deletions, substitutions and
// adjacent transpositions that turn one into the other.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 { // field names are short; do not spend time on long junk
		return max(len(a), len(b))
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// parseBool parses a CSV boolean: t, f, true or false in any case.
func parseBool(s string) (v, ok bool) {
	switch len(s) {
	case 1:
		switch s[0] {
		case 't', 'T':
			return true, true
		case 'f', 'F':
			return false, true
		}
	case 4:
		return true, strings.EqualFold(s, "true")
	case 5:
		return false, strings.EqualFold(s, "false")
	}
	return false, false
}

// parseExpires parses an RFC 3339 time.
func parseExpires(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid expires %s: want an RFC 3339 time like 2030-01-31T00:00:00Z", strconv.Quote(s))
	}
	return t, nil
}
