// Command bench compares nave with its peers on one core: nginx, fasthttp
// and Caddy on static files; uWSGI and gunicorn on WSGI apps, next to the
// app's in-process ceiling. Each server and all its processes run pinned to
// CPU 0, wrk (one thread) to CPU 1, as does this program. It prints one
// table and writes it as JSON and Markdown, with a PNG chart (gnuplot).
//
// Run it from the repository root through make bench, make bench-quick, or
// bin/bench/bench --help; docs/performance.md describes the method.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	benchfiles "nave/bench"
	"nave/bench/internal/proc"
	"nave/bench/internal/servers"
	"nave/bench/internal/tlsfiles"
)

// The harness pins servers to serverCPU, and wrk and itself to loadCPU.
const (
	serverCPU = 0
	loadCPU   = 1
	pinnedEnv = "NAVE_BENCH_PINNED" // set once the harness runs on loadCPU
	// twoCPUs is the servers' and wrk's CPUs in the two-CPU workloads.
	twoCPUs = "0,1"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// bench is one run of the harness.
type bench struct {
	cfg      config
	run      int // the run under way, from 0
	env      servers.Env
	script   string // wrk's report.lua
	tls      tlsfiles.Files
	loadCPU  int
	conns    int
	duration time.Duration
	warmup   time.Duration
	table    table
	log      io.Writer

	upstream  *proc.Proc    // the proxy workloads' upstream while it runs
	quietLeft time.Duration // what is left of --quiet-wait
	start     time.Time
}

func (b *bench) logf(format string, args ...any) {
	el := time.Since(b.start).Round(time.Second)
	fmt.Fprintf(b.log, "[%5s] %s\n", el, fmt.Sprintf(format, args...))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if err := pinSelf(); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, cleanup, err := setup(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	defer cleanup()
	gs, err := groups(cfg.only, cfg.quick, filepath.Join(b.env.Tmp, "docroot"))
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	meta := collectMeta(&b.env, cfg, args)
	b.logf("about %v: %d run(s) of %v after %v of warm-up, %d connections",
		estimate(cfg, gs).Round(time.Second), cfg.runs, b.duration, b.warmup, b.conns)
	b.loop(ctx, gs)
	b.table.finish()
	printTable(stdout, &b.table)
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "bench: interrupted; no files written")
		return 130
	}
	if err := writeOutputs(cfg, meta, &b.table, stderr); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}

// pinSelf re-executes the harness under taskset on loadCPU, so that it and
// every thread it starts stay off the servers' CPU.
func pinSelf() error {
	if os.Getenv(pinnedEnv) != "" {
		return nil
	}
	if n := runtime.NumCPU(); n < 2 {
		return fmt.Errorf("needs 2 CPUs (one for the server, one for wrk); have %d", n)
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return fmt.Errorf("taskset not found (util-linux): %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	argv := append([]string{"taskset", "-c", strconv.Itoa(loadCPU), self}, os.Args[1:]...)
	env := append(os.Environ(), pinnedEnv+"=1")
	return syscall.Exec(taskset, argv, env)
}

// setup makes the scratch directory with the document root, the apps and
// wrk's script, and checks which servers can run.
func setup(cfg config, log io.Writer) (*bench, func(), error) {
	tmp, err := os.MkdirTemp("", "nave-bench-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() {
		if cfg.keep {
			fmt.Fprintln(log, "bench: kept", tmp)
			return
		}
		os.RemoveAll(tmp)
	}
	fail := func(err error) (*bench, func(), error) { cleanup(); return nil, nil, err }
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fail(err)
	}
	if err := makeDocroot(filepath.Join(tmp, "docroot")); err != nil {
		return fail(err)
	}
	if err := os.CopyFS(filepath.Join(tmp, "files"), benchfiles.Files); err != nil {
		return fail(err)
	}
	for _, dir := range []string{"files", "files/apps", "files/wrk"} {
		if err := os.Chmod(filepath.Join(tmp, dir), 0o755); err != nil {
			return fail(err)
		}
	}
	tf, err := tlsfiles.Make(filepath.Join(tmp, "tls"), time.Now())
	if err != nil {
		return fail(err)
	}
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	absOrEmpty := func(p string) string {
		if p == "" {
			return ""
		}
		return abs(p)
	}
	b := &bench{
		cfg: cfg,
		env: servers.Env{
			Tmp: tmp, CPU: serverCPU, TwoCPUs: twoCPUs, Nave: abs(cfg.nave), Fasthttp: abs(cfg.fasthttp), NaveBase: absOrEmpty(cfg.baseline),
			Python: cfg.python, AppDir: filepath.Join(tmp, "files", "apps"),
			NginxConnections: max(1024, 2*cfg.conns),
			TLSCert:          tf.Cert, TLSKey: tf.Key,
		},
		script:   filepath.Join(tmp, "files", "wrk", "report.lua"),
		tls:      tf,
		loadCPU:  loadCPU,
		conns:    cfg.conns,
		duration: cfg.duration,
		warmup:   cfg.warmup,
		log:      log,

		quietLeft: cfg.quietWait,
		start:     time.Now(),
	}
	return b, cleanup, nil
}

// loop runs every selected server on every group, cfg.runs times over, the
// servers interleaved so that a drift in the machine touches them alike.
func (b *bench) loop(ctx context.Context, gs []group) {
	avail := map[string]error{}
	for rep := 0; rep < b.cfg.runs && ctx.Err() == nil; rep++ {
		b.run = rep
		b.logf("run %d of %d", rep+1, b.cfg.runs)
		for _, g := range gs {
			b.group(ctx, g, avail)
		}
	}
}

// group runs every selected server on g, with the upstream running
// around them for a proxy group.
func (b *bench) group(ctx context.Context, g group, avail map[string]error) {
	if g.Kind == servers.Proxy {
		stop, err := b.startUpstream(ctx, &g)
		if err != nil {
			b.logf("upstream: %v", err)
			for _, w := range g.Workloads {
				b.table.row(w, "nave").fail("failed: no upstream")
			}
			return
		}
		defer stop()
	}
	for _, srv := range servers.All() {
		if srv.Kind != g.Kind || !b.cfg.wantServer(srv.Name) || ctx.Err() != nil {
			continue
		}
		key := srv.Name + "/" + strconv.Itoa(int(srv.Kind))
		if _, seen := avail[key]; !seen {
			avail[key] = srv.Check(&b.env)
		}
		if err := avail[key]; err != nil {
			for _, w := range g.Workloads {
				b.table.row(w, srv.Name).fail(naStatus(err))
			}
			continue
		}
		b.session(ctx, srv, g)
	}
	if g.Kind.App() && b.cfg.wantServer(ceilingName) && ctx.Err() == nil {
		b.ceiling(ctx, g)
	}
}

func naStatus(err error) string {
	if errors.Is(err, servers.ErrNotBuilt) {
		return "n/a (not built)"
	}
	return "n/a (" + err.Error() + ")"
}

// estimate is how long the run should take.
func estimate(cfg config, gs []group) time.Duration {
	per := cfg.warmup + cfg.duration.Round(time.Second) + 300*time.Millisecond
	var total time.Duration
	for _, g := range gs {
		n := 0
		for _, srv := range servers.All() {
			if srv.Kind == g.Kind && cfg.wantServer(srv.Name) {
				n++
			}
		}
		total += time.Duration(n) * (time.Second + time.Duration(len(g.Workloads))*per)
		if g.Kind.App() && cfg.wantServer(ceilingName) {
			for _, w := range g.Workloads {
				if w.Ceiling {
					total += per
				}
			}
		}
	}
	return time.Duration(cfg.runs) * total
}
