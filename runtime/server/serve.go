package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
)

// engine serves one handler on one listener. nethttp.go holds the
// net/http engine, fasthttp.go the fasthttp one, both built from the same
// Options and the Server's engine-neutral parts.
type engine interface {
	// serve accepts connections on ln until shutdown or close; it then
	// returns errEngineClosed.
	serve(ln net.Listener) error
	// shutdown stops accepting and waits for the requests in flight,
	// until ctx is done.
	shutdown(ctx context.Context) error
	// close cuts every connection.
	close() error
}

// newEngine returns the engine of Options.Engine serving the main handler
// (main true) or the admin handler.
func (s *Server) newEngine(main bool) engine {
	if s.opts.Engine == EngineNetHTTP {
		if main {
			return s.newHTTPEngine(s.main)
		}
		return s.newHTTPEngine(s.admin)
	}
	return s.newFastEngine(main)
}

// ListenAndServe listens on Options.Addr (and Options.AdminAddr, if set)
// and calls Serve.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	var adminLn net.Listener
	if s.opts.AdminAddr != "" {
		if adminLn, err = net.Listen("tcp", s.opts.AdminAddr); err != nil {
			ln.Close()
			return fmt.Errorf("server: admin address: %w", err)
		}
	}
	return s.Serve(ctx, ln, adminLn)
}

// Serve serves Handler on ln and, if adminLn is not nil, AdminHandler on
// adminLn, and follows the build directory (unless Options.NoWatch and no
// Poll), until ctx is done. Then it stops accepting connections, lets the
// requests in flight finish for up to Options.ShutdownTimeout, closes the
// listeners and the access log (Close), and returns nil. It returns an
// error if a listener fails. A Server serves once: a second call returns
// an error.
func (s *Server) Serve(ctx context.Context, ln, adminLn net.Listener) error {
	if ln == nil {
		return errors.New("server: Serve: no listener")
	}
	if s.serving.Swap(true) {
		return errServing
	}
	defer s.Close()
	type served struct {
		e  engine
		ln net.Listener
	}
	all := []served{{s.newEngine(true), ln}}
	if adminLn != nil {
		all = append(all, served{s.newEngine(false), adminLn})
	}

	var bg sync.WaitGroup
	bgCtx, cancelBG := context.WithCancel(ctx)
	defer func() { cancelBG(); bg.Wait() }()
	if !s.opts.NoWatch || s.opts.Poll > 0 || s.remoteMetrics != nil {
		bg.Go(func() { s.live.Watch(bgCtx) })
	}

	errc := make(chan error, len(all))
	for _, sv := range all {
		go func() { errc <- sv.e.serve(sv.ln) }()
	}
	s.logServing(ln.Addr(), adminLn)
	if s.opts.Started != nil {
		var a net.Addr
		if adminLn != nil {
			a = adminLn.Addr()
		}
		s.opts.Started(ln.Addr(), a)
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	cancelBG()
	s.log.Info("redirc: shutting down; letting requests in flight finish", "timeout", max(s.opts.ShutdownTimeout, 0))
	sctx, cancel := context.WithTimeout(context.Background(), max(s.opts.ShutdownTimeout, 0))
	defer cancel()
	var wg sync.WaitGroup
	for _, sv := range all {
		wg.Go(func() {
			if err := sv.e.shutdown(sctx); err != nil {
				s.log.Warn("redirc: shutdown cut requests short", "error", err)
				sv.e.close()
			}
		})
	}
	wg.Wait()
	s.Close()
	if serveErr != nil && serveErr != errEngineClosed {
		return fmt.Errorf("server: %w", serveErr)
	}
	m := s.metrics
	s.log.Info("redirc: stopped", "hits", m.Hits(), "misses", m.Misses(), "reloads", m.Reloads())
	return nil
}

// logServing logs where the server listens and what it serves.
func (s *Server) logServing(addr net.Addr, adminLn net.Listener) {
	mainURL := "http://" + displayAddr(addr)
	fallback := "404"
	if f, ok := s.opts.Fallback.(fmt.Stringer); ok {
		fallback = f.String()
	} else if s.opts.Fallback != nil {
		fallback = "handler"
	}
	attrs := []any{"addr", mainURL, "dir", s.live.Dir(), "fallback", fallback}
	switch {
	case adminLn != nil:
		a := "http://" + displayAddr(adminLn.Addr())
		attrs = append(attrs, "healthz", a+healthPath, "metrics", a+metricsPath)
	case s.adminPaths != nil:
		attrs = append(attrs, "healthz", mainURL+s.adminPaths[0], "metrics", mainURL+s.adminPaths[1])
	}
	if st := s.live.Status(); st.BuildID != "" {
		attrs = append(attrs, "build", st.BuildID, "rules", st.Rules)
	}
	s.log.Info("redirc: serving", attrs...)
}

// displayAddr turns a listener's address into one a browser can use:
// an unspecified IP ("[::]:8080") is shown as localhost.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
