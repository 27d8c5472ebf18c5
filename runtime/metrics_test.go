package runtime

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="(?:[^"\\]|\\.)*"\})? (-?[0-9][0-9.eE+-]*)$`)

// scrape parses the Prometheus text format strictly enough to catch a
// malformed line or a sample without a TYPE, and returns the samples by
// "name{labels}".
func scrape(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	var sb strings.Builder
	if err := m.WritePrometheus(&sb); err != nil {
		t.Fatal(err)
	}
	typed := map[string]bool{}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(sb.String()))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# TYPE ") {
			f := strings.Fields(line)
			if len(f) != 4 || (f[3] != "counter" && f[3] != "gauge") {
				t.Errorf("bad TYPE line %q", line)
			}
			typed[f[2]] = true
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		g := sampleLine.FindStringSubmatch(line)
		if g == nil {
			t.Errorf("malformed sample line %q", line)
			continue
		}
		if !typed[g[1]] {
			t.Errorf("sample %q before its TYPE", line)
		}
		v, err := strconv.ParseFloat(g[3], 64)
		if err != nil {
			t.Errorf("bad value in %q", line)
		}
		out[g[1]+g[2]] = v
	}
	return out
}

func TestMetricsMove(t *testing.T) {
	dir := t.TempDir()
	writeBuild(t, dir, handlerRules...)
	m := NewMetrics()
	l := NewLive(dir, LiveOptions{Logger: testLogger(t), Metrics: m, Debounce: 10 * time.Millisecond})
	s := scrape(t, m)
	if s["redirc_build_loaded"] != 0 || s["redirc_reloads_total"] != 0 {
		t.Errorf("before load: %v", s)
	}
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	clicks := NewEventSink("clicks", 1, func(Event) { <-release }) // a stuck consumer
	defer func() { close(release); clicks.Close() }()
	base := startHandler(t, NewHandler(l, nil, HandlerOptions{Metrics: m, Clicks: clicks}))
	for _, p := range []string{"/perm", "/perm", "/found", "/gone", "/temp", "/nope", "/nope2", "/perm8"} {
		do(t, "GET", base+p, "")
	}
	s = scrape(t, m)
	want := map[string]float64{
		`redirc_redirects_total{status="301"}`:                     2,
		`redirc_redirects_total{status="302"}`:                     1,
		`redirc_redirects_total{status="303"}`:                     0,
		`redirc_redirects_total{status="307"}`:                     1,
		`redirc_redirects_total{status="308"}`:                     1,
		`redirc_redirects_total{status="410"}`:                     1,
		`redirc_hits_total`:                                        6,
		`redirc_misses_total`:                                      2,
		`redirc_reloads_total`:                                     1,
		`redirc_reload_failures_total`:                             0,
		`redirc_build_loaded`:                                      1,
		`redirc_build_rules`:                                       float64(len(handlerRules)),
		`redirc_reload_failing`:                                    0,
		`redirc_events_total{sink="clicks"}`:                       s[`redirc_events_total{sink="clicks"}`],
		`redirc_build_info{build_id="` + l.Status().BuildID + `"}`: 1,
	}
	for k, v := range want {
		if got, ok := s[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	// The click sink holds one event at most and its consumer is stuck:
	// the other hits were dropped and counted.
	if s[`redirc_events_total{sink="clicks"}`]+s[`redirc_events_dropped_total{sink="clicks"}`] != 6 ||
		s[`redirc_events_dropped_total{sink="clicks"}`] < 4 {
		t.Errorf("click sink counters: %v sent, %v dropped", s[`redirc_events_total{sink="clicks"}`], s[`redirc_events_dropped_total{sink="clicks"}`])
	}

	// A refused build moves the failure counters.
	if err := writeFile(dir, "index.json", "{"); err != nil {
		t.Fatal(err)
	}
	if l.Reload() == nil {
		t.Fatal("a broken index was accepted")
	}
	s = scrape(t, m)
	if s["redirc_reload_failures_total"] != 1 || s["redirc_reload_failing"] != 1 || s["redirc_build_loaded"] != 1 {
		t.Errorf("after a refused build: %v", s)
	}

	// Served over HTTP with the right content type.
	mb := startHandler(t, m)
	r := do(t, "GET", mb, "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain; version=0.0.4") || !strings.Contains(r.body, "redirc_hits_total 6") {
		t.Errorf("GET metrics: %d %q\n%s", r.status, r.header.Get("Content-Type"), r.body)
	}
}

func TestMetricsNil(t *testing.T) {
	var m *Metrics
	m.hit(301)
	m.miss()
	m.AddSink(nil)
	if m.Hits() != 0 || m.Misses() != 0 || m.Reloads() != 0 {
		t.Error("nil Metrics counted")
	}
	var sb strings.Builder
	if err := m.WritePrometheus(&sb); err != nil || sb.Len() != 0 {
		t.Errorf("nil Metrics wrote %q, %v", sb.String(), err)
	}
}

func writeFile(dir, name, content string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
}
