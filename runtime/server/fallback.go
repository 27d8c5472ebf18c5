package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"strings"
	"sync/atomic"

	"github.com/redirc/redirc/runtime"
)

// ErrBadFallback is wrapped by the errors of FallbackDir and FallbackURL
// when what they were given cannot be a fallback (not a directory, not an
// upstream URL). Errors reading the directory wrap the fs error instead.
var ErrBadFallback = errors.New("server: unusable fallback")

// FallbackDir returns a handler for misses that serves the files in dir,
// as http.FileServer does, except that a directory is served only as its
// index.html and never listed.
func FallbackDir(dir string) (http.Handler, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("server: fallback directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrBadFallback, dir)
	}
	files := noListing{http.Dir(dir)}
	return dirFallback{http.FileServer(files), dir, files}, nil
}

type dirFallback struct {
	http.Handler
	dir   string
	files noListing
}

// exists reports whether the fallback would serve a file (or a
// directory's index.html) for r: an unforced rule yields to it, as on
// Netlify (runtime.HandlerOptions.Shadowed). It opens the file, as
// http.FileServer would, only for hits on unforced rules.
func (d dirFallback) exists(r *http.Request) bool {
	name := r.URL.Path
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	f, err := d.files.Open(path.Clean(name))
	if err != nil {
		return false
	}
	f.Close()
	return true
}

func (d dirFallback) String() string { return "files in " + d.dir }

// noListing hides directories that have no index.html, so http.FileServer
// never lists a directory's contents.
type noListing struct{ fs http.FileSystem }

func (n noListing) Open(name string) (http.File, error) {
	f, err := n.fs.Open(name)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		idx, err := n.fs.Open(path.Join(name, "index.html"))
		if err != nil {
			f.Close()
			return nil, fs.ErrNotExist
		}
		idx.Close()
	}
	return f, nil
}

// FallbackURL returns a handler for misses that proxies them to the
// upstream rawURL (http or https, with a host, and no query or fragment;
// a path is prepended to the request's). The upstream gets the request
// with its Host set to the upstream's and X-Forwarded-For, -Host and
// -Proto added. An upstream that fails gives 502 Bad Gateway, a warning on
// logger (nil: slog.Default()) and, once given to New in Options.Fallback,
// a count in redirc_upstream_errors_total (a client that went away is
// neither).
func FallbackURL(rawURL string, logger *slog.Logger) (http.Handler, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadFallback, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: %q: want an upstream URL such as http://127.0.0.1:3000 (no query or fragment)", ErrBadFallback, rawURL)
	}
	if logger == nil {
		logger = slog.Default()
	}
	p := &proxyFallback{upstream: u.Redacted()}
	p.Handler = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if !errors.Is(err, context.Canceled) {
				p.metrics.Load().CountUpstreamError()
				logger.Warn("redirc: fallback upstream failed", "upstream", u.Redacted(), "path", r.URL.Path, "error", err)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return p, nil
}

type proxyFallback struct {
	http.Handler
	upstream string
	// metrics counts the upstream failures (redirc_upstream_errors_total):
	// those of the last Server the fallback was given to (New sets it).
	metrics atomic.Pointer[runtime.Metrics]
}

func (p *proxyFallback) String() string { return "proxy to " + p.upstream }
