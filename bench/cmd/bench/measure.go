package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"nave/bench/internal/h2client"
	"nave/bench/internal/proc"
	"nave/bench/internal/servers"
)

// quietCPU is how much CPU (in CPUs) other processes may use while a figure
// is taken: above it the harness waits, and flags the figure.
const quietCPU = 0.05

// session starts srv once for g, measures each of g's workloads, and stops
// it, whatever happens.
func (b *bench) session(ctx context.Context, srv servers.Server, g group) {
	rows := make([]*row, len(g.Workloads))
	for i, w := range g.Workloads {
		rows[i] = b.table.row(w, srv.Name)
	}
	failAll := func(why string) {
		for _, r := range rows {
			r.fail(why)
		}
	}
	addr, err := servers.FreePort()
	if err != nil {
		failAll("failed: " + err.Error())
		return
	}
	spec, err := srv.Spec(&b.env, addr, g.Target)
	if err != nil {
		failAll("failed: " + err.Error())
		return
	}
	p, err := proc.Start(spec)
	if err != nil {
		failAll("failed: " + err.Error())
		return
	}
	defer p.Stop(5 * time.Second)
	w0 := g.Workloads[0]
	probe := func() error { return get(addr, w0, b.clientTLS(w0)) }
	if err := servers.WaitReadyFunc(ctx, p, addr, probe, 30*time.Second); err != nil {
		b.logf("%s did not start: %v\n%s", srv.Name, err, p.LogTail(10))
		failAll("failed: did not start")
		return
	}
	mem := startSampler(p, 100*time.Millisecond)
	defer mem.close()
	for i, w := range g.Workloads {
		if ctx.Err() != nil {
			return
		}
		b.logf("%-9s %-17s %s", w.Name, srv.Name, "...")
		s, err := b.measure(ctx, p, addr, w)
		rows[i].notePeak(mem.takePeak())
		if ctx.Err() != nil {
			return // interrupted: not the server's failure
		}
		if err != nil {
			b.logf("%s on %s: %v\n%s", srv.Name, w.Name, err, p.LogTail(10))
			rows[i].fail("failed: " + err.Error())
			if errors.Is(err, proc.ErrExited) {
				failAll("failed: server exited")
				return
			}
			continue
		}
		s.Run = b.run
		rows[i].add(s)
		if w.tls() && w.newConnEach() {
			b.probeResumption(rows[i], addr, w)
		}
		lat := "p99 " + fmtLatency(s.P99US)
		if s.MeanUS > 0 {
			lat = "mean " + fmtLatency(s.MeanUS)
		}
		b.logf("%-9s %-17s %10.0f req/s  %s  errors %d  cpu %.0f%%", w.Name, srv.Name,
			s.RPS, lat, s.Errors, 100*s.ServerCPU)
	}
}

// measure checks the answer, warms up, runs wrk and accounts the CPU; it
// measures again (up to 3 times in all) while the --quiet-wait budget lasts,
// if other processes used the CPUs during the run.
func (b *bench) measure(ctx context.Context, p *proc.Proc, addr string, w workload) (sample, error) {
	for attempt := 1; ; attempt++ {
		s, err := b.measureOnce(ctx, p, addr, w)
		if err != nil || s.OtherCPU < quietCPU || attempt == 3 || b.quietLeft <= 0 || ctx.Err() != nil {
			return s, err
		}
		b.logf("other processes used %.2f CPUs during the run; measuring again", s.OtherCPU)
		b.quietLeft -= b.duration
	}
}

func (b *bench) measureOnce(ctx context.Context, p *proc.Proc, addr string, w workload) (sample, error) {
	conf := b.clientTLS(w)
	if err := check(addr, w, conf); err != nil {
		return sample{}, err
	}
	load := b.loadFor(addr, w)
	skip := func() map[int]bool { return b.skipSet(p.Tree()) }
	if err := b.warmUp(ctx, load, skip); err != nil {
		return sample{}, err
	}
	snap0, own0, load0 := proc.TakeSnapshot(), proc.CPUTime(p.Tree()), proc.ReadCPUStat(b.loadCPU)
	rep, err := load(ctx, b.duration)
	snap1, own1, load1 := proc.TakeSnapshot(), proc.CPUTime(p.Tree()), proc.ReadCPUStat(b.loadCPU)
	if err != nil {
		return sample{}, err
	}
	select {
	case <-p.Exited():
		return sample{}, fmt.Errorf("%w during the run", proc.ErrExited)
	default:
	}
	if err := check(addr, w, conf); err != nil {
		return sample{}, fmt.Errorf("after the run: %w", err)
	}
	wall := snap1.At.Sub(snap0.At).Seconds()
	return sample{RPS: rep.RPS, P50US: rep.P50US, P99US: rep.P99US, MeanUS: rep.MeanUS, Errors: rep.Errors,
		Requests: rep.Requests, ServerCPU: (own1 - own0).Seconds() / wall,
		OtherCPU: snap1.OthersSince(snap0, skip()), LoadBusy: load1.BusySince(load0)}, nil
}

// loadResult is what one run of the load generator, wrk or h2load, found.
type loadResult struct {
	RPS      float64
	Requests int64
	Errors   int64
	P50US    int64 // 0: not measured (h2load gives no percentiles)
	P99US    int64
	MeanUS   int64 // 0: not measured (wrk's percentiles say more)
}

// A loader runs the load generator against one workload for d.
type loader func(ctx context.Context, d time.Duration) (loadResult, error)

// loadFor is wrk for the HTTP/1.1 workloads, h2load for the HTTP/2 ones.
func (b *bench) loadFor(addr string, w workload) loader {
	if w.h2() {
		h := h2loadRun{CPU: b.loadCPU, Conns: w.Conns, Streams: w.Streams, URL: "http://" + addr + w.Path}
		if w.tls() {
			h.URL = "https://" + addr + w.Path
		}
		return func(ctx context.Context, d time.Duration) (loadResult, error) {
			h.Duration = d
			rep, err := h.run(ctx)
			if err != nil {
				return loadResult{}, err
			}
			return loadResult{RPS: rep.RPS, Requests: rep.Done, Errors: rep.Failed, MeanUS: rep.MeanUS}, nil
		}
	}
	conns := b.connsOf(w)
	if w.WS {
		ws := wsEchoRun{Addr: addr, Path: w.Path, Conns: conns, Size: w.Length}
		return func(ctx context.Context, d time.Duration) (loadResult, error) {
			ws.Duration = d
			return ws.run(ctx)
		}
	}
	run := wrkRun{CPU: b.loadCPU, Conns: conns, Script: b.script,
		URL: "http://" + addr + w.Path, Header: w.Header}
	if w.Kind == servers.Static2 {
		// wrk shares the two CPUs with the server, a thread on each.
		run.CPUs, run.Threads = b.env.TwoCPUs, 2
	}
	if w.tls() {
		run.URL = "https://" + addr + w.Path
		run.Env = []string{"OPENSSL_CONF=" + b.tls.WrkConf}
	}
	return func(ctx context.Context, d time.Duration) (loadResult, error) {
		run.Duration = d
		rep, err := run.run(ctx)
		if err != nil {
			return loadResult{}, err
		}
		return loadResult{RPS: rep.RPS(), Requests: rep.Requests, Errors: rep.Errors(w.Status),
			P50US: rep.P50US, P99US: rep.P99US}, nil
	}
}

// warmUp runs the load generator for the warm-up time, and again while other processes
// use the CPUs, as long as the run's budget for waiting (--quiet-wait) lasts:
// a figure taken next to a busy neighbour measures the neighbour.
func (b *bench) warmUp(ctx context.Context, load loader, skip func() map[int]bool) error {
	if b.warmup <= 0 {
		return nil
	}
	for {
		snap0 := proc.TakeSnapshot()
		if _, err := load(ctx, b.warmup); err != nil {
			return err
		}
		other := proc.TakeSnapshot().OthersSince(snap0, skip())
		if other < quietCPU || b.quietLeft <= 0 || ctx.Err() != nil {
			return nil
		}
		b.logf("other processes use %.2f CPUs; waiting for a quiet machine (%v of waiting left)",
			other, b.quietLeft.Round(time.Second))
		start := time.Now()
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
		b.quietLeft -= time.Since(start) + b.warmup
	}
}

// skipSet is the processes whose CPU is the benchmark's own: the harness
// (with wrk, its child) and the server's tree.
func (b *bench) skipSet(server []int) map[int]bool {
	m := map[int]bool{os.Getpid(): true}
	for _, pid := range server {
		m[pid] = true
	}
	if b.upstream != nil {
		for _, pid := range b.upstream.Tree() {
			m[pid] = true // the proxies' upstream: part of the setup, on the load CPU
		}
	}
	return m
}

// clientTLS is what the checks of w speak TLS with: nil in the clear.
func (b *bench) clientTLS(w workload) *tls.Config {
	if !w.tls() {
		return nil
	}
	return b.tls.Client
}

// check sends one request and compares the answer with what w expects; over
// TLS (conf not nil), the server must present the run's certificate, and
// for an HTTP/2 workload, negotiate h2.
func check(addr string, w workload, conf *tls.Config) error {
	status, n, err := getAnswer(addr, w, conf)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if status != w.Status {
		return fmt.Errorf("check: status %d, want %d", status, w.Status)
	}
	if w.Length >= 0 && n != w.Length {
		return fmt.Errorf("check: body of %d bytes, want %d", n, w.Length)
	}
	return nil
}

// get sends one request of w and reads the answer, whatever it is: the
// probe of a server starting.
func get(addr string, w workload, conf *tls.Config) error {
	_, _, err := getAnswer(addr, w, conf)
	return err
}

// getAnswer sends one request of w on a new connection, in w's protocol,
// and returns the answer's status and body length.
func getAnswer(addr string, w workload, conf *tls.Config) (status, bodyLen int, err error) {
	if w.WS {
		if err := wsCheck(addr, w.Path, w.Length); err != nil {
			return 0, 0, err
		}
		return 101, w.Length, nil
	}
	if w.h2() {
		return h2client.Get(addr, w.Path, conf, 2*time.Second)
	}
	resp, err := servers.Get(addr, w.Path, w.Header, conf)
	return resp.Status, resp.BodyLen, err
}

// sampler polls the RSS of a process tree and keeps its peak.
type sampler struct {
	mu   sync.Mutex
	peak int64 // guarded by mu; KiB since the last takePeak
	last int64 // guarded by mu
	stop chan struct{}
	done chan struct{}
}

func startSampler(p *proc.Proc, every time.Duration) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		var pids []int
		for i := 0; ; i++ {
			if i%10 == 0 { // processes come and go rarely; /proc scans cost
				pids = p.Tree()
			}
			rss := proc.RSS(pids)
			s.mu.Lock()
			s.peak, s.last = max(s.peak, rss), rss
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// takePeak returns the peak since the last call, and starts a new period.
func (s *sampler) takePeak() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	peak := s.peak
	s.peak = s.last
	return peak
}

func (s *sampler) close() {
	close(s.stop)
	<-s.done
}

// startUpstream starts the proxies' upstream, nginx serving the document
// root on the load generator's CPU, and points g at it.
func (b *bench) startUpstream(ctx context.Context, g *group) (func(), error) {
	addr, err := servers.FreePort()
	if err != nil {
		return nil, err
	}
	spec, err := servers.Upstream(&b.env, addr, g.Target, b.loadCPU)
	if err != nil {
		return nil, err
	}
	p, err := proc.Start(spec)
	if err != nil {
		return nil, err
	}
	w0 := g.Workloads[0]
	if err := servers.WaitReadyFunc(ctx, p, addr, func() error { return get(addr, w0, nil) }, 30*time.Second); err != nil {
		p.Stop(5 * time.Second)
		return nil, fmt.Errorf("did not start: %w\n%s", err, p.LogTail(10))
	}
	g.Target, b.upstream = addr, p
	return func() { b.upstream = nil; p.Stop(5 * time.Second) }, nil
}
