package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"nave/internal/accesslog"
	"nave/internal/config"
	"nave/internal/http1"
	"nave/internal/server"
	"nave/internal/web"
)

// serverFlags are the flags of the HTTP side that every serving command
// shares: the listener, the logs, the limits and the timeouts.
type serverFlags struct {
	listen       string
	accessLog    string
	logFormat    string
	logLevel     string
	requestID    string
	trusted      []string // --trusted-proxies
	proxyProto   bool     // --proxy-protocol
	trace        traceValue
	tracePath    string
	lineBytes    int64
	headerBytes  int64
	maxHeaders   int
	maxBody      int64
	timeouts     server.Config
	drainTimeout time.Duration
	drainDelay   time.Duration
	upgrade      time.Duration
	metrics      string
	status       string
	noBind       bool
	tls          tlsFlags
	h2           h2Flags
}

// register declares the flags on fs with their defaults.
func (f *serverFlags) register(fs *flag.FlagSet) {
	f.lineBytes = http1.DefaultMaxRequestLine
	f.headerBytes = http1.DefaultMaxHeaderBytes
	f.maxBody = http1.DefaultMaxBodyBytes
	fs.StringVar(&f.listen, "listen", "", "")
	fs.StringVar(&f.accessLog, "access-log", "-", "")
	fs.StringVar(&f.logFormat, "log-format", "combined", "")
	fs.StringVar(&f.logLevel, "log-level", "info", "")
	fs.StringVar(&f.requestID, "request-id", "X-Request-ID", "")
	fs.BoolVar(&f.proxyProto, "proxy-protocol", false, "")
	fs.Func("trusted-proxies", "", func(s string) error {
		f.trusted = nil
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				f.trusted = append(f.trusted, p)
			}
		}
		return nil
	})
	fs.Var(&f.trace, "trace", "")
	fs.StringVar(&f.tracePath, "trace-path", "", "")
	fs.Var(sizeValue{&f.lineBytes}, "max-request-line", "")
	fs.Var(sizeValue{&f.headerBytes}, "max-header-bytes", "")
	fs.IntVar(&f.maxHeaders, "max-headers", http1.DefaultMaxHeaderCount, "")
	fs.Var(sizeValue{&f.maxBody}, "max-body", "")
	fs.DurationVar(&f.timeouts.HeadTimeout, "head-timeout", server.DefaultHeadTimeout, "")
	fs.DurationVar(&f.timeouts.BodyTimeout, "body-timeout", server.DefaultBodyTimeout, "")
	fs.DurationVar(&f.timeouts.WriteTimeout, "write-timeout", server.DefaultWriteTimeout, "")
	fs.DurationVar(&f.timeouts.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", DefaultDrainTimeout, "")
	fs.DurationVar(&f.drainDelay, "drain-delay", 0, "")
	fs.DurationVar(&f.upgrade, "upgrade-timeout", config.DefaultUpgradeTimeout, "")
	fs.StringVar(&f.metrics, "metrics", "", "")
	fs.StringVar(&f.status, "status", "", "")
	fs.BoolVar(&f.noBind, "no-bind", false, "")
	f.tls.register(fs)
	f.h2.register(fs)
}

// traceValue is --trace: alone, standard error; --trace=FILE, a file.
type traceValue string

func (v *traceValue) String() string   { return string(*v) }
func (v *traceValue) IsBoolFlag() bool { return true }
func (v *traceValue) Set(s string) error {
	switch s {
	case "true":
		*v = "-"
	case "false":
		*v = ""
	default:
		*v = traceValue(s)
	}
	return nil
}

// Default listening addresses, plain and with HTTPS.
const (
	DefaultListen    = "127.0.0.1:8000"
	DefaultListenTLS = "127.0.0.1:8443"
)

// check validates the values after parsing.
func (f *serverFlags) check() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return usagef("--log-level %q: use debug, info, warn or error", f.logLevel)
	}
	if _, err := accesslog.ParseFormat(f.logFormat); err != nil {
		return usagef("--log-format: %s", strings.TrimPrefix(err.Error(), "accesslog: "))
	}
	if f.requestID != "off" && !web.ValidFieldName(f.requestID) {
		return usagef("--request-id %q: want a header field name, as X-Request-ID, or off", f.requestID)
	}
	for _, p := range f.trusted {
		if _, ok := config.ParseProxy(p); !ok {
			return usagef("--trusted-proxies: %q is not an address, a CIDR prefix (as 10.0.0.0/8) or unix", p)
		}
	}
	if f.tracePath != "" && !strings.HasPrefix(f.tracePath, "/") {
		return usagef("--trace-path %q: want a path, starting with /", f.tracePath)
	}
	if err := f.tls.check(); err != nil {
		return err
	}
	f.timeouts.HandshakeTimeout = f.tls.handshakeTimeout
	if err := f.h2.check(&f.timeouts); err != nil {
		return err
	}
	f.tls.http2 = f.h2.on
	if f.listen == "" {
		f.listen = DefaultListen
		if f.tls.enabled() {
			f.listen = DefaultListenTLS
		}
	}
	if p, ok := config.SocketPath(f.listen); ok {
		if problem := config.SocketPathProblem(p); problem != "" {
			return usagef("--listen %q: %s", f.listen, problem)
		}
	}
	switch {
	case f.maxHeaders <= 0:
		return usagef("--max-headers must be positive, got %d", f.maxHeaders)
	case f.lineBytes > 1<<30 || f.headerBytes > 1<<30:
		return usagef("--max-request-line and --max-header-bytes must be at most 1g")
	case f.drainDelay < 0:
		return usagef("--drain-delay must not be negative, got %v", f.drainDelay)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"head-timeout", f.timeouts.HeadTimeout}, {"body-timeout", f.timeouts.BodyTimeout},
		{"write-timeout", f.timeouts.WriteTimeout}, {"idle-timeout", f.timeouts.IdleTimeout},
		{"drain-timeout", f.drainTimeout}, {"upgrade-timeout", f.upgrade},
	} {
		if d.v <= 0 {
			return usagef("--%s must be positive, got %v", d.name, d.v)
		}
	}
	return nil
}

// listeners are what a serving command listens on.
type listeners struct {
	main     net.Listener
	tls      *tlsSetup    // nil in the clear
	redirect net.Listener // --redirect-http, or nil
	metrics  net.Listener // --metrics, or nil
	status   net.Listener // --status, or nil (the metrics one when they share an address)
}

func (l *listeners) close() {
	l.main.Close()
	if l.redirect != nil {
		l.redirect.Close()
	}
}

// where says where the main listener serves, for the line nave prints as
// it starts.
func (l *listeners) where() string { return listenerWhere(l.main, l.tls != nil) }

// listenerWhere is "IP port N (URL)" for a TCP listener, "unix:PATH
// (...)" for a Unix socket's.
func listenerWhere(ln net.Listener, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	if u, ok := ln.Addr().(*net.UnixAddr); ok {
		return fmt.Sprintf("unix:%s (%s through the socket: curl --unix-socket %s %s://localhost/)", u.Name, scheme, u.Name, scheme)
	}
	a := ln.Addr().(*net.TCPAddr)
	return fmt.Sprintf("%s port %d (%s://%s/)", a.IP, a.Port, scheme, ln.Addr())
}

// announceOthers says where --redirect-http and --metrics listen, if
// they do.
func (l *listeners) announceOthers(w io.Writer) {
	if l.redirect != nil {
		fmt.Fprintf(w, "Redirecting http://%s/ to https\n", l.redirect.Addr())
	}
	if l.metrics != nil {
		fmt.Fprintf(w, "Metrics at http://%s/metrics\n", l.metrics.Addr())
	}
	if l.status != nil {
		fmt.Fprintf(w, "Status page at http://%s/\n", l.status.Addr())
	}
}

// listen opens a TCP listener, or a Unix socket's for "unix:PATH", with a
// usage error naming the address.
func listen(addr string) (net.Listener, error) {
	if p, ok := config.SocketPath(addr); ok {
		return listenHTTPUnix(p)
	}
	// No TCP keep-alive probes on accepted connections (nginx's default):
	// the idle timeout ends a connection whose client vanished, and Go's
	// default probes cost four setsockopt calls per connection.
	lc := net.ListenConfig{KeepAlive: -1, Control: deferAccept}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, usagef("cannot listen on %s: %v", addr, listenReason(err))
	}
	return ln, nil
}

// limits returns the http1 limits the flags set.
func (f *serverFlags) limits() http1.Limits {
	return http1.Limits{
		MaxRequestLine: int(f.lineBytes),
		MaxHeaderBytes: int(f.headerBytes),
		MaxHeaderCount: f.maxHeaders,
		MaxBodyBytes:   f.maxBody,
	}
}

const serverFlagsUsage = `Server (as for nave serve):
  --listen ADDR          address to listen on (default 127.0.0.1:8000, or
                         127.0.0.1:8443 with HTTPS), or unix:PATH for a Unix
                         socket
  --access-log DEST      a file path, "-" for standard output, or "off" (default -)
  --log-format FORMAT    access log format: combined, json, or a format string
                         as nginx's log_format, as '$remote_addr $status
                         $request_time' (default combined)
  --request-id NAME      header field of request ids, or off (default X-Request-ID)
  --trusted-proxies LIST addresses and CIDRs (comma-separated) of the proxies
                         in front, unix for any peer on a Unix socket: their
                         X-Forwarded-For and X-Forwarded-Proto give apps the
                         client and scheme, their request ids are kept
                         (default none)
  --proxy-protocol       connections open with a PROXY protocol v1 or v2 header
                         (HAProxy's send-proxy), whose client address nave
                         believes from --trusted-proxies (anyone without it)
  --trace[=FILE]         print each request and response head as it crossed the
                         wire (HTTP/2: frames), to stderr or FILE (default off)
  --trace-path PREFIX    trace only requests whose path starts with PREFIX
  --log-level LEVEL      server log level on stderr: debug, info, warn, error
                         (default info)
  --max-request-line SIZE, --max-header-bytes SIZE, --max-headers N
                         request head limits (defaults 8k, 64k, 100)
  --max-body SIZE        largest request body; larger gets 413 (default 100m)
  --head-timeout D, --body-timeout D, --write-timeout D, --idle-timeout D
                         (defaults 30s, 60s, 60s, 75s)
  --drain-timeout D      for requests in flight to finish at shutdown (default 30s)
  --drain-delay D        at shutdown, fail /readyz and serve on for D before
                         closing connections, while load balancers notice
                         (default 0)
  --upgrade-timeout D    for the new binary to be ready after SIGUSR2, else it
                         is killed and this one serves on (default 60s)
  --metrics ADDR         serve Prometheus metrics at http://ADDR/metrics, and
                         the probes /livez and /readyz (default off)
  --status ADDR          serve the status page at http://ADDR/ and its JSON at
                         http://ADDR/status (default off; may be --metrics's ADDR)
  --no-bind              take every listening socket from systemd (a socket
                         unit); open none (docs/operations.md)
` + tlsFlagsUsage + h2FlagsUsage
