package clicks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func clicksN(n int) []Click {
	cs := make([]Click, n)
	for i := range cs {
		cs[i] = Click{Time: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second), Host: "sho.rt", Path: "/c", Status: 302, Visitor: uint64(i)}
	}
	return cs
}

func readAll(t *testing.T, paths ...string) (int64, ReadStats) {
	t.Helper()
	var n int64
	st, err := Read(paths, func(rc *RawClick) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return n, st
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ns []string
	for _, e := range ents {
		ns = append(ns, e.Name())
	}
	return ns
}

func TestDirSinkRotatesBySizeAndCompresses(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDirSink(dir, DirOptions{MaxBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if err := d.WriteBatch(clicksN(50)); err != nil { // ~7 KB per batch
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	ns := names(t, dir)
	if len(ns) != 20 {
		t.Fatalf("want 20 files (one per batch, each over 4 KiB), got %v", ns)
	}
	for _, n := range ns {
		if !strings.HasPrefix(n, "clicks-") || !strings.HasSuffix(n, ".jsonl.zst") {
			t.Fatalf("file %s: want every closed file compressed", n)
		}
	}
	if n, st := readAll(t, dir); n != 1000 || st.Bad != 0 || st.Files != 20 {
		t.Fatalf("read %d clicks, %+v", n, st)
	}
}

func TestDirSinkRotatesByTime(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	d, err := NewDirSink(dir, DirOptions{MaxAge: time.Hour, NoCompress: true, now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	d.WriteBatch(clicksN(3))
	d.WriteBatch(nil) // a flush with nothing new: no rotation yet
	now = now.Add(time.Hour)
	d.WriteBatch(nil) // a quiet hour later: rotates even without clicks
	if ns := names(t, dir); len(ns) != 2 {
		t.Fatalf("after an hour: %v", ns)
	}
	d.WriteBatch(clicksN(2))
	d.Close()
	if n, _ := readAll(t, dir); n != 5 {
		t.Fatalf("read %d, want 5", n)
	}
	if ns := names(t, dir); len(ns) != 2 { // the empty file opened at Close time is removed
		t.Fatalf("files %v", ns)
	}
}

// TestDirSinkCrash stands for kill -9: the sink is never closed. Every
// batch handed over is in the open file, a torn last line is skipped, and
// the next sink compresses the left-over file.
func TestDirSinkCrash(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDirSink(dir, DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		d.WriteBatch(clicksN(10))
	}
	// No Close. A torn write at the end, as a crash mid-write would leave.
	f, _ := os.OpenFile(d.name, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"time":"2026-11-29 10:0`)
	f.Close()
	if n, st := readAll(t, dir); n != 30 || st.Bad != 1 {
		t.Fatalf("after the crash: %d clicks, %+v", n, st)
	}
	d2, err := NewDirSink(dir, DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d2.WriteBatch(clicksN(1))
	d2.Close()
	zst, _ := filepath.Glob(filepath.Join(dir, "*.zst"))
	plain, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(zst) != 2 || len(plain) != 0 {
		t.Fatalf("zst %v plain %v", zst, plain)
	}
	if n, _ := readAll(t, dir); n != 31 {
		t.Fatalf("read %d, want 31", n)
	}
}

func TestReadSkipsPlainWithZstTwin(t *testing.T) {
	dir := t.TempDir()
	d, _ := NewDirSink(dir, DirOptions{})
	d.WriteBatch(clicksN(4))
	name := d.name
	d.Close()
	// A crash between the rename of name.zst and the removal of name
	// leaves both.
	var b []byte
	for _, c := range clicksN(4) {
		b = c.AppendJSON(b)
	}
	os.WriteFile(name, b, 0o644)
	if n, _ := readAll(t, dir); n != 4 {
		t.Fatalf("read %d, want 4 (each click once)", n)
	}
}
