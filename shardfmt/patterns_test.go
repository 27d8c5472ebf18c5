package shardfmt

import (
	"errors"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/redirc/redirc/internal/pattern"
)

func samplePatterns(t testing.TB) []byte {
	t.Helper()
	b, err := EncodePatterns([]pattern.Spec{
		{Rank: 0, Re: "(?i)^/gw/([^/]+)/x/?$", Fold: true, Segs: []string{"GW", pattern.Any, "X"}, Dest: "/n/${1}", Status: 301},
		{Rank: 3, Host: "a.example", Re: "^/b(?:/+(.*))?$", Segs: []string{"b"}, Tail: true, Dest: "https://c.example/${1}", Status: 308, Flags: FlagQuery},
		{Rank: 4, Re: "^/store/?$", Segs: []string{"store"}, Query: []pattern.QueryCond{{Key: "id", Value: ":id"}}, Dest: "/items/${q0}", Status: 302},
		{Rank: 9, Re: "/gone", Tail: true, Status: 410},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPatternsRoundTrip(t *testing.T) {
	b := samplePatterns(t)
	ix, err := DecodePatterns(b)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 4 {
		t.Fatalf("%d patterns", ix.Len())
	}
	sub := []byte("/GW/3.1/x/")
	p, m := ix.Lookup(nil, sub, pattern.AppendFold(nil, sub), "")
	if p == nil || p.Expand(sub, m, "", false) != "/n/3.1" {
		t.Fatalf("lookup: %v %v", p, m)
	}
}

// TestPatternsCorrupt: damaged pattern files are ErrCorrupt, never a panic.
func TestPatternsCorrupt(t *testing.T) {
	good := string(samplePatterns(t))
	for _, bad := range []string{
		"", "{}", `{"format":1}x`, `{"format":0,"patterns":[]}`,
		strings.Replace(good, `"rank":3`, `"rank":0`, 1), // ranks not increasing
		strings.Replace(good, `"status":301`, `"status":200`, 1),
		strings.Replace(good, `([^/]+)`, `([^/]+`, 1), // bad expression
		strings.Replace(good, `${1}"`, `${7}"`, 1),    // no such group
		strings.Replace(good, `"GW"`, `"gw"`, 1),      // not folded
		strings.Replace(good, `"flags":1`, `"flags":2`, 1),
		strings.Replace(good, `"re"`, `"Re2"`, 1),
	} {
		if _, err := DecodePatterns([]byte(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%.80q: err = %v, want ErrCorrupt", bad, err)
		}
	}
	if _, err := DecodePatterns([]byte(`{"format":2,"patterns":[]}`)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("newer format: %v", err)
	}
}

// TestPatternsIndexEntry: the index's pattern entry is validated, and the
// build id covers it while ids of builds without patterns are unchanged.
func TestPatternsIndexEntry(t *testing.T) {
	b := samplePatterns(t)
	sum := xxhash.Sum64(b)
	ix := &Index{Format: IndexFormat, ShardCount: 1, Shards: []IndexShard{{File: ShardFileName(0, 1), Hash: FormatHash(1)}}}
	plain := ix.ComputeBuildID()
	ix.FormatMinor = FormatMinorPatterns
	ix.Patterns = &IndexPatterns{File: PatternsFileName(sum), Hash: FormatHash(sum), Rules: 4, Size: int64(len(b))}
	with := ix.ComputeBuildID()
	if with == plain {
		t.Fatal("build id does not cover the pattern file")
	}
	ix.BuildID = with
	if err := ix.validate(); err != nil {
		t.Fatal(err)
	}
	ix.Patterns.File = "../x.rdp"
	if err := ix.validate(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad file name: %v", err)
	}
	ix.Patterns.File = PatternsFileName(sum)
	ix.FormatMinor = 2
	if err := ix.validate(); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("format 1.2: %v", err)
	}
}

func FuzzDecodePatterns(f *testing.F) {
	f.Add(samplePatterns(f))
	f.Add([]byte(`{"format":1,"patterns":[{"rank":0,"re":"a","status":410}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := DecodePatterns(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v is neither ErrCorrupt nor ErrUnsupported", err)
			}
			return
		}
		// A file that loads answers lookups without panicking.
		for _, p := range []string{"/", "/gw/1/x", "/b/c", "/store"} {
			sub := []byte(p)
			if q, m := ix.Lookup([]byte("a.example"), sub, pattern.AppendFold(nil, sub), "id=1"); q != nil {
				q.Expand(sub, m, "id=1", true)
			}
		}
	})
}
