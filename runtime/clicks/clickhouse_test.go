package clicks

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClickHouseIntegration sends clicks through a Recorder and an
// HTTPSink into a real clickhouse-server (the Debian package) using the
// table in the package documentation, then reads them back. It skips
// when clickhouse-server is not installed.
func TestClickHouseIntegration(t *testing.T) {
	bin, err := exec.LookPath("clickhouse-server")
	if err != nil {
		t.Skip("clickhouse-server is not installed (apt-get install clickhouse-server); skipping the ClickHouse integration test")
	}
	dir := t.TempDir()
	httpPort, tcpPort := freePort(t), freePort(t)
	config := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>%d</http_port>
  <tcp_port>%d</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>%s/data/</path>
  <tmp_path>%s/tmp/</tmp_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>5368709</mark_cache_size>
</yandex>
`, httpPort, tcpPort, dir, dir)
	users := `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`
	os.WriteFile(filepath.Join(dir, "config.xml"), []byte(config), 0o644)
	os.WriteFile(filepath.Join(dir, "users.xml"), []byte(users), 0o644)
	log, _ := os.Create(filepath.Join(dir, "server.log"))
	defer log.Close()
	cmd := exec.Command(bin, "--config-file="+filepath.Join(dir, "config.xml"))
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting clickhouse-server: %v", err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d/", httpPort)
	query := func(q string) (string, error) {
		resp, err := http.Post(base, "text/plain", strings.NewReader(q))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return "", fmt.Errorf("%s: %s", resp.Status, b)
		}
		return strings.TrimSpace(string(b)), nil
	}
	// Wait until the server answers (a readiness loop, not a timing
	// assertion: a slow machine only makes it loop longer).
	for i := 0; ; i++ {
		if _, err := query("SELECT 1"); err == nil {
			break
		} else if i == 600 {
			b, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			t.Fatalf("clickhouse-server did not start: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := query(`CREATE TABLE clicks (
	    time     DateTime('UTC'),
	    host     String,
	    path     String,
	    status   UInt16,
	    referrer String,
	    agent    String,
	    visitor  String
	) ENGINE = MergeTree()
	PARTITION BY toYYYYMM(time)
	ORDER BY (host, path, time)`); err != nil {
		t.Fatal(err)
	}
	sink := NewHTTPSink(base+"?query="+url.QueryEscape("INSERT INTO clicks FORMAT JSONEachRow"), HTTPOptions{})
	rec := New(sink, Options{BatchSize: 100})
	const n = 1000
	for i := range n {
		e := event(i)
		if i == 0 {
			e.Path = "/odd\"path\\é\x01"
		}
		rec.Record(e)
	}
	if err := rec.Close(); err != nil {
		t.Fatalf("close: %v (sink %+v)", err, sink.Stats())
	}
	if st := rec.Stats(); st.Written != n || sink.Stats().Sent != n {
		t.Fatalf("recorder %+v sink %+v", st, sink.Stats())
	}
	got, err := query("SELECT count(), countIf(agent = 'human'), uniq(visitor), min(time), countIf(path = '/odd\"path\\\\é\\x01') FROM clicks FORMAT TSV")
	if err != nil {
		t.Fatal(err)
	}
	if want := "1000\t1000\t250\t2026-11-29 10:00:00\t1"; got != want {
		t.Fatalf("ClickHouse has %q, want %q", got, want)
	}
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
