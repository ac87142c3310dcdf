package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"nave/internal/accesslog"
	"nave/internal/demo"
	"nave/internal/http1"
	"nave/internal/server"
	"nave/internal/static"
)

const serveUsage = `Usage: nave serve [flags] [DIR]

Serves the files under DIR over HTTP/1.1: "/" gives DIR/index.html, a
missing file a 404 page. Without DIR, nave serves its built-in demo site.
Flags may come before or after DIR. SIGINT or SIGTERM stops accepting and
lets requests in flight finish (up to --drain-timeout); a second signal
stops at once.

Flags:
  --listen ADDR          address to listen on (default 127.0.0.1:8000; use
                         0.0.0.0:8000 to be reachable from other machines)
  --access-log DEST      where to write one line per request: a file path,
                         "-" for standard output, or "off" (default -)
  --log-format FORMAT    access log format: combined or json (default combined)
  --log-level LEVEL      server log level on stderr: debug, info, warn, error
                         (default info)

Limits (sizes take k, m or g, as 64k or 100m):
  --max-request-line SIZE   longest request line; longer gets 414 (default 8k)
  --max-header-bytes SIZE   largest header section; larger gets 431 (default 64k)
  --max-headers N           most header fields; more gets 431 (default 100)
  --max-body SIZE           largest request body; larger gets 413 (default 100m)

Timeouts (durations as 500ms, 30s, 2m):
  --head-timeout D       to receive a request head, from its first byte (default 30s)
  --body-timeout D       between two reads of a request body (default 60s)
  --write-timeout D      between two writes of a response (default 60s)
  --idle-timeout D       for the next request on a kept-alive connection (default 75s)
  --drain-timeout D      for requests in flight to finish at shutdown (default 30s)
`

// DefaultDrainTimeout is how long a signalled shutdown waits for requests
// in flight, as gunicorn's graceful timeout.
const DefaultDrainTimeout = 30 * time.Second

type serveOptions struct {
	listen       string
	accessLog    string
	logFormat    string
	logLevel     string
	limits       http1.Limits
	maxHeaders   int
	timeouts     server.Config
	drainTimeout time.Duration
	dir          string
}

func parseServe(args []string) (*serveOptions, error) {
	o := &serveOptions{drainTimeout: DefaultDrainTimeout}
	lineBytes := int64(http1.DefaultMaxRequestLine)
	headerBytes := int64(http1.DefaultMaxHeaderBytes)
	o.limits.MaxBodyBytes = http1.DefaultMaxBodyBytes
	fs := newFlagSet("serve")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8000", "")
	fs.StringVar(&o.accessLog, "access-log", "-", "")
	fs.StringVar(&o.logFormat, "log-format", "combined", "")
	fs.StringVar(&o.logLevel, "log-level", "info", "")
	fs.Var(sizeValue{&lineBytes}, "max-request-line", "")
	fs.Var(sizeValue{&headerBytes}, "max-header-bytes", "")
	fs.IntVar(&o.maxHeaders, "max-headers", http1.DefaultMaxHeaderCount, "")
	fs.Var(sizeValue{&o.limits.MaxBodyBytes}, "max-body", "")
	fs.DurationVar(&o.timeouts.HeadTimeout, "head-timeout", server.DefaultHeadTimeout, "")
	fs.DurationVar(&o.timeouts.BodyTimeout, "body-timeout", server.DefaultBodyTimeout, "")
	fs.DurationVar(&o.timeouts.WriteTimeout, "write-timeout", server.DefaultWriteTimeout, "")
	fs.DurationVar(&o.timeouts.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", DefaultDrainTimeout, "")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, &usageError{err}
	}
	switch {
	case len(pos) > 1:
		return nil, usagef("one DIR at most, got %d arguments", len(pos))
	case o.maxHeaders <= 0:
		return nil, usagef("--max-headers must be positive, got %d", o.maxHeaders)
	case lineBytes > 1<<30 || headerBytes > 1<<30:
		return nil, usagef("--max-request-line and --max-header-bytes must be at most 1g")
	}
	for name, d := range map[string]time.Duration{
		"head-timeout": o.timeouts.HeadTimeout, "body-timeout": o.timeouts.BodyTimeout,
		"write-timeout": o.timeouts.WriteTimeout, "idle-timeout": o.timeouts.IdleTimeout,
		"drain-timeout": o.drainTimeout,
	} {
		if d <= 0 {
			return nil, usagef("--%s must be positive, got %v", name, d)
		}
	}
	o.limits.MaxRequestLine, o.limits.MaxHeaderBytes = int(lineBytes), int(headerBytes)
	o.limits.MaxHeaderCount = o.maxHeaders
	if len(pos) == 1 {
		o.dir = pos[0]
	}
	return o, nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseServe(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, serveUsage)
		return nil
	}
	if err != nil {
		return err
	}
	logger, err := newLogger(o.logLevel, stderr)
	if err != nil {
		return err
	}
	content, what, err := openContent(o.dir)
	if err != nil {
		return err
	}
	format, err := accesslog.ParseFormat(o.logFormat)
	if err != nil {
		return &usageError{err}
	}
	alog, err := accesslog.Open(o.accessLog, format, logger)
	if err != nil {
		return &usageError{err}
	}
	defer alog.Close()
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return usagef("cannot listen on %s: %v", o.listen, listenReason(err))
	}
	cfg := o.timeouts
	cfg.Handler = static.New(content)
	cfg.Limits = o.limits
	cfg.Logger = logger
	if alog != nil {
		cfg.AccessLog = alog.Log
	}
	srv := server.New(cfg)
	addr := ln.Addr().(*net.TCPAddr)
	fmt.Fprintf(stdout, "Serving %s on %s port %d (http://%s/) ...\n", what, addr.IP, addr.Port, ln.Addr())
	return run(ctx, srv, ln, o.drainTimeout, stderr)
}

// run serves until ctx ends or a signal arrives, then shuts down gracefully.
func run(ctx context.Context, srv *server.Server, ln net.Listener, drain time.Duration, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving stopped: %w", err)
	case <-ctx.Done():
	}
	stop() // from here a second signal ends the process at once
	fmt.Fprintf(stderr, "nave: shutting down; waiting up to %v for requests in flight (signal again to stop now)\n", drain)
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "nave: drain timeout passed; closed the remaining connections\n")
	}
	<-served
	return nil
}

// openContent returns what to serve: DIR confined to an os.Root, or the
// demo site.
func openContent(dir string) (fs.FS, string, error) {
	if dir == "" {
		return demo.FS(), "the built-in demo site", nil
	}
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", usagef("%s: no such directory", dir)
	case err != nil:
		return nil, "", usagef("%v", err)
	case !info.IsDir():
		return nil, "", usagef("%s is not a directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, "", usagef("%v", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return root.FS(), abs, nil
}

func newLogger(level string, stderr io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: l})), nil
}

// listenReason shortens a listen error to its cause ("address already in use").
func listenReason(err error) error {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}
