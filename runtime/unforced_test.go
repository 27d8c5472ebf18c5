package runtime

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redirc/redirc/compiler"
)

// TestUnforced: Result.Unforced carries the rule's flag, and a Handler
// asks Shadowed only about hits on unforced rules.
func TestUnforced(t *testing.T) {
	rs := []compiler.Rule{
		{Source: "/u", Destination: "/x", Status: 301, Unforced: true},
		{Source: "/f", Destination: "/x", Status: 301},
		{Source: "/g", Status: 410, Unforced: true},
		{Source: "/e", Destination: "/x", Status: 301, Unforced: true, Expires: time.Unix(1, 0)},
	}
	b, ps, err := compiler.Compile(rs, compiler.Options{Now: time.Unix(0, 0)})
	if err != nil {
		t.Fatalf("compile: %v %v", err, ps)
	}
	s := fromBuild(t, b)
	for path, want := range map[string]Result{
		"/u": {Status: 301, Location: "/x", Unforced: true},
		"/f": {Status: 301, Location: "/x"},
		"/g": {Status: 410, Unforced: true},
		"/e": {Status: 410, Unforced: true},
	} {
		if got := s.Lookup("h", path, ""); got != want {
			t.Errorf("Lookup(%s) = %+v, want %+v", path, got, want)
		}
	}
	var asked []string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	h := NewHandler(s, next, HandlerOptions{Shadowed: func(r *http.Request) bool {
		asked = append(asked, r.URL.Path)
		return r.URL.Path == "/u"
	}})
	for path, want := range map[string]int{"/u": 299, "/f": 301, "/g": 410, "/miss": 299} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want {
			t.Errorf("GET %s: %d, want %d", path, w.Code, want)
		}
	}
	if len(asked) != 2 {
		t.Errorf("Shadowed asked about %v, want /u and /g only", asked)
	}
}
