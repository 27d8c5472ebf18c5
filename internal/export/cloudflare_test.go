package export

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/redirc/redirc/compiler"
	"github.com/redirc/redirc/runtime"
)

// cfItem is one row of a Cloudflare Bulk Redirects CSV.
type cfItem struct {
	host, path, target, status string
	query, subpath, suffix     bool
}

// cfLookup answers a request as Cloudflare documents Bulk Redirects
// (developers.cloudflare.com/rules/url-forwarding/bulk-redirects/how-it-works):
// an exact item, else the subpath item with the longest path, whose
// target gets the rest of the path when preserve_path_suffix is set and
// the request's query when preserve_query_string is. Case handling is not
// documented; this model ignores case, as the export assumes.
func cfLookup(items []cfItem, host, path, query string) runtime.Result {
	var best *cfItem
	for i := range items {
		it := &items[i]
		if !strings.EqualFold(it.host, host) {
			continue
		}
		p, ip := strings.ToLower(path), strings.ToLower(it.path)
		switch {
		case !it.subpath && p == ip:
			best = it
		case it.subpath && (p == ip || strings.HasPrefix(p, strings.TrimSuffix(ip, "/")+"/")):
			if best == nil || best.subpath && len(it.path) > len(best.path) {
				best = it
			}
		default:
			continue
		}
		if !best.subpath {
			break
		}
	}
	if best == nil {
		return runtime.Result{}
	}
	loc := best.target
	if best.suffix {
		loc += path[len(strings.TrimSuffix(best.path, "/")):]
	}
	if best.query && query != "" {
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		loc += sep + query
	}
	st := map[string]int{"301": 301, "302": 302, "307": 307, "308": 308}[best.status]
	return runtime.Result{Status: st, Location: loc}
}

func TestCloudflareModel(t *testing.T) {
	m := strings.Replace(mixed, "/see,/other,303,,,\n", "", 1) + "/*,/root/:splat,302,,,\n"
	src := compileManifest(t, "m.csv", compiler.FormatCSV, m, false)
	// With --host naming the host of the host-scoped rules, the export
	// answers for that host as the build does.
	const host = "shop.example.com"
	out, res := exportTo(t, Cloudflare, src.b, Options{Host: host})
	if len(res.Skipped) != 0 {
		t.Fatalf("skipped %v", res.Skipped)
	}
	rows, err := csv.NewReader(bytes.NewReader(out["bulk-redirects.csv"])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var items []cfItem
	for _, r := range rows {
		if len(r) != 7 {
			t.Fatalf("row %q: want 7 fields", r)
		}
		if seen[r[0]+r[5]] {
			t.Errorf("duplicate source %q (Cloudflare refuses them in one list)", r[0])
		}
		seen[r[0]+r[5]] = true
		host, path, _ := strings.Cut(r[0], "/")
		items = append(items, cfItem{host, "/" + path, r[1], r[2], r[3] == "true", r[5] == "true", r[6] == "true"})
	}
	bad := 0
	for _, p := range probes(t, src.b) {
		if strings.Contains(p.path, "//") {
			continue // redirc drops a splat's leading '/'s; Cloudflare appends the rest as it is (documented)
		}
		want, got := src.set.Lookup(host, p.path, p.query), cfLookup(items, host, p.path, p.query)
		if want != got {
			bad++
			if bad <= 10 {
				t.Errorf("host %q path %q query %q: build answers %+v, model of the export %+v", host, p.path, p.query, want, got)
			}
		}
	}
}
