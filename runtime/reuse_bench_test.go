package runtime

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/redirc/redirc/compiler"
)

var reloadRules = flag.Int("reload-rules", 0, "TestReloadOneRuleTiming: rules in the build (0: skip)")

// TestReloadOneRuleTiming times a one-rule change to a large build: the
// reload (shard by shard) against a full open of the same build, side by
// side. It is a measurement, not a pass/fail threshold; opt in with
//
//	go test -run ReloadOneRuleTiming -v -args -reload-rules=1000000 ./runtime
func TestReloadOneRuleTiming(t *testing.T) {
	if *reloadRules == 0 {
		t.Skip("opt-in measurement: -reload-rules N")
	}
	dir := t.TempDir()
	lines := bigRules(*reloadRules)
	writeBuildOpts(t, dir, compiler.Options{}, lines...)
	l, err := OpenLive(dir, LiveOptions{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		lines[round] = fmt.Sprintf("/r/%d /changed/%d 302", round, round)
		writeBuildOpts(t, dir, compiler.Options{}, lines...)
		start := time.Now()
		if err := l.Reload(); err != nil {
			t.Fatal(err)
		}
		reload := time.Since(start)
		if res := l.Lookup("", fmt.Sprintf("/r/%d", round), ""); res.Location != fmt.Sprintf("/changed/%d", round) {
			t.Fatalf("after reload: %+v", res)
		}
		start = time.Now()
		if _, err := Open(dir); err != nil {
			t.Fatal(err)
		}
		full := time.Since(start)
		t.Logf("%d rules, one rule changed: reload shard by shard %v, full open %v (%.1fx)", *reloadRules, reload, full, float64(full)/float64(reload))
	}
}
