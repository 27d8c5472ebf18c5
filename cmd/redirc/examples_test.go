package main

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The examples in ../../examples (a GitHub Actions workflow, a systemd unit
// and a Containerfile) are exercised here with the tools this machine has;
// a missing tool skips its part with a message.

var containerBuild = flag.Bool("examples.container-build", false,
	"also run the Containerfile's go build line and check that it gives a static binary (slow: -trimpath rebuilds every package)")

const examplesDir = "../../examples"

// redircOnPath writes an executable "redirc" into a new directory that runs
// this test binary as the command (TestMain, REDIRC_AS_CLI) and returns the
// directory.
func redircOnPath(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	script := "#!/bin/sh\nREDIRC_AS_CLI=1 exec " + strconv.Quote(self) + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "redirc"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// workflowSteps returns the "run: |" scripts of a workflow's named steps.
// It reads the block scalars by their indentation, which is all the
// example uses; it is not a YAML parser.
func workflowSteps(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	indent := func(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }
	steps := map[string]string{}
	name := ""
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		tl := strings.TrimSpace(l)
		if n, ok := strings.CutPrefix(tl, "- name: "); ok {
			name = n
			continue
		}
		if strings.HasPrefix(tl, "- ") {
			name = "" // a step without a name
		}
		if tl != "run: |" {
			continue
		}
		var body []string
		base := -1
		for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || indent(lines[i+1]) > indent(l)) {
			i++
			s := lines[i]
			if strings.TrimSpace(s) != "" && base < 0 {
				base = indent(s)
			}
			if len(s) >= base && base >= 0 {
				s = s[base:]
			}
			body = append(body, s)
		}
		if name == "" {
			t.Fatalf("%s:%d: a run step without a name", path, i+1)
		}
		steps[name] = strings.Join(body, "\n")
	}
	return steps
}

// runStep runs a workflow step as GitHub's "shell: bash" does.
func runStep(t *testing.T, dir, script string, env []string) (int, string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "step.sh")
	if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", f)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestExampleWorkflow(t *testing.T) {
	for _, tool := range []string{"bash", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the workflow's steps are not run", tool)
		}
	}
	steps := workflowSteps(t, filepath.Join(examplesDir, "github-actions", "redirects.yml"))
	for _, name := range []string{"Install redirc", "Check", "Diff", "Build"} {
		if _, ok := steps[name]; !ok {
			t.Fatalf("workflow has no step %q with a run script (steps: %v)", name, steps)
		}
	}
	for name, s := range steps {
		if strings.Contains(s, "${{") {
			t.Errorf("step %q uses a ${{ }} expression inside its script; pass it through env:", name)
		}
	}

	// A repository whose base commit holds the example manifests and whose
	// head adds a rule and changes one.
	repo := t.TempDir()
	git(t, repo, "init", "-q", "-b", "main")
	os.Mkdir(filepath.Join(repo, "redirects"), 0o755)
	for _, f := range []string{"redirects.csv", "_redirects"} {
		b, err := os.ReadFile(filepath.Join(examplesDir, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(repo, "redirects", f), b, 0o644)
	}
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "base")
	base := git(t, repo, "rev-parse", "HEAD")
	csvPath := filepath.Join(repo, "redirects", "redirects.csv")
	csv, _ := os.ReadFile(csvPath)
	csv = bytes.Replace(csv, []byte("/pricing,/plans,302"), []byte("/pricing,/plans-2026,302"), 1)
	csv = append(csv, "/launch,/blog/launch,301,,,,\n"...)
	os.WriteFile(csvPath, csv, 0o644)
	git(t, repo, "commit", "-q", "-am", "head")

	tmp := t.TempDir()
	summary := filepath.Join(tmp, "summary.md")
	env := append(os.Environ(),
		"PATH="+redircOnPath(t)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"MANIFESTS=redirects/redirects.csv redirects/_redirects",
		"RUNNER_TEMP="+tmp, "GITHUB_STEP_SUMMARY="+summary, "BASE_SHA="+base)

	if code, out := runStep(t, repo, steps["Check"], env); code != 0 {
		t.Fatalf("Check: exit %d\n%s", code, out)
	}
	code, out := runStep(t, repo, steps["Diff"], env)
	if code != 0 {
		t.Fatalf("Diff: exit %d\n%s", code, out)
	}
	sum, _ := os.ReadFile(summary)
	for _, want := range []string{
		"## Redirects\n",
		"**1 added, 0 removed, 1 changed, ",
		"```diff\n",
		"~ /pricing: 302 /plans +query -> 302 /plans-2026 +query\n",
		"+ /launch: 301 /blog/launch\n",
	} {
		if !strings.Contains(string(sum), want) {
			t.Errorf("job summary lacks %q:\n%s", want, sum)
		}
	}
	if code, out := runStep(t, repo, steps["Build"], env); code != 0 || !strings.Contains(out, "rules") {
		t.Errorf("Build: exit %d\n%s", code, out)
	} else if _, err := os.Stat(filepath.Join(repo, "build", "index.json")); err != nil {
		t.Errorf("Build wrote no build: %v", err)
	}

	// An error becomes an annotation on its line and fails the job.
	os.WriteFile(csvPath, append(csv, "/launch,/elsewhere,301,,,,\n"...), 0o644)
	lines := bytes.Count(csv, []byte("\n")) + 1
	code, out = runStep(t, repo, steps["Check"], env)
	want := "::error file=redirects/redirects.csv,line=" + strconv.Itoa(lines) + "::conflicting rule: /launch"
	if code != 1 || !strings.Contains(out, want) {
		t.Errorf("Check of a conflict: exit %d, want 1 and %q:\n%s", code, want, out)
	}
}

func TestExampleSystemdUnit(t *testing.T) {
	unit := filepath.Join(examplesDir, "systemd", "redirc.service")
	data, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	// The sandbox the unit promises.
	for _, opt := range []string{
		"DynamicUser=yes", "ProtectSystem=strict", "ReadOnlyPaths=/srv/redirc/build", "NoNewPrivileges=yes",
		"CapabilityBoundingSet=\n", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes", "PrivateDevices=yes", "ProtectHome=yes",
	} {
		if !bytes.Contains(data, []byte("\n"+opt)) {
			t.Errorf("unit lacks %q", opt)
		}
	}
	// Its ExecStart is a command line redirc accepts.
	m := regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/redirc (.*)$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("no ExecStart=/usr/local/bin/redirc line")
	}
	args := strings.Fields(string(m[1]))
	if args[0] != "serve" {
		t.Fatalf("ExecStart runs %q, want serve", args[0])
	}
	dir := t.TempDir()
	f := writeFile(t, dir, "r.csv", "source,destination\n/a,/b\n")
	redirc(t, "build", "-o", filepath.Join(dir, "build"), f)
	args[len(args)-1] = filepath.Join(dir, "build")
	for i, a := range args {
		if a == "--addr" {
			args[i+1] = "127.0.0.1:0"
		}
	}
	checkServeArgs(t, args)

	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit is not verified")
	}
	// verify wants ExecStart's binary to exist: point it at this test's.
	bin := filepath.Join(redircOnPath(t), "redirc")
	local := filepath.Join(t.TempDir(), "redirc.service")
	os.WriteFile(local, bytes.ReplaceAll(data, []byte("/usr/local/bin/redirc"), []byte(bin)), 0o644)
	if out, err := exec.Command(sa, "verify", local).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(sa, "security", "--offline=yes", local).CombinedOutput()
	if err != nil {
		t.Logf("systemd-analyze security --offline=yes: %v (this systemd may not have it)\n%s", err, out)
		return
	}
	lm := regexp.MustCompile(`Overall exposure level for redirc\.service: ([0-9.]+)`).FindSubmatch(out)
	if lm == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(lm[1]), 64); level > 2.0 {
		t.Errorf("exposure level %.1f, want at most 2.0 (OK):\n%s", level, out)
	} else {
		t.Logf("systemd-analyze security: exposure level %.1f", level)
	}
}

// checkServeArgs starts redirc serve with args in a child process and
// stops it once it has loaded the build: the flags parse and the command
// runs.
func checkServeArgs(t *testing.T, args []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "REDIRC_AS_CLI=1")
	var stderr lockedBuffer // written by exec's copying goroutine
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// --log-format json: wait for the first log line on stdout or stderr.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(stderr.String(), `"build loaded"`) && !strings.Contains(stderr.String(), `"msg"`) {
		select {
		case err := <-done:
			t.Fatalf("redirc %v exited early: %v\n%s", args, err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cmd.Process.Signal(os.Interrupt)
	<-done
	var first map[string]any
	line, _, _ := strings.Cut(stderr.String(), "\n")
	if err := json.Unmarshal([]byte(line), &first); err != nil {
		t.Errorf("redirc %v: first log line is not JSON (--log-format json): %q", args, line)
	}
}

func TestExampleContainerfile(t *testing.T) {
	path := filepath.Join(examplesDir, "container", "Containerfile")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type stage struct {
		image, name string
		instr       []string // "KEYWORD args"
	}
	var stages []*stage
	known := map[string]bool{"FROM": true, "RUN": true, "CMD": true, "LABEL": true, "EXPOSE": true, "ENV": true,
		"ADD": true, "COPY": true, "ENTRYPOINT": true, "VOLUME": true, "USER": true, "WORKDIR": true, "ARG": true,
		"ONBUILD": true, "STOPSIGNAL": true, "HEALTHCHECK": true, "SHELL": true}
	// Join continuation lines, drop comments and blank lines.
	var logical []string
	cur := ""
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") || (cur == "" && strings.TrimSpace(l) == "") {
			continue
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cur += s
			continue
		}
		logical = append(logical, cur+l)
		cur = ""
	}
	if cur != "" {
		t.Fatal("the file ends in a line continuation")
	}
	names := map[string]bool{}
	for _, l := range logical {
		kw, args, _ := strings.Cut(strings.TrimSpace(l), " ")
		kw = strings.ToUpper(kw)
		if !known[kw] {
			t.Fatalf("unknown instruction %q", l)
		}
		switch {
		case kw == "FROM":
			f := strings.Fields(args)
			s := &stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
				names[s.name] = true
			} else if len(f) != 1 {
				t.Fatalf("bad FROM %q", l)
			}
			stages = append(stages, s)
		case len(stages) == 0 && kw != "ARG":
			t.Fatalf("%s before the first FROM", kw)
		case len(stages) > 0:
			s := stages[len(stages)-1]
			s.instr = append(s.instr, kw+" "+args)
			if kw == "COPY" {
				if from, ok := strings.CutPrefix(strings.Fields(args)[0], "--from="); ok && !names[from] {
					t.Errorf("COPY --from=%s names no earlier stage", from)
				}
			}
			if (kw == "ENTRYPOINT" || kw == "CMD") && !json.Valid([]byte(args)) {
				t.Errorf("%s is not in exec form (a JSON array): %s", kw, args)
			}
		}
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(stages))
	}
	static := false
	for _, s := range stages {
		for _, in := range s.instr {
			if strings.HasPrefix(in, "RUN ") && strings.Contains(in, "CGO_ENABLED=0") && strings.Contains(in, "go build") {
				static = true
			}
		}
		if !strings.Contains(s.image, "distroless") && s.image != "scratch" {
			continue
		}
		// A runtime stage: non-root, runs redirc.
		user := ""
		for _, in := range s.instr {
			if u, ok := strings.CutPrefix(in, "USER "); ok {
				user = strings.TrimSpace(u)
			}
		}
		if user == "" || user == "root" || strings.HasPrefix(user, "0") {
			t.Errorf("stage %s runs as %q, want a non-root user", s.name, user)
		}
	}
	final := stages[len(stages)-1]
	if !strings.Contains(final.image, "distroless") && final.image != "scratch" {
		t.Errorf("final stage is %s, want distroless or scratch", final.image)
	}
	if !static {
		t.Error("no RUN CGO_ENABLED=0 go build: the binary would not be static")
	}

	t.Run("go build", func(t *testing.T) {
		if !*containerBuild {
			t.Skip("the Containerfile's go build is run with -examples.container-build")
		}
		var line string
		for _, s := range stages {
			for _, in := range s.instr {
				if strings.HasPrefix(in, "RUN CGO_ENABLED=0 go build") {
					line = in
				}
			}
		}
		build, _, _ := strings.Cut(strings.TrimPrefix(line, "RUN "), "&&")
		out := t.TempDir()
		build = strings.ReplaceAll(build, "/out/", out+"/")
		build = strings.ReplaceAll(build, "${VERSION}", "example")
		cmd := exec.Command("sh", "-c", build)
		cmd.Dir = "../.."
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", build, err, b)
		}
		f, err := elf.Open(filepath.Join(out, "redirc"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("the binary has an ELF interpreter: it is not static")
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("the binary needs %v", libs)
		}
	})

	t.Run("docker build", func(t *testing.T) {
		docker, err := exec.LookPath("docker")
		if err != nil {
			t.Skip("docker is not installed")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, docker, "info").CombinedOutput(); err != nil {
			t.Skipf("the docker daemon does not answer (%v): not building the image\n%s", err, lastLine(out))
		}
		cmd := exec.Command(docker, "build", "-f", path, "-t", "redirc-example-test", "../..")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker build: %v\n%s", err, out)
		}
	})
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
