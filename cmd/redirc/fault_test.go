package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redirc/redirc/runtime"
)

// TestMain lets tests run this test binary as the redirc command itself
// (REDIRC_AS_CLI=1), so a real process can be killed half-way.
func TestMain(m *testing.M) {
	if os.Getenv("REDIRC_AS_CLI") == "1" {
		os.Exit(run(os.Args, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func cliCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "REDIRC_AS_CLI=1")
	return cmd
}

func writeRules(t *testing.T, path string, n int, tag string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "/r/%d/page\t/%s/%d\n", i, tag, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestBuildKilled kills `redirc build` at random moments: the output
// directory must always hold a complete, loadable build — the old one or
// the new one, never a mix.
func TestBuildKilled(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 3))
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	n := 60000
	if testing.Short() {
		n = 10000
	}
	writeRules(t, filepath.Join(dir, "v1.tsv"), n, "one")
	writeRules(t, filepath.Join(dir, "v2.tsv"), n, "two")
	if b, err := cliCmd("build", "-o", out, filepath.Join(dir, "v1.tsv")).CombinedOutput(); err != nil {
		t.Fatalf("first build: %v\n%s", err, b)
	}
	// Time one complete build to spread the kills over its whole length.
	start := time.Now()
	if b, err := cliCmd("build", "-o", filepath.Join(dir, "timing"), filepath.Join(dir, "v2.tsv")).CombinedOutput(); err != nil {
		t.Fatalf("timing build: %v\n%s", err, b)
	}
	full := time.Since(start)
	kills, landed := 0, 0
	prevID := ""
	for i := 0; i < 12; i++ {
		src := []string{"v1.tsv", "v2.tsv"}[i%2]
		cmd := cliCmd("build", "-o", out, filepath.Join(dir, src))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(r.Int64N(int64(full)*3/2 + 1))) // some kills land after the end
		if cmd.Process.Signal(syscall.SIGKILL) == nil {
			kills++
		}
		cmd.Wait()
		s, err := runtime.Open(out)
		if err != nil {
			t.Fatalf("after kill %d (%s): build no longer loads: %v", i, src, err)
		}
		if s.Rules() != n {
			t.Fatalf("after kill %d: %d rules, want %d", i, s.Rules(), n)
		}
		// All answers come from one build: both probes agree on the tag.
		a := s.Lookup("", "/r/0/page", "").Location
		b := s.Lookup("", fmt.Sprintf("/r/%d/page", n-1), "").Location
		tagA, _, _ := strings.Cut(strings.TrimPrefix(a, "/"), "/")
		tagB, _, _ := strings.Cut(strings.TrimPrefix(b, "/"), "/")
		if tagA != tagB || (tagA != "one" && tagA != "two") {
			t.Fatalf("after kill %d: mixed or wrong answers %q and %q", i, a, b)
		}
		if prevID != "" && s.BuildID() != prevID {
			landed++
		}
		prevID = s.BuildID()
	}
	t.Logf("%d kills spread over a %v build; %d times the killed build had already landed", kills, full.Round(time.Millisecond), landed)
}

// TestBuildDiskFullAndReadOnly builds into a tiny tmpfs and a read-only
// mount: the build fails with a clear message and the previous build is
// untouched. It needs mount rights (root or an unprivileged user namespace).
func TestBuildDiskFullAndReadOnly(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare not available: skipping disk-full test")
	}
	dir := t.TempDir()
	small, big := filepath.Join(dir, "small.tsv"), filepath.Join(dir, "big.tsv")
	writeRules(t, small, 100, "s")
	writeRules(t, big, 20000, "b")
	mnt := filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o755)
	self := os.Args[0]
	script := fmt.Sprintf(`set -e
mount -t tmpfs -o size=256k tmpfs %[1]s
export REDIRC_AS_CLI=1
%[2]s build -o %[1]s/out %[3]s >/dev/null 2>&1
before=$(cd %[1]s/out && cat * | md5sum)
if %[2]s build -o %[1]s/out %[4]s 2>%[1]s/../full.err; then echo "FULL: build succeeded"; exit 1; fi
after=$(cd %[1]s/out && cat * | md5sum)
[ "$before" = "$after" ] || { echo "FULL: output changed"; exit 1; }
%[2]s lookup %[1]s/out /r/5/page
mount -o remount,ro %[1]s
if %[2]s build -o %[1]s/out %[3]s 2>%[1]s/../ro.err; then echo "RO: build succeeded"; exit 1; fi
after=$(cd %[1]s/out && cat * | md5sum)
[ "$before" = "$after" ] || { echo "RO: output changed"; exit 1; }
`, mnt, self, small, big)
	out, err := exec.Command("unshare", "-rm", "sh", "-c", script).CombinedOutput()
	if err != nil && strings.Contains(string(out), "mount") && strings.Contains(string(out), "ermission") {
		t.Skipf("cannot mount here (%s): skipping", strings.TrimSpace(string(out)))
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "301 /s/5" {
		t.Errorf("lookup after failed build: %q", out)
	}
	full, _ := os.ReadFile(filepath.Join(dir, "full.err"))
	ro, _ := os.ReadFile(filepath.Join(dir, "ro.err"))
	if !strings.Contains(string(full), "no space left on device") || !strings.Contains(string(full), "left unchanged") {
		t.Errorf("disk-full message: %s", full)
	}
	if !strings.Contains(string(ro), "read-only file system") || !strings.Contains(string(ro), "left unchanged") {
		t.Errorf("read-only message: %s", ro)
	}
	t.Logf("disk full: %s", strings.TrimSpace(string(full)))
	t.Logf("read-only: %s", strings.TrimSpace(string(ro)))
}
