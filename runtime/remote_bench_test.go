package runtime

import (
	"fmt"
	"testing"

	"github.com/redirc/redirc/compiler"
)

// BenchmarkRemoteVsLocal looks up hits of a 100,000-rule build served from
// a local directory and from an origin (warm cache: every shard loaded),
// side by side:
//
//	go test -run '^$' -bench RemoteVsLocal -benchtime 2000000x ./runtime
func BenchmarkRemoteVsLocal(b *testing.B) {
	dir := b.TempDir()
	const n = 100000
	writeBuildOpts(b, dir, compiler.Options{}, bigRules(n)...)
	local, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	o := newTestOriginB(b, dir)
	remote, err := OpenRemote(b.Context(), o.url(), LiveOptions{Remote: RemoteOptions{Preload: true}, Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	paths := make([]string, 4096)
	for i := range paths {
		paths[i] = fmt.Sprintf("/r/%d", (i*7919)%n)
	}
	for _, bc := range []struct {
		name string
		src  Source
	}{{"local", local}, {"remote", remote}} {
		b.Run(bc.name, func(b *testing.B) {
			s := bc.src.Current()
			for i := 0; b.Loop(); i++ {
				if !s.Lookup("", paths[i&4095], "").Found() {
					b.Fatal("miss")
				}
			}
		})
	}
}
