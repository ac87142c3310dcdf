package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"nave/bench/internal/servers"
)

// A workload is one URL hammered by wrk (h2load for HTTP/2), and what
// every answer must be.
type workload struct {
	Name   string // for --only, and the key in the JSON
	Title  string // for the table
	Kind   servers.Kind
	App    string // WSGI and ASGI workloads: MODULE:CALLABLE under bench/apps
	Path   string
	Header map[string]string // extra request header fields
	Status int               // the status every answer must have
	Length int               // the body length every answer must have; -1: any
	Quick  bool              // part of --quick
	// Conns is h2load's connections for the HTTP/2 workloads, and sets
	// wrk's (or the WebSocket load's) instead of --connections for the
	// others that need as many; Streams is h2load's concurrent streams on
	// each connection.
	Conns, Streams int
	// WS: the load is the WebSocket echo (wsEchoRun) to Path, with
	// messages of Length bytes, and Status is 101.
	WS bool
	// Ceiling: the app also runs in-process, with no server (WSGI:
	// bench/apps/ceiling.py; ASGI: bench/apps/asgi_ceiling.py, on Path).
	// CeilingWaits: the ASGI app waits (on a timer, or on the threads
	// Starlette's FileResponse reads in), so its ceiling awaits as many
	// calls at once as the load has connections, not one after another.
	Ceiling, CeilingWaits bool
}

var workloads = []workload{
	{Name: "tiny", Title: "14 B file, keep-alive", Kind: servers.Static,
		Path: "/hello.txt", Status: 200, Length: 14, Quick: true},
	{Name: "html", Title: "1 KiB HTML page", Kind: servers.Static,
		Path: "/page.html", Status: 200, Length: 1024},
	{Name: "1m", Title: "1 MiB file", Kind: servers.Static,
		Path: "/1m.bin", Status: 200, Length: 1 << 20},
	{Name: "404", Title: "404", Kind: servers.Static,
		Path: "/missing.html", Status: 404, Length: -1},
	{Name: "close", Title: "14 B file, new connection per request", Kind: servers.Static,
		Path: "/hello.txt", Header: map[string]string{"Connection": "close"}, Status: 200, Length: 14, Quick: true},
	// Two CPUs, shared by the server and wrk (two threads) alike.
	{Name: "tiny-2cpu", Title: "two CPUs: 14 B file, keep-alive", Kind: servers.Static2,
		Path: "/hello.txt", Status: 200, Length: 14},
	{Name: "html-2cpu", Title: "two CPUs: 1 KiB HTML page", Kind: servers.Static2,
		Path: "/page.html", Status: 200, Length: 1024},
	{Name: "close-2cpu", Title: "two CPUs: 14 B file, new connection per request", Kind: servers.Static2,
		Path: "/hello.txt", Header: map[string]string{"Connection": "close"}, Status: 200, Length: 14},
	// Over HTTPS, against the servers that speak it, all with the run's
	// certificate. wrk resumes the TLS session on each new connection when
	// the server lets it (see bench/README.md), so tls-close measures a
	// new connection with an abbreviated handshake.
	{Name: "tls-tiny", Title: "HTTPS: 14 B file, keep-alive", Kind: servers.StaticTLS,
		Path: "/hello.txt", Status: 200, Length: 14, Quick: true},
	{Name: "tls-html", Title: "HTTPS: 1 KiB HTML page", Kind: servers.StaticTLS,
		Path: "/page.html", Status: 200, Length: 1024},
	{Name: "tls-1m", Title: "HTTPS: 1 MiB file", Kind: servers.StaticTLS,
		Path: "/1m.bin", Status: 200, Length: 1 << 20},
	{Name: "tls-close", Title: "HTTPS: 14 B file, new TLS connection per request", Kind: servers.StaticTLS,
		Path: "/hello.txt", Header: map[string]string{"Connection": "close"}, Status: 200, Length: 14, Quick: true},
	// HTTP/2, with h2load: over TLS (ALPN h2) against nave, nginx and h2o,
	// with the run's certificate; and with prior knowledge in the clear.
	// Connections and streams as in the issue that set nave's targets.
	{Name: "h2-tiny", Title: "HTTP/2: 14 B file, 64 conns × 10 streams", Kind: servers.H2,
		Path: "/hello.txt", Status: 200, Length: 14, Conns: 64, Streams: 10, Quick: true},
	{Name: "h2-1k", Title: "HTTP/2: 1 KiB HTML page, 32 conns × 10 streams", Kind: servers.H2,
		Path: "/page.html", Status: 200, Length: 1024, Conns: 32, Streams: 10},
	{Name: "h2-1m", Title: "HTTP/2: 1 MiB file, 32 conns × 1 stream", Kind: servers.H2,
		Path: "/1m.bin", Status: 200, Length: 1 << 20, Conns: 32, Streams: 1},
	{Name: "h2c-tiny", Title: "h2c: 14 B file, 64 conns × 10 streams", Kind: servers.H2C,
		Path: "/hello.txt", Status: 200, Length: 14, Conns: 64, Streams: 10},
	// A reverse proxy on the server CPU, in front of nginx serving the
	// same files on the load generator's CPU.
	{Name: "proxy-tiny", Title: "proxy: 14 B, keep-alive", Kind: servers.Proxy,
		Path: "/hello.txt", Status: 200, Length: 14, Quick: true},
	{Name: "proxy-1k", Title: "proxy: 1 KiB", Kind: servers.Proxy,
		Path: "/page.html", Status: 200, Length: 1024},
	{Name: "proxy-1m", Title: "proxy: 1 MiB", Kind: servers.Proxy,
		Path: "/1m.bin", Status: 200, Length: 1 << 20},
	{Name: "proxy-close", Title: "proxy: 14 B, new connection per request", Kind: servers.Proxy,
		Path: "/hello.txt", Header: map[string]string{"Connection": "close"}, Status: 200, Length: 14, Quick: true},
	{Name: "wsgi", Title: "WSGI hello app", Kind: servers.WSGI, App: "hello:app",
		Path: "/", Status: 200, Length: 13, Quick: true, Ceiling: true},
	{Name: "flask", Title: "Flask hello app", Kind: servers.WSGI, App: "flask_hello:app",
		Path: "/", Status: 200, Length: 13, Quick: true, Ceiling: true},
	// ASGI: nave asgi, uvicorn (httptools, uvloop), daphne and hypercorn,
	// one worker each.
	{Name: "asgi", Title: "ASGI hello app (raw)", Kind: servers.ASGI, App: "asgi_hello:app",
		Path: "/", Status: 200, Length: 13, Ceiling: true},
	{Name: "fastapi", Title: "FastAPI hello app", Kind: servers.ASGI, App: "fastapi_hello:app",
		Path: "/", Status: 200, Length: 13, Ceiling: true},
	{Name: "fastapi-file", Title: "FastAPI FileResponse, 50 KiB", Kind: servers.ASGI, App: "fastapi_hello:app",
		Path: "/file", Status: 200, Length: 50 << 10, Ceiling: true, CeilingWaits: true},
	// pathsend where the server offers it, else Starlette's FileResponse.
	{Name: "asgi-file", Title: "ASGI app's 50 KiB file (pathsend)", Kind: servers.ASGI, App: "asgi_file:app",
		Path: "/", Status: 200, Length: 50 << 10},
	{Name: "asgi-io", Title: "ASGI app awaiting 10 ms of I/O, 256 conns", Kind: servers.ASGI, App: "asgi_io:app",
		Path: "/", Status: 200, Length: 13, Conns: 256, Ceiling: true, CeilingWaits: true},
	{Name: "ws-echo", Title: "WebSocket echo, 128 B messages, 64 conns", Kind: servers.ASGI, App: "ws_echo:app",
		Path: "/", Status: 101, Length: 128, Conns: 64, WS: true},
}

// tls reports whether w is measured over TLS.
func (w workload) tls() bool { return w.Kind.TLS() }

// h2 reports whether w is measured over HTTP/2, with h2load.
func (w workload) h2() bool { return w.Kind == servers.H2 || w.Kind == servers.H2C }

// newConnEach reports whether w opens a new connection for every request.
func (w workload) newConnEach() bool { return strings.EqualFold(w.Header["Connection"], "close") }

// A group is the workloads one server start serves: the static workloads
// of one kind (plain, HTTPS, h2, h2c) share a document root; each WSGI app needs a
// start of its own.
type group struct {
	Kind      servers.Kind
	Target    string // the document root, or the app
	Workloads []workload
}

// groups selects workloads (nil: all; quick: only the Quick ones) and
// groups them by what the server must be started with.
func groups(only []string, quick bool, docroot string) ([]group, error) {
	var out []group
	for _, name := range only {
		if _, ok := findWorkload(name); !ok {
			return nil, fmt.Errorf("unknown workload %q (have %s)", name, workloadNames())
		}
	}
	for _, w := range workloads {
		if (only != nil && !contains(only, w.Name)) || (only == nil && quick && !w.Quick) {
			continue
		}
		target := docroot
		if w.Kind.App() {
			target = w.App
		}
		if n := len(out); n > 0 && out[n-1].Kind == w.Kind && out[n-1].Target == target {
			out[n-1].Workloads = append(out[n-1].Workloads, w)
			continue
		}
		out = append(out, group{Kind: w.Kind, Target: target, Workloads: []workload{w}})
	}
	return out, nil
}

func findWorkload(name string) (workload, bool) {
	for _, w := range workloads {
		if w.Name == name {
			return w, true
		}
	}
	return workload{}, false
}

func workloadNames() string {
	var names []string
	for _, w := range workloads {
		names = append(names, w.Name)
	}
	return strings.Join(names, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// makeDocroot writes the files the static workloads ask for. Directories
// are world-readable: nginx's worker runs as nobody when started as root.
func makeDocroot(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i*7 + i>>8) // not all one byte, so no layer can shortcut it
	}
	files := map[string][]byte{
		"hello.txt":  []byte("Hello, World!\n"),
		"page.html":  htmlPage(1024),
		"1m.bin":     big,
		"index.html": htmlPage(256),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// htmlPage is a small valid HTML page of exactly size bytes.
func htmlPage(size int) []byte {
	head := "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>nave bench</title></head>\n<body>\n<p>"
	tail := "</p>\n</body></html>\n"
	fill := size - len(head) - len(tail)
	text := bytes.Repeat([]byte("lorem ipsum dolor sit amet "), fill/27+1)[:fill]
	return append(append([]byte(head), text...), tail...)
}
