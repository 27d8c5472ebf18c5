package compiler

import (
	"fmt"
	"strconv"
)

// Option names a field of ReadOptions or Options that a Problem's Hint or
// a LimitError refers to. Messages from this package name options by
// their field names ("MaxLineBytes"); a program that sets them some other
// way renders the same messages with its own names through
// Problem.Message and LimitError.Message (the redirc command prints its
// flags, "--max-line-bytes").
type Option uint8

// The options messages refer to.
const (
	// NoOption is the Option of a Hint that names none.
	NoOption Option = iota
	// OptionFormat is ReadOptions.Format.
	OptionFormat
	// OptionMaxLineBytes is ReadOptions.MaxLineBytes.
	OptionMaxLineBytes
	// OptionMaxInputBytes is ReadOptions.MaxInputBytes.
	OptionMaxInputBytes
	// OptionMaxSourceBytes is Options.MaxSourceBytes.
	OptionMaxSourceBytes
	// OptionMaxDestBytes is Options.MaxDestBytes.
	OptionMaxDestBytes
	// OptionStrictTrailingSlash is Options.StrictTrailingSlash.
	OptionStrictTrailingSlash
	// OptionAllowEmpty is Options.AllowEmpty.
	OptionAllowEmpty
)

var optionNames = [...]string{
	NoOption:                  "",
	OptionFormat:              "Format",
	OptionMaxLineBytes:        "MaxLineBytes",
	OptionMaxInputBytes:       "MaxInputBytes",
	OptionMaxSourceBytes:      "MaxSourceBytes",
	OptionMaxDestBytes:        "MaxDestBytes",
	OptionStrictTrailingSlash: "StrictTrailingSlash",
	OptionAllowEmpty:          "AllowEmpty",
}

// String returns the option's field name in ReadOptions or Options, such
// as "MaxLineBytes".
func (o Option) String() string {
	if int(o) < len(optionNames) {
		return optionNames[o]
	}
	return "Option(" + strconv.Itoa(int(o)) + ")"
}

// Hint is the remedy a Problem suggests, naming the option that applies
// it. Problem.Message appends it to the message in parentheses.
type Hint uint8

// The hints problems carry.
const (
	// NoHint: the problem suggests no option.
	NoHint Hint = iota
	// HintMaxLineBytes: the line is over ReadOptions.MaxLineBytes.
	HintMaxLineBytes
	// HintMaxSourceBytes: the source is over Options.MaxSourceBytes.
	HintMaxSourceBytes
	// HintMaxDestBytes: the destination is over Options.MaxDestBytes.
	HintMaxDestBytes
	// HintStrictTrailingSlash: the rules conflict only because "/a" and
	// "/a/" are one path unless Options.StrictTrailingSlash is set.
	HintStrictTrailingSlash
	// HintFormatNetlify: the file looks like a Netlify _redirects file;
	// ReadOptions.Format can say so.
	HintFormatNetlify
	// HintFormatJSONL: the JSON file holds one value per line; it may be
	// JSONL, which ReadOptions.Format can say.
	HintFormatJSONL
	// HintAllowEmpty: the rule set is empty, which Options.AllowEmpty
	// accepts.
	HintAllowEmpty
)

// Option returns the option the hint names.
func (h Hint) Option() Option {
	switch h {
	case HintMaxLineBytes:
		return OptionMaxLineBytes
	case HintMaxSourceBytes:
		return OptionMaxSourceBytes
	case HintMaxDestBytes:
		return OptionMaxDestBytes
	case HintStrictTrailingSlash:
		return OptionStrictTrailingSlash
	case HintFormatNetlify, HintFormatJSONL:
		return OptionFormat
	case HintAllowEmpty:
		return OptionAllowEmpty
	}
	return NoOption
}

// text returns the hint's sentence, naming its option as name.
func (h Hint) text(name string) string {
	switch h {
	case HintStrictTrailingSlash:
		return "paths that differ only by a trailing slash are one path unless built with " + name
	case HintFormatNetlify:
		return "for a Netlify _redirects file use " + name + " netlify"
	case HintFormatJSONL:
		return "for one rule object per line use " + name + " jsonl"
	case HintAllowEmpty:
		return "build it anyway with " + name
	}
	return name
}

// optionName returns name, or Option.String when name is nil.
func optionName(name func(Option) string) func(Option) string {
	if name == nil {
		return Option.String
	}
	return name
}

// limitKind says which reading limit a LimitError reports.
type limitKind uint8

const (
	limitInput      limitKind = iota // the decompressed input
	limitZstdWindow                  // the window a zstd stream asks for
	limitRuleObject                  // one JSON rule object
	limitJSONValue                   // one JSON token or run of white space
)

// LimitError reports input over a limit that stops reading. errors.Is
// matches ErrInputTooLarge when the manifest was larger than
// ReadOptions.MaxInputBytes and ErrLineTooLong when a JSON value was
// longer than ReadOptions.MaxLineBytes; a zstd window refusal unwraps to
// the decoder's error.
type LimitError struct {
	// Pos is the manifest, and the line where the value over the limit
	// starts (0 when reading stopped in no particular line).
	Pos Pos
	// Limit is the option that sets the limit: OptionMaxInputBytes or
	// OptionMaxLineBytes.
	Limit Option
	// Max is the limit in effect, in bytes.
	Max int64
	// Size is the size of the value over the limit, in bytes, when it was
	// read to its end; 0 otherwise.
	Size int64

	kind limitKind
	err  error
}

// Error describes the limit naming its option by its field name.
func (e *LimitError) Error() string { return e.Message(nil) }

// Message describes the limit, naming its option name(e.Limit) (or by its
// field name when name is nil).
func (e *LimitError) Message(name func(Option) string) string {
	opt := optionName(name)(e.Limit)
	var msg string
	switch e.kind {
	case limitInput:
		msg = fmt.Sprintf("stopped after %d bytes: %v (%s); raise the limit if the manifest is really this large: "+
			"a compressed one that expands this far is likely a decompression bomb", e.Max, e.err, opt)
	case limitZstdWindow:
		msg = fmt.Sprintf("zstd: the stream asks for a window larger than redirc allows (%d MiB, or %s if smaller): %v",
			zstdMaxWindow>>20, opt, e.err)
	case limitRuleObject:
		msg = fmt.Sprintf("rule object of %d bytes is longer than %d bytes (%s)", e.Size, e.Max, opt)
	default:
		msg = fmt.Sprintf("JSON value longer than %d bytes (%s)", e.Max, opt)
	}
	return e.Pos.String() + ": " + msg
}

// Unwrap returns ErrInputTooLarge, ErrLineTooLong or the decoder's error.
func (e *LimitError) Unwrap() error { return e.err }
