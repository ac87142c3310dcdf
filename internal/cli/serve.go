package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"nave/internal/demo"
	"nave/internal/static"
)

const serveUsage = `Usage: nave serve [flags] [DIR]

Serves the files under DIR over HTTP/1.1 and HTTP/2, or HTTPS: "/" gives
DIR/index.html, a missing file a 404 page. Without DIR, nave serves its
built-in demo site. Flags may come before or after DIR. SIGINT or SIGTERM
stops accepting and lets requests in flight finish (up to --drain-timeout);
a second signal stops at once; SIGHUP reloads the TLS certificates;
SIGUSR1 reopens the access log file (for logrotate); SIGUSR2 starts the
binary at nave's path again, hands it the listening sockets, and drains
once it is ready (docs/operations.md). See
docs/static.md for the file server's behaviour, docs/tls.md for HTTPS.

Flags:
  --listen ADDR          address to listen on (default 127.0.0.1:8000, or
                         127.0.0.1:8443 with HTTPS; use 0.0.0.0:PORT to be
                         reachable from other machines), or unix:PATH for a
                         Unix socket (a proxy in front on the same machine)
  --access-log DEST      where to write one line per request: a file path,
                         "-" for standard output, or "off" (default -)
  --log-format FORMAT    access log format: combined, json, or a format string
                         as nginx's log_format, as '$remote_addr $status
                         $request_time' (default combined; variables in
                         docs/observability.md)
  --request-id NAME      header field of request ids, taken from trusted
                         proxies or generated, sent back, logged; or off
                         (default X-Request-ID)
  --trusted-proxies LIST addresses and CIDRs (comma-separated) of the proxies
                         in front, whose request ids are kept; unix for any
                         peer on a Unix socket (default none)
  --proxy-protocol       connections open with a PROXY protocol v1 or v2 header
                         (HAProxy's send-proxy), whose client address nave
                         believes from --trusted-proxies (anyone without it)
  --trace[=FILE]         print each request and response head as it crossed
                         the wire (HTTP/2: its frames, fields decoded),
                         bodies by length, to stderr or FILE (default off)
  --trace-path PREFIX    trace only requests whose path starts with PREFIX
  --log-level LEVEL      server log level on stderr: debug, info, warn, error
                         (default info)
  --metrics ADDR         serve Prometheus metrics at http://ADDR/metrics, as
                         127.0.0.1:9100, and the probes /livez and /readyz
                         (default off; docs/observability.md)
  --status ADDR          serve a live status page at http://ADDR/ and its JSON
                         at http://ADDR/status (default off; may be --metrics's
                         ADDR, to share one port)
  --no-bind              take every listening socket from systemd (a socket
                         unit, matched by FileDescriptorName= or address);
                         open none (docs/operations.md)

Files:
  --index NAMES          index files tried for a folder, comma-separated
                         (default index.html)
  --browse               list folders that have no index file (HTML, or JSON
                         for Accept: application/json)
  --show-hidden          serve and list names starting with "." (by default
                         they are 404, except /.well-known/)
  --follow-symlinks      follow symlinks that point outside DIR (by default
                         they are 404; symlinks within DIR always work)
  --error-page CODE=PATH send the file at PATH (under DIR, as /404.html) for
                         error status CODE; repeatable
  --cache-control VALUE  Cache-Control sent with every file, as
                         "public, max-age=3600" (default: none)
  --gzip                 compress text-like files of 1k or more on the fly
                         for clients that accept gzip (default off; .br,
                         .zst and .gz files next to a file are always used)
  --file-cache SIZE      memory for small files' contents, or off
                         (default 64m)
  --file-cache-valid D   trust what the cache knows of a file for D without
                         checking it again, as nginx's open_file_cache_valid
                         (default 0: check on every request, so that a
                         changed file is seen at once)

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
  --drain-delay D        at shutdown, fail /readyz and serve on for D before
                         closing connections, while load balancers notice
                         (default 0; docs/operations.md)
  --upgrade-timeout D    for the new binary to be ready after SIGUSR2, else it
                         is killed and this one serves on (default 60s)

` + tlsFlagsUsage + h2FlagsUsage

// DefaultDrainTimeout is how long a signalled shutdown waits for requests
// in flight, as gunicorn's graceful timeout.
const DefaultDrainTimeout = 30 * time.Second

type serveOptions struct {
	server serverFlags
	dir    string
	static static.Config
}

func parseServe(args []string) (*serveOptions, error) {
	o := &serveOptions{}
	fs := newFlagSet("serve")
	o.server.register(fs)
	fs.Var(listValue{&o.static.Index}, "index", "")
	fs.BoolVar(&o.static.Browse, "browse", false, "")
	fs.BoolVar(&o.static.ShowHidden, "show-hidden", false, "")
	fs.BoolVar(&o.static.FollowSymlinks, "follow-symlinks", false, "")
	fs.Var(errorPageValue{&o.static.ErrorPages}, "error-page", "")
	fs.StringVar(&o.static.CacheControl, "cache-control", "", "")
	fs.BoolVar(&o.static.Gzip, "gzip", false, "")
	fs.Var(cacheSizeValue{&o.static.CacheBytes}, "file-cache", "")
	fs.DurationVar(&o.static.CacheValid, "file-cache-valid", 0, "")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, &usageError{err}
	}
	if len(pos) > 1 {
		return nil, usagef("one DIR at most, got %d arguments", len(pos))
	}
	if err := o.server.check(); err != nil {
		return nil, err
	}
	if o.static.CacheValid < 0 {
		return nil, usagef("--file-cache-valid must not be negative, got %v", o.static.CacheValid)
	}
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
	what, err := checkDir(o.dir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := build(ctx, o.config(), demo.FS(), o.server.noBind, stdout, stderr)
	if err != nil {
		return shorthandError(err)
	}
	defer s.close()
	ls := s.shorthandListeners()
	if ls.tls != nil {
		// SIGHUP reloads the certificates; in the clear there is nothing
		// to reload and it keeps its default action.
		hup, stopHup := catchHangup()
		defer stopHup()
		defer onHangup(hup, s.reload)()
	}
	fmt.Fprintf(stdout, "Serving %s on %s ...\n", what, ls.where())
	ls.announceOthers(stdout)
	s.ready()
	return s.serve(ctx, stderr)
}

// httpsPort is the port part of a redirect to ln: "" for 443.
func httpsPort(ln net.Listener) string {
	if a, ok := ln.Addr().(*net.TCPAddr); ok && a.Port != 443 {
		return ":" + strconv.Itoa(a.Port)
	}
	return ""
}

// checkDir checks that dir, when given, is a folder, and says what is
// served: its absolute path, or the demo site.
func checkDir(dir string) (string, error) {
	if dir == "" {
		return "the built-in demo site", nil
	}
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", usagef("%s: no such directory", dir)
	case err != nil:
		return "", usagef("%v", err)
	case !info.IsDir():
		return "", usagef("%s is not a directory", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return abs, nil
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

// listValue is a comma-separated list flag (--index a.html,b.html); empty
// items are dropped, and the last use of the flag wins.
type listValue struct{ list *[]string }

func (v listValue) String() string {
	if v.list == nil {
		return ""
	}
	return strings.Join(*v.list, ",")
}

func (v listValue) Set(s string) error {
	var items []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	if len(items) == 0 {
		return fmt.Errorf("%q names nothing", s)
	}
	*v.list = items
	return nil
}

// errorPageValue is a repeatable CODE=PATH flag (--error-page
// 404=/404.html).
type errorPageValue struct{ pages *map[int]string }

func (v errorPageValue) String() string {
	if v.pages == nil || *v.pages == nil {
		return ""
	}
	var parts []string
	for code, path := range *v.pages {
		parts = append(parts, strconv.Itoa(code)+"="+path)
	}
	return strings.Join(parts, ",")
}

func (v errorPageValue) Set(s string) error {
	code, path, ok := strings.Cut(s, "=")
	n, err := strconv.Atoi(code)
	if !ok || err != nil || path == "" {
		return fmt.Errorf("%q: want CODE=PATH, as 404=/404.html", s)
	}
	if n < 400 || n > 599 {
		return fmt.Errorf("%q: only error statuses (400-599) have pages", s)
	}
	if *v.pages == nil {
		*v.pages = make(map[int]string)
	}
	(*v.pages)[n] = path
	return nil
}

// cacheSizeValue is a size flag that also takes "off" (or 0), stored as
// -1, which static.Config reads as no cache.
type cacheSizeValue struct{ n *int64 }

func (v cacheSizeValue) String() string {
	switch {
	case v.n == nil || *v.n == 0:
		return ""
	case *v.n < 0:
		return "off"
	}
	return formatSize(*v.n)
}

func (v cacheSizeValue) Set(s string) error {
	if s == "off" || s == "0" {
		*v.n = -1
		return nil
	}
	n, err := parseSize(s)
	if err != nil {
		return fmt.Errorf("%w, or off", err)
	}
	*v.n = n
	return nil
}
