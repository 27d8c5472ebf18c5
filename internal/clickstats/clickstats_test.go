package clickstats

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redirc/redirc/runtime/clicks"
)

func TestAggregate(t *testing.T) {
	base := time.Date(2026, 11, 29, 10, 30, 0, 0, time.UTC)
	var lines []byte
	add := func(path string, at time.Time, agent clicks.Agent, visitor uint64) {
		ref := []string{"", "news.example", "news.example", "t.co"}[visitor%4]
		c := clicks.Click{Time: at, Host: "sho.rt", Path: path, Status: 302, Agent: agent, Visitor: visitor, Referrer: ref}
		lines = c.AppendJSON(lines)
	}
	for i := range 1000 {
		add("/a", base.Add(time.Duration(i)*time.Minute), clicks.AgentHuman, uint64(i%100)*0x9e3779b97f4a7c15)
	}
	add("/b", base, clicks.AgentPreview, 1)
	add("/b", base, clicks.AgentScanner, 2)
	add("/b", base, clicks.AgentBot, 3)
	add("/b", base.Add(-48*time.Hour), clicks.AgentHuman, 4) // before --since
	p := filepath.Join(t.TempDir(), "c.jsonl")
	os.WriteFile(p, lines, 0o644)

	agg := New(base.Add(-time.Hour), false)
	if _, err := clicks.Read([]string{p}, func(rc *clicks.RawClick) error { agg.Add(rc); return nil }); err != nil {
		t.Fatal(err)
	}
	links := agg.Links(0)
	if len(links) != 2 || links[0].Code != "a" || links[1].Code != "b" || agg.Skipped != 1 {
		t.Fatalf("links %+v skipped %d", links, agg.Skipped)
	}
	a, b := links[0], links[1]
	if a.Clicks != 1000 || a.Humans != 1000 || a.Bots != 0 || a.Unique < 97 || a.Unique > 103 {
		t.Errorf("a: %+v", a)
	}
	if b.Clicks != 3 || b.Humans != 0 || b.Bots != 3 || b.Previews != 1 || b.Scanners != 1 || b.Unique != 0 {
		t.Errorf("b: %+v", b)
	}
	// 1000 minutes from 10:30: 30 in hour 10, 60 in each of 16 hours, 10 in 03:00 the next day.
	if a.Hours["2026-11-29T10"] != 30 || a.Hours["2026-11-29T11"] != 60 || len(a.Hours) != 18 {
		t.Errorf("hours %v", a.Hours)
	}
	if a.Days["2026-11-29"]+a.Days["2026-11-30"] != 1000 || a.Days["2026-11-29"] != 810 {
		t.Errorf("days %v", a.Days)
	}
	if !a.First.Equal(base) || !a.Last.Equal(base.Add(999*time.Minute)) {
		t.Errorf("first %v last %v", a.First, a.Last)
	}
	// a's visitors are (i%100) times an odd number, so visitor%4 == i%4:
	// 250 clicks with each of "", news.example, news.example, t.co.
	if len(a.Referrers) != 2 || a.Referrers[0] != (Referrer{"news.example", 500}) || a.Referrers[1] != (Referrer{"t.co", 250}) {
		t.Errorf("referrers of a: %v", a.Referrers)
	}
	if len(b.Referrers) != 2 || b.Referrers[0] != (Referrer{"news.example", 2}) || b.Referrers[1] != (Referrer{"t.co", 1}) {
		t.Errorf("referrers of b: %v", b.Referrers)
	}
	if top := agg.Links(1); len(top) != 1 || top[0].Code != "a" {
		t.Errorf("top 1: %+v", top)
	}
}

func TestAggregateByHost(t *testing.T) {
	agg := New(time.Time{}, true)
	for _, h := range []string{"a.example", "b.example", "a.example"} {
		agg.Add(&clicks.RawClick{Unix: 1e9, Host: []byte(h), Path: []byte("/x")})
	}
	links := agg.Links(0)
	if len(links) != 2 || links[0].Code != "a.example/x" || links[0].Clicks != 2 || links[1].Code != "b.example/x" {
		t.Fatalf("%+v", links)
	}
}

// benchLines makes n records over 10,000 links and 50,000 visitors, 80%
// human, in time order.
func benchLines(n int) []byte {
	var b []byte
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	agents := []clicks.Agent{clicks.AgentHuman, clicks.AgentHuman, clicks.AgentHuman, clicks.AgentHuman, clicks.AgentBot}
	for i := range n {
		c := clicks.Click{
			Time: t0.Add(time.Duration(i) * 50 * time.Millisecond), Host: "sho.rt",
			Path: fmt.Sprintf("/%06x", (i*7919)%10000), Status: 302, Referrer: "news.example",
			Agent: agents[i%5], Visitor: uint64(i%50000) * 0x9e3779b97f4a7c15,
		}
		b = c.AppendJSON(b)
	}
	return b
}

// BenchmarkAggregate measures records read and aggregated per second on
// one goroutine, from a plain file and from a zstd file as DirSink writes
// them:
//
//	go test -run '^$' -bench Aggregate -cpu 1 ./internal/clickstats/
func BenchmarkAggregate(b *testing.B) {
	const n = 1 << 20
	lines := benchLines(n)
	dir := b.TempDir()
	plain := filepath.Join(dir, "c.jsonl")
	os.WriteFile(plain, lines, 0o644)
	d, err := clicks.NewDirSink(filepath.Join(dir, "zst"), clicks.DirOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var rc clicks.RawClick
	var batch []clicks.Click
	for off := 0; off < len(lines); {
		end := off
		for end < len(lines) && lines[end] != '\n' {
			end++
		}
		clicks.ParseLine(lines[off:end], &rc, nil)
		batch = append(batch, clicks.Click{Time: time.Unix(rc.Unix, 0), Host: string(rc.Host), Path: string(rc.Path), Status: rc.Status, Referrer: string(rc.Referrer), Agent: rc.Agent, Visitor: rc.Visitor})
		off = end + 1
	}
	d.WriteBatch(batch)
	d.Close()
	for _, tc := range []struct{ name, path string }{{"plain", plain}, {"zstd", filepath.Join(dir, "zst")}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(lines)))
			for b.Loop() {
				agg := New(time.Time{}, false)
				st, err := clicks.Read([]string{tc.path}, func(rc *clicks.RawClick) error { agg.Add(rc); return nil })
				if err != nil || st.Lines != n {
					b.Fatalf("%v %+v", err, st)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
