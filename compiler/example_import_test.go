package compiler_test

import (
	"fmt"
	"strings"
	"testing/fstest"

	"github.com/redirc/redirc/compiler"
)

// Reading an nginx configuration: its map include comes from IncludeFS
// (nil reads the operating system's files), and each rule keeps nginx's
// precedence in Order. The only server is the default one, so its rules
// apply to every host.
func ExampleRead_nginx() {
	conf := `
map $uri $new {
    include redirects.map;
}
server {
    server_name example.com;
    if ($new) { return 301 $new; }
    location ~ ^/blog/(\d+)$ { return 302 /posts/$1; }
}
`
	fsys := fstest.MapFS{"redirects.map": {Data: []byte("/old /new;\n")}}
	rules, problems, err := compiler.Read("site.conf", strings.NewReader(conf),
		compiler.ReadOptions{IncludeFS: fsys})
	if err != nil || len(problems) > 0 {
		fmt.Println(err, problems)
		return
	}
	for _, r := range rules {
		fmt.Printf("%s order=%d %s host=%q %q -> %q %d pass=%v\n", r.Pos, r.Order, r.Syntax, r.Host, r.Source, r.Destination, r.Status, r.Pass)
	}
	// Output:
	// redirects.map:1 order=1 path host="" "/old" -> "/new" 301 pass=false
	// site.conf:8 order=2 regex host="" "^/blog/(\\d+)$" -> "/posts/$1" 302 pass=false
}
