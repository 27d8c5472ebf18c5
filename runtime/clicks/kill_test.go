package clicks

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestKill9KeepsFlushedClicks runs a Recorder with a DirSink in a child
// process, waits until the child reports that its clicks were flushed,
// kills it with SIGKILL (no Close, no deferred code) and reads the
// directory: every flushed click is there.
func TestKill9KeepsFlushedClicks(t *testing.T) {
	if os.Getenv("REDIRC_CLICKS_CHILD") != "" {
		killChild()
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9KeepsFlushedClicks$")
	cmd.Env = append(os.Environ(), "REDIRC_CLICKS_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	flushed := -1
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "flushed "); ok {
			flushed, _ = strconv.Atoi(n)
			break
		}
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	if flushed < 0 {
		t.Fatal("the child never reported a flush")
	}
	n, st := readAll(t, dir)
	if n != int64(flushed) || st.Bad != 0 {
		t.Fatalf("after kill -9: %d clicks on disk (%+v), the child had flushed %d", n, st, flushed)
	}
}

// killChild records clicks, waits until all were written by the flush
// loop, says so, and then waits to be killed.
func killChild() {
	d, err := NewDirSink(os.Getenv("REDIRC_CLICKS_CHILD"), DirOptions{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	r := New(d, Options{FlushInterval: 10 * time.Millisecond, BatchSize: 100})
	const n = 2500
	for i := range n {
		r.Record(event(i))
	}
	want := n - r.Stats().Dropped
	for r.Stats().Written < want {
		time.Sleep(time.Millisecond)
	}
	fmt.Printf("flushed %d\n", r.Stats().Written)
	select {} // killed here, never closed
}
