//go:build race

package runtime_test

// raceEnabled: under the race detector sync.Pool drops a quarter of what is
// put back, on purpose, so a pooled buffer is sometimes allocated afresh.
const raceEnabled = true
