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
)

// apacheRules is what the Apache export expresses: exact rules for any host.
const apacheRules = `source,destination,statusCode,caseSensitive,query,expires
/old,/new,301,,,
/Mixed/Case,https://example.org/x?y=1,302,,,
/q,/with-query,301,,true,
/q2,/with-query?a=b,308,,true,
/see,/other,303,,,
/tmp,/t,307,,,
/café,/cafe,301,,,
/a:b/:c,/colon,301,,,
/star%2A,/star,301,,,
/gone,,410,,,
/,/home,302,,,
`

// TestApacheRoundTrip serves the Apache export with the real httpd on a
// loopback port and compares its answers with the build's. It skips, with
// a message, when apache2 is not installed (apt-get install apache2).
func TestApacheRoundTrip(t *testing.T) {
	bin, err := exec.LookPath("apache2")
	if err != nil {
		t.Skip("apache2 not installed (apt-get install apache2): skipping the Apache round trip")
	}
	const mods = "/usr/lib/apache2/modules"
	for _, m := range []string{"mod_mpm_event.so", "mod_rewrite.so", "mod_authz_core.so"} {
		if _, err := os.Stat(filepath.Join(mods, m)); err != nil {
			t.Skipf("apache2 module %s missing: skipping the Apache round trip", m)
		}
	}
	src := compileManifest(t, "m.csv", compiler.FormatCSV, apacheRules, false)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if _, err := Export(Apache, src.b, Dir(out), Options{Location: out}); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	user := ""
	if os.Getuid() == 0 {
		user = "User nobody\nGroup nogroup\n"
		// httpd's children run as nobody and read the map at request time.
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	conf := fmt.Sprintf(`ServerRoot %[1]s
ServerName localhost
Listen 127.0.0.1:%[3]d
PidFile %[1]s/httpd.pid
ErrorLog %[1]s/error.log
Mutex file:%[1]s default
%[4]sLoadModule mpm_event_module %[5]s/mod_mpm_event.so
LoadModule authz_core_module %[5]s/mod_authz_core.so
LoadModule rewrite_module %[5]s/mod_rewrite.so
DocumentRoot %[1]s
Include %[2]s/redirc.conf
`, dir, out, port, user, mods)
	cf := filepath.Join(dir, "httpd.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if o, err := exec.Command(bin, "-f", cf, "-t").CombinedOutput(); err != nil {
		t.Fatalf("apache2 -t: %v\n%s", err, o)
	}
	cmd := exec.Command(bin, "-f", cf, "-X")
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
			t.Fatalf("apache2 did not start: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	bad := 0
	for _, p := range probes(t, src.b) {
		want := src.set.Lookup(p.host, p.path, p.query)
		got := nginxAnswer(t, client, addr, p)
		// Apache makes relative locations absolute.
		got.Location = strings.TrimPrefix(got.Location, "http://"+hostOr(p.host))
		if want != got {
			bad++
			if bad <= 10 {
				t.Errorf("host %q path %q query %q: build answers %+v, apache %+v", p.host, p.path, p.query, want, got)
			}
		}
	}
}

func hostOr(h string) string {
	if h == "" {
		return "any.example"
	}
	return h
}
