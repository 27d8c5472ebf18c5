package shorten

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/runtime"
)

func rowsFromCSV(t *testing.T, name, text string) []Row {
	t.Helper()
	rows, probs, err := ReadInput(name, strings.NewReader(text))
	if err != nil || len(probs) > 0 {
		t.Fatalf("ReadInput: %v %v", err, probs)
	}
	return rows
}

func codesOf(st *State) map[string]string {
	m := map[string]string{}
	for _, l := range st.Links {
		if l.Origin != OriginAlias {
			m[l.URL] = l.Code
		}
	}
	return m
}

// TestHashCodeGolden pins hash codes: changing HashKey, the alphabet or
// the digit order would give every new link a different code than older
// redirc versions did for the same URL.
func TestHashCodeGolden(t *testing.T) {
	a := Alphabet{DefaultAlphabet}
	for _, tc := range []struct{ url, code string }{
		{"https://example.com/", "RHwv2x"},
		{"https://example.com/a", "wZFRX8"},
	} {
		if got := a.HashCode(tc.url, 6); got != tc.code {
			t.Errorf("HashCode(%q) = %q, want %q", tc.url, got, tc.code)
		}
		long := a.HashCode(tc.url, 20)
		if !strings.HasPrefix(long, tc.code) || len(long) != 20 {
			t.Errorf("HashCode(%q, 20) = %q: want an extension of %q", tc.url, long, tc.code)
		}
	}
	for _, c := range a.HashCode("https://example.com/x", 200) {
		if strings.ContainsRune("0O1lI", c) {
			t.Fatalf("confusable %q in a code", c)
		}
	}
}

func TestCodesStableAcrossOrder(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	var b strings.Builder
	b.WriteString("url\n")
	for i := range 300 {
		fmt.Fprintf(&b, "https://example.com/page/%d\n", i)
	}
	rows := rowsFromCSV(t, "in.csv", b.String())
	// A tiny alphabet forces collisions, so lengthening is exercised too.
	opt := Options{Alphabet: Alphabet{"abc"}, Length: 2}
	ref := &State{}
	if _, err := Apply(ref, rows, opt); err != nil {
		t.Fatal(err)
	}
	want := ref.Marshal()
	for range 5 {
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		st := &State{}
		if _, err := Apply(st, rows, opt); err != nil {
			t.Fatal(err)
		}
		if got := st.Marshal(); !bytes.Equal(got, want) {
			t.Fatalf("state depends on input order (seed %d)", seed)
		}
	}
}

func TestHashBranchesAgree(t *testing.T) {
	// With the default alphabet collisions are rare, so two branches adding
	// different links produce exactly the codes one run over both would.
	var x, y strings.Builder
	x.WriteString("url\n")
	y.WriteString("url\n")
	for i := range 200 {
		fmt.Fprintf(&x, "https://a.example/%d\n", i)
		fmt.Fprintf(&y, "https://b.example/%d\n", i)
	}
	rx, ry := rowsFromCSV(t, "x.csv", x.String()), rowsFromCSV(t, "y.csv", y.String())
	a, b, both := &State{}, &State{}, &State{}
	mustApply(t, a, rx, Options{})
	mustApply(t, b, ry, Options{})
	mustApply(t, both, append(append([]Row{}, rx...), ry...), Options{})
	merged := codesOf(a)
	for u, c := range codesOf(b) {
		merged[u] = c
	}
	for u, c := range codesOf(both) {
		if merged[u] != c {
			t.Errorf("%s: %q on its branch, %q in one run", u, merged[u], c)
		}
	}
}

func mustApply(t *testing.T, st *State, rows []Row, opt Options) Result {
	t.Helper()
	res, err := Apply(st, rows, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestCollisionLengthens(t *testing.T) {
	a := Alphabet{DefaultAlphabet}
	u := "https://example.com/wanted"
	short := a.HashCode(u, 6)
	// Another URL already holds u's 6-character code.
	st := &State{Links: []Link{{Code: short, URL: "https://other.example/", Status: 302, Origin: OriginHash}}}
	mustApply(t, st, rowsFromCSV(t, "in.csv", "url\nhttps://other.example/\n"+u+"\n"), Options{})
	got := codesOf(st)[u]
	if got != a.HashCode(u, 7) {
		t.Fatalf("code %q, want the 7-character extension %q of the taken %q", got, a.HashCode(u, 7), short)
	}
	if codesOf(st)["https://other.example/"] != short {
		t.Fatal("the holder of the short code lost it")
	}
}

func TestBlocklistSkipsGenerated(t *testing.T) {
	a := Alphabet{DefaultAlphabet}
	u := "https://example.com/blocked"
	code6 := a.HashCode(u, 6)
	bl := NewBlocklist([]string{"# comment", strings.ToUpper(code6[1:4])}) // case-insensitive
	st := &State{}
	mustApply(t, st, rowsFromCSV(t, "in.csv", "url\n"+u+"\n"), Options{Blocklist: bl})
	got := codesOf(st)[u]
	if strings.Contains(strings.ToLower(got), strings.ToLower(code6[1:4])) {
		t.Fatalf("code %q contains the blocked word %q", got, code6[1:4])
	}
}

func TestCounterReserve(t *testing.T) {
	st := &State{}
	in := func(prefix string, n int) []Row {
		var b strings.Builder
		b.WriteString("url\n")
		for i := range n {
			fmt.Fprintf(&b, "https://%s.example/%02d\n", prefix, i)
		}
		return rowsFromCSV(t, prefix+".csv", b.String())
	}
	ra, rb := in("a", 3), in("b", 3)
	// Writer a reserves first, then b, each a block of 5.
	mustApply(t, st, ra, Options{Codes: CodesCounter, Writer: "a", Reserve: 5, Length: 1})
	mustApply(t, st, append(ra, rb...), Options{Codes: CodesCounter, Writer: "b", Reserve: 5, Length: 1})
	if len(st.Blocks) != 2 || st.Blocks[0] != (Block{"a", 0, 4}) || st.Blocks[1] != (Block{"b", 5, 9}) || st.Next != 10 {
		t.Fatalf("blocks %+v next %d", st.Blocks, st.Next)
	}
	for _, l := range st.Links {
		want := map[string][2]uint64{"a": {0, 4}, "b": {5, 9}}[l.URL[8:9]]
		if l.Counter < want[0] || l.Counter > want[1] {
			t.Errorf("%s drew %d, outside its writer's block %v", l.URL, l.Counter, want)
		}
		if l.Code != DefaultAlphabetCounter(l.Counter) {
			t.Errorf("%s: code %q for counter %d", l.URL, l.Code, l.Counter)
		}
	}
	// a adds three more: two from its block, then a new block of 5.
	mustApply(t, st, append(append(ra, rb...), in("a", 6)[3:]...), Options{Codes: CodesCounter, Writer: "a", Reserve: 5, Length: 1})
	if len(st.Blocks) != 3 || st.Blocks[2] != (Block{"a", 10, 14}) || st.Next != 15 {
		t.Fatalf("blocks %+v next %d", st.Blocks, st.Next)
	}
	// A counter without writer skips every block.
	mustApply(t, st, append(append(ra, rb...), append(in("a", 6)[3:], in("c", 1)...)...), Options{Codes: CodesCounter, Length: 1})
	if c := codesOf(st)["https://c.example/00"]; c != DefaultAlphabetCounter(15) {
		t.Fatalf("c got %q, want counter 15", c)
	}
	// Round trip through the file keeps blocks and counter.
	back, err := ParseState("s.csv", st.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Marshal(), st.Marshal()) {
		t.Fatal("state does not round-trip")
	}
}

func DefaultAlphabetCounter(n uint64) string { return Alphabet{DefaultAlphabet}.CounterCode(n, 1) }

func TestCounterCode(t *testing.T) {
	a := Alphabet{"ab"}
	for n, want := range []string{"aaa", "aab", "aba", "abb", "baa"} {
		if got := a.CounterCode(uint64(n), 3); got != want {
			t.Errorf("CounterCode(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestAliasRefusals(t *testing.T) {
	st := &State{Links: []Link{
		{Code: "Gen123", URL: "https://gen.example/", Status: 302, Origin: OriginHash},
		{Code: "old", URL: "https://old.example/", Status: 302, Origin: OriginAlias, Gone: true},
	}}
	in := `url,alias
https://x.example/,.redirc/healthz
https://x.example/,bad alias
https://x.example/,-dash
https://x.example/,a//b
https://x.example/,` + strings.Repeat("x", 65) + `
https://x.example/,Gen123
https://x.example/,old
https://x.example/,my-damn-link
https://x.example/,fine
https://y.example/,fine
ftp://x.example/,ok
https://x.example/,robots.txt
`
	rows, probs, err := ReadInput("links.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Apply(st, rows, Options{Blocklist: NewBlocklist([]string{"damn"})})
	var pe ProblemsError
	if err == nil || !errorsAs(err, &pe) {
		t.Fatalf("Apply: %v", err)
	}
	probs = append(probs, pe...)
	want := map[int]string{
		2:  "reserved",
		3:  "not allowed",
		4:  "start and end",
		5:  "empty",
		6:  "at most 64",
		7:  "already taken",
		8:  "retired",
		9:  "blocked word",
		11: "also given at links.csv:10",
		12: "http or https",
		13: "reserved",
	}
	got := map[int]string{}
	for _, p := range probs {
		if p.Pos.File != "links.csv" {
			t.Errorf("problem without file: %v", p)
		}
		got[p.Pos.Line] = p.String()
	}
	for line, sub := range want {
		if !strings.Contains(got[line], sub) || !strings.HasPrefix(got[line], fmt.Sprintf("links.csv:%d: ", line)) {
			t.Errorf("line %d: got %q, want a refusal containing %q", line, got[line], sub)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d refusals, want %d: %v", len(got), len(want), got)
	}
	if len(st.Links) != 2 {
		t.Fatal("a refused run changed the state")
	}
}

func errorsAs(err error, pe *ProblemsError) bool {
	p, ok := err.(ProblemsError)
	*pe = p
	return ok
}

func TestInputRefusals(t *testing.T) {
	_, probs, err := ReadInput("in.csv", strings.NewReader("url,colour\nhttps://a.example/,red\n"))
	if err != nil || len(probs) != 1 || !strings.HasPrefix(probs[0].String(), "in.csv:1: unknown column") {
		t.Fatalf("%v %v", err, probs)
	}
	_, probs, _ = ReadInput("in.csv", strings.NewReader("url,status,expires\nhttps://a.example/,304,\nhttps://a.example/b,,tomorrow\nnot a url,,\n"))
	if len(probs) != 3 || probs[0].Pos.Line != 2 || probs[1].Pos.Line != 3 || probs[2].Pos.Line != 4 {
		t.Fatalf("%v", probs)
	}
}

func TestGoneAnswers410AndIdempotent(t *testing.T) {
	dir := t.TempDir()
	st := &State{}
	first := rowsFromCSV(t, "in.csv", "url,alias,expires,tags\nhttps://a.example/,,,x\nhttps://b.example/,,2030-01-01T00:00:00Z,\nhttps://c.example/,launch,,\n")
	mustApply(t, st, first, Options{})
	bCode := codesOf(st)["https://b.example/"]
	// b and the alias leave the input.
	res := mustApply(t, st, first[:1], Options{})
	if len(res.Retired) != 2 || res.Active != 1 || res.Gone != 2 {
		t.Fatalf("%+v", res)
	}
	// Idempotent: same input, same bytes.
	s1, m1 := st.Marshal(), Manifest(st, "")
	res = mustApply(t, st, first[:1], Options{})
	if len(res.Added)+len(res.Changed)+len(res.Retired)+len(res.Revived) != 0 {
		t.Fatalf("second run changed %+v", res)
	}
	if !bytes.Equal(s1, st.Marshal()) || !bytes.Equal(m1, Manifest(st, "")) {
		t.Fatal("second run changed the bytes")
	}
	// A new URL never gets a gone code, even one it would hash to: put
	// d's natural code in the state as gone.
	dCode := Alphabet{DefaultAlphabet}.HashCode("https://d.example/", 6)
	st.Links = append(st.Links, Link{Code: dCode, URL: "https://gone.example/", Status: 302, Origin: OriginHash, Gone: true})
	mustApply(t, st, append(first[:1:1], rowsFromCSV(t, "in2.csv", "url\nhttps://d.example/\n")...), Options{})
	if c := codesOf(st)["https://d.example/"]; c == dCode {
		t.Fatal("a gone code was reused")
	}

	// Compile the manifest with the compiler and ask the runtime.
	man := filepath.Join(dir, "links.csv")
	if err := os.WriteFile(man, Manifest(st, ""), 0o644); err != nil {
		t.Fatal(err)
	}
	rules, probs, err := compiler.ReadFile(man, compiler.ReadOptions{})
	if err != nil || compiler.HasErrors(probs) {
		t.Fatalf("read manifest: %v %v", err, probs)
	}
	b, probs, err := compiler.Compile(rules, compiler.Options{})
	if err != nil || compiler.HasErrors(probs) {
		t.Fatalf("compile manifest: %v %v", err, probs)
	}
	out := filepath.Join(dir, "build")
	if err := b.WriteDir(out); err != nil {
		t.Fatal(err)
	}
	set, err := runtime.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	aCode := codesOf(st)["https://a.example/"]
	if r := set.Lookup("sho.rt", "/"+aCode, ""); r.Status != 302 || r.Location != "https://a.example/" {
		t.Errorf("/%s: %+v", aCode, r)
	}
	if r := set.Lookup("sho.rt", "/"+bCode, ""); r.Status != 410 {
		t.Errorf("removed /%s: %+v, want 410", bCode, r)
	}
	if r := set.Lookup("sho.rt", "/launch", ""); r.Status != 410 {
		t.Errorf("removed alias: %+v, want 410", r)
	}
	if r := set.Lookup("sho.rt", "/"+strings.ToLower(aCode), ""); strings.ToLower(aCode) != aCode && r.Found() {
		t.Errorf("codes must be case-sensitive: %+v", r)
	}

	// b comes back: same code, active again.
	res = mustApply(t, st, append(first[:2:2], rowsFromCSV(t, "in2.csv", "url\nhttps://d.example/\n")...), Options{})
	if len(res.Revived) != 1 || res.Revived[0].Code != bCode {
		t.Fatalf("revived %+v, want b back at %q", res.Revived, bCode)
	}
}

func TestStateParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"code,url\n", "s.csv:1: state header"},
		{"# x\ncode,url,status,expires,tags,origin,state\na,https://a/,302,,,hash,active\na,https://b/,302,,,hash,active\n", "s.csv:4: code \"a\" is already in the state at line 3"},
		{"code,url,status,expires,tags,origin,state\na,https://a/,999,,,hash,active\n", "s.csv:2: code \"a\": status"},
		{"#counter next=x\n", "s.csv:1: #counter"},
	} {
		_, err := ParseState("s.csv", []byte(tc.in))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ParseState(%q) = %v, want %q...", tc.in, err, tc.want)
		}
	}
}

func TestWriteFileAtomicUnchanged(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if ch, err := WriteFileAtomic(p, []byte("x")); err != nil || !ch {
		t.Fatal(ch, err)
	}
	if ch, err := WriteFileAtomic(p, []byte("x")); err != nil || ch {
		t.Fatal("same bytes rewrote the file", err)
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
}
