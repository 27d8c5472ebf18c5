package synth

import (
	"regexp"
	"testing"
)

func TestPathsMatch(t *testing.T) {
	for _, r := range Nginx(50, 1) {
		if p := NginxPath(r); !regexp.MustCompile(r.Source).MatchString(p) {
			t.Errorf("%s does not match %s", r.Source, p)
		}
	}
	a, b := Kong(10, 1), Kong(10, 1)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("not deterministic")
		}
	}
}
