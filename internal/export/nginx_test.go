package export

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/runtime"
)

// TestNginxRoundTrip serves the nginx export with the real nginx on a
// loopback port and compares its answers with the build's. It skips, with a
// message, when nginx is not installed (apt-get install nginx-light).
func TestNginxRoundTrip(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx not installed (apt-get install nginx-light): skipping the nginx round trip")
	}
	// Everything but expiry and case-sensitive rules; 410 included.
	m := strings.Replace(mixed, "/q2,/with-query?a=b,301,,true,\n", "", 1) + "/gone,,410,,,\n/*,/root/:splat,302,,,\n"
	src := compileManifest(t, "m.csv", compiler.FormatCSV, m, false)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if _, err := Export(Nginx, src.b, Dir(out), Options{Location: out}); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	conf := fmt.Sprintf(`pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/t1; proxy_temp_path %[1]s/t2; fastcgi_temp_path %[1]s/t3;
    uwsgi_temp_path %[1]s/t4; scgi_temp_path %[1]s/t5;
    include %[2]s/redirc-maps.conf;
    server {
        listen 127.0.0.1:%[3]d;
        absolute_redirect off;
        include %[2]s/redirc-server.conf;
        location / { return 404; }
    }
}
`, dir, out, port)
	cf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-p", dir, "-c", cf, "-e", filepath.Join(dir, "error.log")}
	if o, err := exec.Command(bin, append(args, "-t")...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, o)
	}
	cmd := exec.Command(bin, append(args, "-g", "daemon off; master_process off;")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not start: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	bad := 0
	for _, p := range probes(t, src.b) {
		want := src.set.Lookup(p.host, p.path, p.query)
		if strings.Contains(p.path, "%") && strings.Contains(want.Location, "%") {
			continue // nginx's splat is the decoded path ($uri), documented
		}
		got := nginxAnswer(t, client, addr, p)
		if want != got {
			bad++
			if bad <= 10 {
				t.Errorf("host %q path %q query %q: build answers %+v, nginx %+v", p.host, p.path, p.query, want, got)
			}
		}
	}
}

func nginxAnswer(t *testing.T, c *http.Client, addr string, p probe) runtime.Result {
	t.Helper()
	u := "http://" + addr + p.path
	if p.query != "" {
		u += "?" + p.query
	}
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = p.host
	if req.Host == "" {
		req.Host = "any.example"
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 404 {
		return runtime.Result{}
	}
	return runtime.Result{Status: resp.StatusCode, Location: resp.Header.Get("Location")}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
