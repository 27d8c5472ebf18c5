package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
)

// errEngineClosed is what an engine's serve returns after shutdown.
var errEngineClosed = http.ErrServerClosed

// httpEngine is the net/http engine.
type httpEngine struct{ srv *http.Server }

// newHTTPEngine returns the net/http engine serving h with the Server's
// timeouts and limits.
func (s *Server) newHTTPEngine(h http.Handler) engine {
	return httpEngine{&http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}}
}

func (e httpEngine) serve(ln net.Listener) error {
	err := e.srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return errEngineClosed
	}
	return err
}

func (e httpEngine) shutdown(ctx context.Context) error { return e.srv.Shutdown(ctx) }
func (e httpEngine) close() error                       { return e.srv.Close() }
