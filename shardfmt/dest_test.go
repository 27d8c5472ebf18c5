package shardfmt

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unsafeDests are destinations a redirect must never carry, with the
// offset of the offending byte and what the reader says about them.
var unsafeDests = []struct {
	name, dest string
	at         int
	problem    string
}{
	{"JavaScript", "javascript:alert(document.cookie)", 0, "is neither an http(s) URL nor a path beginning with /"},
	{"JavaScriptMixedCase", "JavaScript://%0Aalert(1)", 0, "is neither an http(s) URL nor a path beginning with /"},
	{"Data", "data:text/html,<script>alert(1)</script>", 0, "is neither an http(s) URL nor a path beginning with /"},
	{"File", "file:///etc/passwd", 0, "is neither an http(s) URL nor a path beginning with /"},
	{"FTP", "ftp://files.example/", 0, "is neither an http(s) URL nor a path beginning with /"},
	{"HTTPOneSlash", "http:/evil.example", 0, "is neither an http(s) URL nor a path beginning with /"},
	{"Relative", "evil.example/x", 0, "is neither an http(s) URL nor a path beginning with /"},
	{"ProtocolRelative", "//evil.example/", 1, `is protocol-relative (begins with //, or /\)`},
	{"BackslashRelative", `/\evil.example`, 1, `is protocol-relative (begins with //, or /\)`},
	{"CRLF", "/ok\r\nSet-Cookie: sid=1", 3, "contains control byte 0x0d"},
	{"LFInURL", "https://site.example/\nX-Injected: 1", 21, "contains control byte 0x0a"},
	{"NUL", "/a\x00b", 2, "contains control byte 0x00"},
	{"DEL", "/a\x7f", 2, "contains control byte 0x7f"},
	{"Tab", "/tab\there", 4, "contains control byte 0x09"},
	{"LeadingNUL", "\x00/x", 0, "is neither an http(s) URL nor a path beginning with /"},
}

// safeDests are accepted as they are.
var safeDests = []string{"/", "/a", "/a/:splat", "http://x", "https://site.example/a?b=c#d", "HTTPS://Site.Example/X", "Http://x/\xc3\xa9", "/%0D%0A"}

// TestEncodeShardRefusesUnsafeDest: the writer refuses every unsafe
// destination with an exact message, and accepts the safe ones.
func TestEncodeShardRefusesUnsafeDest(t *testing.T) {
	for _, tc := range unsafeDests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EncodeShard([]Entry{{Key: "/x", Dest: tc.dest, Status: 302}}, ShardOptions{Count: 1})
			want := fmt.Sprintf("shardfmt: invalid entry: key \"/x\": destination %q %s", tc.dest, tc.problem)
			if err == nil || err.Error() != want {
				t.Fatalf("EncodeShard = %v\nwant %q", err, want)
			}
			if !errors.Is(err, ErrInvalidEntry) {
				t.Errorf("%v does not wrap ErrInvalidEntry", err)
			}
		})
	}
	for _, d := range safeDests {
		b, err := EncodeShard([]Entry{{Key: "/x", Dest: d, Status: 302}}, ShardOptions{Count: 1})
		if err != nil {
			t.Errorf("EncodeShard(%q): %v", d, err)
			continue
		}
		if rec, ok := mustOpen(t, b).FindString(HashString(0, "/x"), "/x"); !ok || rec.Dest != d {
			t.Errorf("destination %q read back as %+v, %v", d, rec, ok)
		}
	}
}

// plantDest returns a one-shard build image holding "/a" -> "/ok" and
// "/x" -> dest, written the way an attacker (or a buggy writer) would:
// dest replaces a same-length placeholder in VALUE_DATA and every checksum
// is recomputed. It also returns the file offset of dest and the entry
// number of "/x".
func plantDest(t *testing.T, dest string) (img []byte, off int, entry int) {
	t.Helper()
	placeholder := "/" + strings.Repeat("p", len(dest)-1)
	b, err := EncodeShard([]Entry{{Key: "/a", Dest: "/ok", Status: 301}, {Key: "/x", Dest: placeholder, Status: 302}}, ShardOptions{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, b)
	for entry = 0; entry < s.Len(); entry++ {
		if k, _ := s.At(entry); k == "/x" {
			break
		}
	}
	_, vdOff, vdLen := secInfo(t, b, kindValueData)
	i := bytes.Index(b[vdOff:vdOff+vdLen], []byte(placeholder))
	if i < 0 {
		t.Fatal("placeholder not found in VALUE_DATA")
	}
	off = vdOff + i
	copy(b[off:], dest)
	return reseal(b), off, entry
}

// TestOpenRefusesUnsafeDest: a shard that passes every checksum but carries
// an unsafe destination (written bypassing EncodeShard's checks) is refused
// by OpenShard and by LoadBuild with a *CorruptError at the offending byte,
// so the runtime never loads it and keeps serving its previous build.
func TestOpenRefusesUnsafeDest(t *testing.T) {
	for _, tc := range unsafeDests {
		t.Run(tc.name, func(t *testing.T) {
			b, off, entry := plantDest(t, tc.dest)
			want := fmt.Sprintf("shardfmt: corrupt shard at byte %#x: entry %d: destination %q %s", off+tc.at, entry, tc.dest, tc.problem)
			_, err := OpenShard(b)
			if err == nil || err.Error() != want {
				t.Fatalf("OpenShard = %v\nwant %q", err, want)
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Off != int64(off+tc.at) {
				t.Errorf("%v is not a *CorruptError at byte %d", err, off+tc.at)
			}

			// The same file as part of a build on disk.
			dir := t.TempDir()
			sum := xxhashSum(b)
			ix := &Index{Format: IndexFormat, ShardCount: 1, Rules: 2,
				Shards: []IndexShard{{File: ShardFileName(0, sum), Hash: FormatHash(sum), Rules: 2, Size: int64(len(b))}}}
			ix.BuildID = ix.ComputeBuildID()
			ixb, err := ix.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, ix.Shards[0].File), b, 0o644)
			os.WriteFile(filepath.Join(dir, IndexFileName), ixb, 0o644)
			_, err = LoadBuild(dir)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), ix.Shards[0].File) || !strings.HasSuffix(err.Error(), want) {
				t.Errorf("LoadBuild = %v, want ErrCorrupt naming %s and ending in %q", err, ix.Shards[0].File, want)
			}
		})
	}
	// The planting itself is sound: a safe destination planted the same
	// way opens.
	for _, d := range safeDests {
		if len(d) < 2 {
			continue
		}
		b, _, _ := plantDest(t, d)
		if _, err := OpenShard(b); err != nil {
			t.Errorf("planted safe destination %q: %v", d, err)
		}
	}
}
