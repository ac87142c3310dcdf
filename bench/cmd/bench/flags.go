package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"nave/bench/internal/servers"
)

var errHelp = errors.New("help")

// config is the command line.
type config struct {
	duration time.Duration
	warmup   time.Duration
	conns    int
	runs     int
	only     []string // workloads; nil: all (or the quick ones)
	servers  []string // nil: all
	quick    bool
	nave     string
	baseline string
	fasthttp string
	python   string
	results  string
	chart    string
	keep     bool

	quietWait time.Duration
}

const usage = `Usage: bench [flags]

Runs each workload against each server, pinned to one CPU, with wrk on
another, and prints one table; writes RESULTS/latest.json and latest.md and
the chart (full runs), or RESULTS/quick.* (--quick) or RESULTS/partial.*
(--only or --servers). Run from the repository root; make bench builds what
it needs first.

Workloads: tiny, html, 1m, 404, close; on two CPUs shared with wrk
tiny-2cpu, html-2cpu, close-2cpu; over HTTPS tls-tiny, tls-html,
tls-1m, tls-close; over HTTP/2 with h2load h2-tiny, h2-1k, h2-1m (TLS) and
h2c-tiny (in the clear); wsgi, flask; asgi (a raw ASGI hello), fastapi,
fastapi-file (a FileResponse), asgi-file (pathsend where offered), asgi-io
(10 ms of awaited I/O, 256 connections), ws-echo (WebSocket echo);
through a reverse proxy to nginx on the load CPU proxy-tiny, proxy-1k,
proxy-1m, proxy-close.
Servers: nave (files: configured as nginx, --file-cache-valid 60s),
nave-strict (files: nave's defaults, a stat per request), nave-metrics (nave
with --metrics; plain and h2c), nginx, fasthttp,
caddy, h2o (HTTPS and HTTP/2 only), nave-1cpu (two-CPU workloads: nave kept
to one), haproxy (proxy only), uwsgi,
gunicorn-sync, gunicorn-gthread,
ceiling (the WSGI or ASGI app called in-process); uvicorn (httptools, uvloop),
daphne and hypercorn (ASGI); and nave-base (with --baseline).

Flags:
`

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	var only, srvs string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&c.duration, "duration", 8*time.Second, "measured time of each run (whole seconds)")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "warm-up before each run, not measured")
	fs.IntVar(&c.conns, "connections", 64, "wrk's connections (each HTTP/2 workload sets h2load's)")
	fs.IntVar(&c.runs, "runs", 3, "runs of each workload on each server; the table shows the median")
	fs.StringVar(&only, "only", "", "comma-separated workloads to run (default all)")
	fs.StringVar(&srvs, "servers", "", "comma-separated servers to run (default all)")
	fs.BoolVar(&c.quick, "quick", false, "check a change in under 2 minutes: 1 run of 2s after 1s of warm-up,\n"+
		"workloads tiny, close, tls-tiny, tls-close, h2-tiny, wsgi, flask (flags given explicitly win)")
	fs.StringVar(&c.nave, "nave", "bin/bench/nave", "the nave binary")
	fs.StringVar(&c.baseline, "baseline", "", "another nave binary (say, the build before a change), measured as nave-base")
	fs.StringVar(&c.fasthttp, "fasthttp", "bin/bench/fasthttp-fs", "the fasthttp file server (built from bench/fasthttp)")
	fs.StringVar(&c.python, "python", "/usr/bin/python3", "the Python for the WSGI and ASGI servers and the ceiling (Flask, FastAPI importable)")
	fs.StringVar(&c.results, "results", "bench/results", "directory for the JSON and Markdown tables")
	fs.StringVar(&c.chart, "chart", "docs/bench.png", "the chart of a full run")
	fs.DurationVar(&c.quietWait, "quiet-wait", 3*time.Minute, "wait up to this long in all, before runs, for other processes to leave\nthe CPUs (figures taken while they did not are flagged)")
	fs.BoolVar(&c.keep, "keep", false, "keep the scratch directory (configs, server logs)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, errHelp
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.quick {
		c.applyQuick(set)
	}
	c.only, c.servers = splitList(only), splitList(srvs)
	return c, c.validate()
}

// applyQuick sets --quick's values for the flags not given explicitly.
func (c *config) applyQuick(set map[string]bool) {
	if !set["duration"] {
		c.duration = 2 * time.Second
	}
	if !set["warmup"] {
		c.warmup = time.Second
	}
	if !set["runs"] {
		c.runs = 1
	}
	if !set["quiet-wait"] {
		c.quietWait = 10 * time.Second
	}
}

func (c *config) validate() error {
	switch {
	case c.duration < time.Second:
		return fmt.Errorf("--duration %v: at least 1s", c.duration)
	case c.warmup < 0:
		return fmt.Errorf("--warmup %v: negative", c.warmup)
	case c.conns < 1 || c.conns > 10000:
		return fmt.Errorf("--connections %d: from 1 to 10000", c.conns)
	case c.runs < 1 || c.runs > 20:
		return fmt.Errorf("--runs %d: from 1 to 20", c.runs)
	}
	known := []string{ceilingName}
	for _, s := range servers.All() {
		known = append(known, s.Name)
	}
	for _, name := range c.servers {
		if !contains(known, name) {
			return fmt.Errorf("unknown server %q (have %s)", name, strings.Join(known[1:], ", ")+", "+ceilingName)
		}
	}
	return nil
}

// wantServer reports whether --servers selects name; nave-base runs only
// with --baseline.
func (c *config) wantServer(name string) bool {
	if name == servers.BaseName && c.baseline == "" {
		return false
	}
	return c.servers == nil || contains(c.servers, name)
}

// outputName is the base name of the files this run writes.
func (c *config) outputName() string {
	switch {
	case c.only != nil || c.servers != nil:
		return "partial"
	case c.quick:
		return "quick"
	}
	return "latest"
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
