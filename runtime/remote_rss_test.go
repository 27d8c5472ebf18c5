package runtime

import (
	"bufio"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/redirc/redirc/internal/rulekey"
	"github.com/redirc/redirc/shardfmt"
)

var (
	rssBuild = flag.String("rss-build", "", "TestRemoteRSS: a build directory whose rules file is rss-rules (\"\": skip)")
	rssRules = flag.String("rss-rules", "", "TestRemoteRSS: the CSV the build was made from (first column: source)")
	rssMode  = flag.String("rss-mode", "remote", "TestRemoteRSS: none (baseline), local or remote")
	rssCache = flag.Int64("rss-cache", 16<<20, "TestRemoteRSS: RemoteOptions.CacheBytes")
)

// TestRemoteRSS answers every exact rule of a build, in shard order, from
// a local directory or through an origin with a bounded cache, and logs the
// process's peak RSS. A measurement, not a threshold; run the two modes in
// separate processes, side by side:
//
//	go test -run RemoteRSS -v ./runtime -args -rss-build=B -rss-rules=R.csv -rss-mode=local
//	go test -run RemoteRSS -v ./runtime -args -rss-build=B -rss-rules=R.csv -rss-mode=remote -rss-cache=16777216
func TestRemoteRSS(t *testing.T) {
	if *rssBuild == "" {
		t.Skip("opt-in measurement: -rss-build DIR -rss-rules FILE")
	}
	ixb, err := os.ReadFile(filepath.Join(*rssBuild, shardfmt.IndexFileName))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := shardfmt.ParseIndex(ixb)
	if err != nil {
		t.Fatal(err)
	}
	// The sources, grouped by the shard of their exact key, as one
	// []byte of lines per shard (no string per rule held).
	f, err := os.Open(*rssRules)
	if err != nil {
		t.Fatal(err)
	}
	byShard := make([][]byte, ix.ShardCount)
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	var kb []byte
	for sc.Scan() {
		src, _, _ := strings.Cut(sc.Text(), ",")
		if strings.ContainsAny(src, "*:") || !strings.HasPrefix(src, "/") {
			continue
		}
		kb, err = rulekey.Append(kb[:0], rulekey.Exact, "", src, ix.StrictTrailingSlash)
		if err != nil {
			continue
		}
		s := shardfmt.ShardOf(shardfmt.Hash(ix.HashSeed, kb), ix.ShardCount)
		byShard[s] = append(append(byShard[s], src...), '\n')
	}
	f.Close()
	var src Source = (*Set)(nil)
	switch *rssMode {
	case "none": // the baseline: the sources and the test binary
	case "local":
		s, err := Open(*rssBuild)
		if err != nil {
			t.Fatal(err)
		}
		src = s
	default:
		o := newTestOrigin(t, *rssBuild)
		l, err := OpenRemote(context.Background(), o.url(), LiveOptions{Remote: RemoteOptions{CacheBytes: *rssCache}})
		if err != nil {
			t.Fatal(err)
		}
		src = l
	}
	set := src.Current()
	hits, total := 0, 0
	for _, lines := range byShard {
		for line := range strings.SplitSeq(string(lines), "\n") {
			if line == "" {
				continue
			}
			total++
			if set.Lookup("", line, "").Found() {
				hits++
			}
		}
	}
	st, _ := os.ReadFile("/proc/self/status")
	var rss []string
	for l := range strings.SplitSeq(string(st), "\n") {
		if strings.HasPrefix(l, "VmHWM") || strings.HasPrefix(l, "VmRSS") {
			rss = append(rss, strings.Join(strings.Fields(l), " "))
		}
	}
	slices.Sort(rss)
	t.Logf("%s, cache %d: %d of %d sources answered; %s", *rssMode, *rssCache, hits, total, strings.Join(rss, ", "))
	if *rssMode != "none" && hits < total*9/10 {
		t.Errorf("only %d of %d answered", hits, total)
	}
}
