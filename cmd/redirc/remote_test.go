package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeAndLookupURL serves a build published on a static origin
// (http.FileServer, which supports Range and conditional requests) and
// looks it up with redirc lookup URL.
func TestServeAndLookupURL(t *testing.T) {
	root := t.TempDir()
	build := filepath.Join(root, "site", "redirects")
	writeServeBuild(t, build, serveRules...)
	origin := httptest.NewServer(http.FileServer(http.Dir(root)))
	defer origin.Close()
	u := origin.URL + "/site/redirects"

	code, out, errOut := redirc(t, "lookup", u, "/perm", "/nope", "https://shop.example.com/cards")
	if code != 0 || out != "301 /to-perm\n404 -\n301 https://www.example.org/gifts\n" {
		t.Fatalf("lookup %s: exit %d\n%s%s", u, code, out, errOut)
	}

	s := startServe(t, "--cache-bytes", "1MiB", "--fetch-timeout", "1s", "--on-fetch-error", "miss", "--poll", "100ms", u+"/")
	if r := serveGet(t, "GET", s.base+"/perm", ""); r.status != 301 || r.header.Get("Location") != "/to-perm" {
		t.Fatalf("/perm: %d %q", r.status, r.header.Get("Location"))
	}
	if r := serveGet(t, "GET", s.base+"/nope", ""); r.status != 404 {
		t.Fatalf("/nope: %d", r.status)
	}
	page := serveGet(t, "GET", s.base+"/.redirc/metrics", "").body
	if v := serveMetric(t, page, "redirc_origin_requests_total"); v == "0" {
		t.Errorf("no origin requests counted:\n%s", page)
	}
	// A new build published: answered after the next poll.
	writeServeBuild(t, build, append(serveRules, "/brand-new /fresh 302")...)
	serveWait(t, "the new build", func() bool {
		return serveGet(t, "GET", s.base+"/brand-new", "").header.Get("Location") == "/fresh"
	})
	// Origin gone: what was answered still is; health says degraded.
	origin.Close()
	if r := serveGet(t, "GET", s.base+"/perm", ""); r.status != 301 {
		t.Fatalf("/perm with the origin gone: %d", r.status)
	}
	serveWait(t, "health to say degraded", func() bool {
		return strings.Contains(serveGet(t, "GET", s.base+"/.redirc/healthz", "").body, `"degraded"`)
	})

	for _, bad := range [][]string{{"--cache-bytes", "lots"}, {"--on-fetch-error", "404"}, {"--fetch-timeout", "0s"}} {
		if code, _, _ := redirc(t, append(append([]string{"serve"}, bad...), u)...); code != 2 {
			t.Errorf("serve %v: exit %d, want 2", bad, code)
		}
	}
}

// TestServeFromNginx serves a build through nginx as the static origin (the
// issue's "any static host"). It skips, saying so, when nginx is not
// installed (make test-nginx installs nginx-light).
func TestServeFromNginx(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
			if _, e := os.Stat(p); e == nil {
				nginx, err = p, nil
			}
		}
	}
	if err != nil {
		t.Skip("nginx is not installed (apt-get install nginx-light, or make test-nginx)")
	}
	root := t.TempDir()
	build := filepath.Join(root, "redirects")
	writeServeBuild(t, build, serveRules...)
	// nginx's workers may run as another user (nobody, when started as
	// root): let them read the build.
	for _, d := range []string{filepath.Dir(root), root, build} {
		os.Chmod(d, 0o755)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	conf := filepath.Join(root, "nginx.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
  access_log off;
  client_body_temp_path %[1]s/tmp; proxy_temp_path %[1]s/tmp; fastcgi_temp_path %[1]s/tmp; uwsgi_temp_path %[1]s/tmp; scgi_temp_path %[1]s/tmp;
  types { application/json json; application/octet-stream rdx; }
  server {
    listen %[2]s;
    root %[1]s;
    location ~ \.rdx$ { add_header Cache-Control "public, max-age=31536000, immutable"; }
    location ~ /index\.json$ { add_header Cache-Control "public, max-age=5"; }
  }
}
`, root, addr)), 0o644)
	os.Mkdir(filepath.Join(root, "tmp"), 0o755)
	cmd := exec.Command(nginx, "-c", conf, "-p", root)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Skipf("nginx does not start: %v", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	u := "http://" + addr + "/redirects"
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := http.Get(u + "/index.json")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(root, "error.log"))
			t.Fatalf("nginx does not answer: %v\n%s", err, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, out, errOut := redirc(t, "lookup", u, "/perm", "/nope", "/docs/a/b")
	if code != 0 || out != "301 /to-perm\n404 -\n308 /manual/a/b\n" {
		t.Fatalf("lookup through nginx: exit %d\n%s%s", code, out, errOut)
	}
}
