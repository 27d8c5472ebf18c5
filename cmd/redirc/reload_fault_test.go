package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/shardfmt"
)

// taggedBuild compiles keys exact rules /k/<i> -> /<tag>/k/<i> and one
// prefix rule /p/* -> /<tag>/p/:splat (query preserved), all with status,
// into many small shards. Every answer names the build it came from.
func taggedBuild(t *testing.T, tag string, status, keys int, extra ...compiler.Rule) *compiler.Build {
	t.Helper()
	rules := make([]compiler.Rule, 0, keys+1+len(extra))
	for i := range keys {
		rules = append(rules, compiler.Rule{Source: fmt.Sprintf("/k/%d", i), Destination: fmt.Sprintf("/%s/k/%d", tag, i), Status: status,
			Pos: compiler.Pos{File: tag, Line: i + 1}})
	}
	rules = append(rules, compiler.Rule{Source: "/p/*", Destination: "/" + tag + "/p/:splat", Status: status, Query: true,
		Pos: compiler.Pos{File: tag, Line: keys + 1}})
	rules = append(rules, extra...)
	b, ps, err := compiler.Compile(rules, compiler.Options{ShardRules: 16})
	if err != nil {
		t.Fatalf("compile %s: %v %v", tag, err, ps)
	}
	return b
}

// serveHealth is what /healthz reports, in part.
type serveHealth struct {
	Status    string `json:"status"`
	BuildID   string `json:"buildId"`
	LastError string `json:"lastError"`
	Reloads   uint64 `json:"reloads"`
	Failures  uint64 `json:"failures"`
}

func getHealth(t *testing.T, client *http.Client, u string) serveHealth {
	t.Helper()
	r, err := client.Get(u)
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	defer r.Body.Close()
	var h serveHealth
	if err := json.NewDecoder(r.Body).Decode(&h); err != nil {
		t.Fatalf("healthz: %v", err)
	}
	return h
}

// TestServeReloadUnderLoad hammers `redirc serve` with concurrent
// keep-alive clients while builds A and B are written into its directory
// (compiler output, index renamed last) and swapped in, one after the
// other, many times. Every answer must come wholly from A or wholly from B
// (status, Cache-Control, Location and body agree on the build), never a
// 5xx, never a miss. REDIRC_SOAK=1 runs it longer.
func TestServeReloadUnderLoad(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	swaps, clients := 40, 8
	if os.Getenv("REDIRC_SOAK") != "" {
		swaps, clients = 1000, 16
	}
	const keys = 512
	builds := []*compiler.Build{taggedBuild(t, "A", 302, keys), taggedBuild(t, "B", 308, keys)}
	type answer struct {
		status int
		cc     string
	}
	want := map[string]answer{"A": {302, "no-store"}, "B": {308, "public, max-age=86400"}}
	dir := t.TempDir()
	if err := builds[0].WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, "--debounce", "5ms", "--admin-addr", "127.0.0.1:0", dir)
	admin := &http.Client{Timeout: 10 * time.Second}

	var (
		stop                           atomic.Bool
		requests, fromA, fromB, failed atomic.Int64
		errMu                          sync.Mutex
		firstErrs                      []string
	)
	fail := func(format string, args ...any) {
		if failed.Add(1) <= 10 {
			errMu.Lock()
			firstErrs = append(firstErrs, fmt.Sprintf(format, args...))
			errMu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(c)))
			client := &http.Client{
				Transport:     &http.Transport{MaxIdleConnsPerHost: 1},
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
				Timeout:       20 * time.Second,
			}
			defer client.CloseIdleConnections()
			for !stop.Load() {
				// The Location is "/<tag>/" + suffix.
				suffix := fmt.Sprintf("k/%d", r.IntN(keys))
				if r.IntN(4) == 0 {
					suffix = fmt.Sprintf("p/%d/x?q=%d", r.IntN(1000), r.IntN(1000))
				}
				path := "/" + suffix
				resp, err := client.Get(s.base + path)
				requests.Add(1)
				if err != nil {
					fail("GET %s: %v", path, err)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					fail("GET %s: reading the body: %v", path, err)
					continue
				}
				loc := resp.Header.Get("Location")
				tag, rest, _ := strings.Cut(strings.TrimPrefix(loc, "/"), "/")
				w, ok := want[tag]
				switch {
				case resp.StatusCode >= 500:
					fail("GET %s: %d", path, resp.StatusCode)
				case resp.StatusCode == 404:
					fail("GET %s: 404, a miss", path)
				case !ok || rest != suffix:
					fail("GET %s: Location %q belongs to no build", path, loc)
				case resp.StatusCode != w.status || resp.Header.Get("Cache-Control") != w.cc || !strings.Contains(string(body), `href="`+loc+`"`):
					fail("GET %s: mixed answer: %d, Cache-Control %q, Location %q, body %q", path, resp.StatusCode, resp.Header.Get("Cache-Control"), loc, body)
				case tag == "A":
					fromA.Add(1)
				default:
					fromB.Add(1)
				}
			}
		})
	}

	start := time.Now()
	for i := 1; i <= swaps; i++ {
		b := builds[i%2]
		if err := b.WriteDir(dir); err != nil {
			t.Fatalf("swap %d: %v", i, err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for getHealth(t, admin, s.admin+"/healthz").BuildID != b.Index.BuildID {
			if time.Now().After(deadline) {
				t.Fatalf("swap %d: build %s not loaded", i, b.Index.BuildID)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	elapsed := time.Since(start)
	stop.Store(true)
	wg.Wait()

	h := getHealth(t, admin, s.admin+"/healthz")
	t.Logf("%d requests from %d clients during %d swaps in %v: %d answered by A, %d by B, %d errors; healthz: %d reloads, %d failures",
		requests.Load(), clients, swaps, elapsed.Round(time.Millisecond), fromA.Load(), fromB.Load(), failed.Load(), h.Reloads, h.Failures)
	for _, e := range firstErrs {
		t.Error(e)
	}
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests failed", failed.Load(), requests.Load())
	}
	if h.Reloads != uint64(swaps+1) || h.Failures != 0 || h.LastError != "" {
		t.Errorf("healthz after %d swaps: %+v, want %d reloads and no failure", swaps, h, swaps+1)
	}
	if fromA.Load() == 0 || fromB.Load() == 0 {
		t.Errorf("answers from A %d, from B %d: the swaps were not seen", fromA.Load(), fromB.Load())
	}
}

// serveProcess runs `redirc serve` as a separate process (this test binary
// re-executed) on a free loopback port; it is killed when the test ends if
// it is still running.
type serveProcess struct {
	cmd   *exec.Cmd
	base  string
	admin string // http://addr of --admin-addr
	logs  *serveBuffer
}

// freeAddr returns a loopback address no one listens on (now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServeProcess starts `redirc serve args... dir`, with an admin
// address, and waits until healthz answers 200.
func startServeProcess(t *testing.T, dir string, args ...string) *serveProcess {
	t.Helper()
	addr, admin := freeAddr(t), freeAddr(t)
	p := &serveProcess{base: "http://" + addr, admin: "http://" + admin, logs: &serveBuffer{}}
	p.cmd = cliCmd(append(append([]string{"serve", "--addr", addr, "--admin-addr", admin, "--log-format", "json"}, args...), dir)...)
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	serveWait(t, "the serve process", func() bool {
		r, err := serveNoFollow.Get(p.admin + "/healthz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	return p
}

// stop sends SIGTERM and requires a clean exit.
func (p *serveProcess) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve process after SIGTERM: %v\n%s", err, p.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve process did not exit after SIGTERM:\n%s", p.logs)
	}
}

// TestServeShardDamagedInPlace damages the shard files of the build a
// running `redirc serve` process is serving, the way a careless deploy
// does (cp over the file, truncation, a partial overwrite), all in place
// (same inode). A server that mapped its files would die of SIGBUS or
// serve garbage; redirc holds a verified heap copy, so:
//
//  1. every answer stays as it was, and the process lives;
//  2. a reload of the same build (SIGHUP) keeps serving it;
//  3. a new build whose index lists the damaged files (a deploy that
//     copies only new file names) is loaded shard by shard: the shards it
//     shares with the build serving (same content-addressed name) are
//     the verified copies in memory, not read again, so the damage on
//     disk does not matter (a restart would refuse the files, and name
//     them);
//  4. a full rebuild repairs the damaged files and changes nothing.
func TestServeShardDamagedInPlace(t *testing.T) {
	const keys = 256
	a := taggedBuild(t, "A", 301, keys)
	// B differs from A by one added rule, so it shares all but one shard
	// (content-addressed: same name, same bytes) with A.
	b := taggedBuild(t, "A", 301, keys, compiler.Rule{Source: "/only-in-b", Destination: "/B", Status: 302, Pos: compiler.Pos{File: "B", Line: 1}})
	dir := t.TempDir()
	if err := a.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	p := startServeProcess(t, dir, "--debounce", "5ms")
	client := &http.Client{CheckRedirect: serveNoFollow.CheckRedirect, Timeout: 10 * time.Second}

	// answers returns every key's answer as "status location" lines.
	answers := func() string {
		var sb strings.Builder
		for i := range keys {
			r := serveGet(t, "GET", fmt.Sprintf("%s/k/%d", p.base, i), "")
			fmt.Fprintf(&sb, "%d %s\n", r.status, r.header.Get("Location"))
		}
		r := serveGet(t, "GET", p.base+"/only-in-b", "")
		fmt.Fprintf(&sb, "%d %s\n", r.status, r.header.Get("Location"))
		return sb.String()
	}
	before := answers()
	if !strings.HasPrefix(before, "301 /A/k/0\n") || !strings.HasSuffix(before, "404 \n") {
		t.Fatalf("build A answers:\n%s", before)
	}

	// Damage four shards that B shares with A.
	inB := map[string]bool{}
	for _, s := range b.Index.Shards {
		inB[s.File] = true
	}
	var shared []string
	for _, s := range a.Index.Shards {
		if inB[s.File] {
			shared = append(shared, s.File)
		}
	}
	if len(shared) < 4 || len(shared) == len(a.Index.Shards) {
		t.Fatalf("A and B share %d of %d shards; the test needs at least 4 and not all", len(shared), len(a.Index.Shards))
	}
	damage := []struct {
		how string
		do  func(path string) error
	}{
		{"overwritten with garbage (cp over it)", func(path string) error {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0) // what cp does: same inode
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte(strings.Repeat("garbage!", 100)))
			return err
		}},
		{"truncated to half", func(path string) error {
			fi, err := os.Stat(path)
			if err != nil {
				return err
			}
			return os.Truncate(path, fi.Size()/2)
		}},
		{"truncated to zero", func(path string) error { return os.Truncate(path, 0) }},
		{"partly overwritten in place", func(path string) error {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte("\x00\x00\x00\x00\x00\x00\x00\x00"), shardfmt.HeaderSize+40)
			return err
		}},
	}
	for i, d := range damage {
		if err := d.do(filepath.Join(dir, shared[i])); err != nil {
			t.Fatalf("%s: %v", d.how, err)
		}
		t.Logf("%s: %s", shared[i], d.how)
	}

	// 1. Nothing changes for clients.
	if got := answers(); got != before {
		t.Fatalf("answers changed after the shards were damaged:\n%s", got)
	}
	// 2. A reload of the same build changes nothing either.
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	serveWait(t, "the SIGHUP reload", func() bool { return strings.Contains(p.logs.String(), "SIGHUP: reloading") })
	if got := answers(); got != before {
		t.Fatalf("answers changed after SIGHUP:\n%s", got)
	}
	if h := getHealth(t, client, p.admin+"/healthz"); h.BuildID != a.Index.BuildID || h.LastError != "" {
		t.Errorf("healthz after SIGHUP: %+v", h)
	}

	// 3. B lands, but only its new shard file is copied: its index lists
	// the damaged files. Its shared shards are the copies in memory, so it
	// is loaded and answers right.
	scratch := t.TempDir()
	if err := b.WriteDir(scratch); err != nil {
		t.Fatal(err)
	}
	for _, s := range b.Index.Shards {
		if _, err := os.Stat(filepath.Join(dir, s.File)); os.IsNotExist(err) {
			data, _ := os.ReadFile(filepath.Join(scratch, s.File))
			os.WriteFile(filepath.Join(dir, s.File), data, 0o644)
		}
	}
	idx, _ := os.ReadFile(filepath.Join(scratch, shardfmt.IndexFileName))
	os.WriteFile(filepath.Join(dir, ".tmp-index"), idx, 0o644)
	if err := os.Rename(filepath.Join(dir, ".tmp-index"), filepath.Join(dir, shardfmt.IndexFileName)); err != nil {
		t.Fatal(err)
	}
	var h serveHealth
	serveWait(t, "build B to be loaded", func() bool {
		h = getHealth(t, client, p.admin+"/healthz")
		return h.BuildID == b.Index.BuildID
	})
	want := strings.TrimSuffix(before, "404 \n") + "302 /B\n"
	if got := answers(); got != want || h.LastError != "" {
		t.Fatalf("build B over damaged shard files: health %+v, answers:\n%s", h, got)
	}

	// 4. A full build rewrites the damaged files (their content no longer
	// matches their name) and is loaded.
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	serveWait(t, "the repaired build B", func() bool {
		return getHealth(t, client, p.admin+"/healthz").BuildID == b.Index.BuildID
	})
	after := answers()
	if after != want {
		t.Errorf("answers after the repair:\n%s\nwant:\n%s", after, want)
	}
	if h := getHealth(t, client, p.admin+"/healthz"); h.LastError != "" {
		t.Errorf("healthz after the repair: %+v", h)
	}
	p.stop(t)
	// Nothing was refused; any error logged would be a refusal that kept
	// the old build serving.
	refusals := 0
	for _, l := range strings.Split(p.logs.String(), "\n") {
		if strings.Contains(l, `"level":"ERROR"`) {
			if !strings.Contains(l, `"msg":"redirc: build refused; the previous build keeps serving"`) {
				t.Errorf("unexpected error log line: %s", l)
			}
			refusals++
		}
	}
	t.Logf("%d refusals logged", refusals)
}
