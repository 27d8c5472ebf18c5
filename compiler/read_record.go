package compiler

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

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
}

const knownFieldList = "source, destination, permanent, statusCode (or status), caseSensitive (or sensitive), query (or preserveQueryParams), expires"

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
// when only the letter case is off.
func unknownFieldMsg(name string) string {
	if _, canon := lookupFieldFold(name); canon != "" {
		return fmt.Sprintf("unknown field %q (field names are case-sensitive: did you mean %q?)", name, canon)
	}
	return fmt.Sprintf("unknown field %q (known fields: %s)", name, knownFieldList)
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
