package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// target is one nave under load, with the clients that load it.
type target struct {
	proc  *process
	kinds []*kind
	n     int // clients
	// Measurements, with the load paused: after warm-up and at the end.
	before, after sample
	peakRSS       int64 // highest VmRSS seen under load
}

// result is a finished soak run.
type result struct {
	opts     *options
	targets  []*target
	tally    *tally
	elapsed  time.Duration // of the measured phase
	failures []string
}

func soak(ctx context.Context, o *options) (*result, error) {
	tmp, err := os.MkdirTemp("", "nave-soak")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	s, err := newSite(tmp)
	if err != nil {
		return nil, err
	}
	res := &result{opts: o, tally: newTally()}
	defer func() {
		for _, t := range res.targets {
			if err := t.proc.stop(30 * time.Second); err != nil {
				res.failures = append(res.failures, err.Error())
			}
		}
	}()
	static, err := startProcess("serve", o.nave, []string{"serve", "--access-log", "/dev/null", s.dir}, 20*time.Second)
	if err != nil {
		return nil, err
	}
	st := &target{proc: static, n: o.clients}
	res.targets = append(res.targets, st)
	etag, err := fetchETag(static.addr)
	if err != nil {
		return nil, err
	}
	st.kinds = staticKinds(s, etag)
	if o.wsgi == "on" || o.wsgi == "auto" && hasWSGI(o.nave) {
		dir, err := writeWSGIApp(tmp)
		if err != nil {
			return nil, err
		}
		w, err := startProcess("wsgi", o.nave, []string{"wsgi", "--access-log", "/dev/null", "--python", o.python,
			"--chdir", dir, "soakapp:application"}, 60*time.Second)
		if err != nil {
			return nil, err
		}
		res.targets = append(res.targets, &target{proc: w, kinds: wsgiKinds(), n: max(2, o.clients/4)})
	}

	fmt.Printf("soak: warm-up %v, then %v of load on %s\n", o.warmup, o.duration, res.describe())
	res.load(ctx, o.warmup, 0)
	if err := res.measure(func(t *target) *sample { return &t.before }); err != nil {
		return nil, err
	}
	for _, t := range res.targets {
		fmt.Printf("  after warm-up, load paused: nave %s: %s\n", t.proc.name, t.before)
	}
	warmupRequests := res.tally.total.Load()
	start := time.Now()
	res.load(ctx, o.duration, o.sample)
	res.elapsed = time.Since(start)
	res.tally.total.Add(-warmupRequests)
	if err := res.measure(func(t *target) *sample { return &t.after }); err != nil {
		return nil, err
	}
	res.judge()
	return res, nil
}

func (res *result) describe() string {
	var parts []string
	for _, t := range res.targets {
		parts = append(parts, fmt.Sprintf("nave %s (%d clients, half kept alive)", t.proc.name, t.n))
	}
	return strings.Join(parts, " and ")
}

// load runs every target's clients for d, printing progress every
// sampleEvery (never when 0), and returns once they have all stopped.
func (res *result) load(ctx context.Context, d, sampleEvery time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	seed := uint64(time.Now().UnixNano())
	for _, t := range res.targets {
		for i := range t.n {
			seed++
			c := newClient(t.proc.addr, i%2 == 0, t.kinds, seed, res.tally)
			wg.Go(func() { c.run(ctx) })
		}
	}
	if sampleEvery > 0 {
		wg.Go(func() { res.progress(ctx, sampleEvery) })
	}
	wg.Wait()
}

// progress prints a line per tick: requests, errors and each process's
// figures, and records peak RSS.
func (res *result) progress(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	start := time.Now()
	base := res.tally.total.Load()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			n := res.tally.total.Load() - base
			el := now.Sub(start)
			line := fmt.Sprintf("  %8v  %9d requests (%6.0f/s)  %d errors", el.Round(time.Second), n,
				float64(n)/el.Seconds(), res.tally.errors.Load())
			for _, t := range res.targets {
				s, err := t.proc.sample()
				if err != nil {
					line += fmt.Sprintf("  %s: %v", t.proc.name, err)
					continue
				}
				t.peakRSS = max(t.peakRSS, s.rss)
				line += fmt.Sprintf("  %s: %s", t.proc.name, s)
			}
			fmt.Println(line)
		}
	}
}

// measure waits for the servers to close the clients' connections and
// samples each process into the field pick returns.
func (res *result) measure(pick func(*target) *sample) error {
	time.Sleep(settle)
	for _, t := range res.targets {
		s, err := t.proc.sample()
		if err != nil {
			return fmt.Errorf("nave %s: %w", t.proc.name, err)
		}
		*pick(t) = s
	}
	return nil
}

// judge applies the checks and records what failed.
func (res *result) judge() {
	if n := res.tally.errors.Load(); n > 0 {
		res.failures = append(res.failures, fmt.Sprintf("%d requests failed", n))
	}
	if res.tally.total.Load() == 0 {
		res.failures = append(res.failures, "no request was answered")
	}
	for _, t := range res.targets {
		name := "nave " + t.proc.name
		if t.after.fds > t.before.fds {
			// Connections may still be closing: give them fdBound.
			for end := time.Now().Add(fdBound); time.Now().Before(end) && t.after.fds > t.before.fds; {
				time.Sleep(500 * time.Millisecond)
				if s, err := t.proc.sample(); err == nil {
					t.after.fds = s.fds
				}
			}
			if t.after.fds > t.before.fds {
				res.failures = append(res.failures, fmt.Sprintf("%s: %d descriptors open at the end, %d after warm-up", name, t.after.fds, t.before.fds))
			}
		}
		res.checkRSS(name, t.before.rss, t.after.rss)
		if t.before.workers > 0 {
			res.checkRSS(name+" workers", t.before.wrss, t.after.wrss)
		}
	}
}

// checkRSS fails the run when RSS grew past maxRSSGrowth, or rssSlack if
// that is more.
func (res *result) checkRSS(name string, before, after int64) {
	if limit := before + max(int64(float64(before)*maxRSSGrowth), rssSlack); after > limit {
		res.failures = append(res.failures, fmt.Sprintf("%s: RSS grew from %s to %s, past %s", name, mib(before), mib(after), mib(limit)))
	}
}

func (res *result) print(w io.Writer) {
	total := res.tally.total.Load()
	fmt.Fprintf(w, "\nsoak: %v measured, %d requests answered and checked (%.0f/s), %d errors\n",
		res.elapsed.Round(time.Second), total, float64(total)/res.elapsed.Seconds(), res.tally.errors.Load())
	var kinds []string
	for k := range res.tally.kinds {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, res.tally.kinds[k]))
	}
	fmt.Fprintf(w, "  by kind, warm-up included: %s\n", strings.Join(parts, ", "))
	for _, t := range res.targets {
		growth := float64(t.after.rss-t.before.rss) / float64(t.before.rss) * 100
		fmt.Fprintf(w, "  nave %s: RSS %s after warm-up, %s at end (%+.1f%%), peak under load %s; fds %d -> %d; threads %d -> %d\n",
			t.proc.name, mib(t.before.rss), mib(t.after.rss), growth, mib(t.peakRSS),
			t.before.fds, t.after.fds, t.before.threads, t.after.threads)
		if t.before.workers > 0 {
			fmt.Fprintf(w, "  nave %s workers: %d -> %d processes, RSS %s after warm-up, %s at end (%+.1f%%)\n",
				t.proc.name, t.before.workers, t.after.workers, mib(t.before.wrss), mib(t.after.wrss),
				float64(t.after.wrss-t.before.wrss)/float64(t.before.wrss)*100)
		}
	}
	for _, e := range res.tally.shown {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
	if len(res.failures) == 0 {
		fmt.Fprintln(w, "PASS")
		return
	}
	for _, f := range res.failures {
		fmt.Fprintf(w, "FAIL: %s\n", f)
	}
}

// fetchETag asks for /index.html once and returns its ETag, which the
// conditional requests send back.
func fetchETag(addr string) (string, error) {
	c := newClient(addr, false, nil, 1, newTally())
	r, err := c.roundTrip(&request{method: "GET", path: "/index.html"})
	if err != nil {
		return "", err
	}
	etag := r.header.Get("ETag")
	if r.status != 200 || etag == "" {
		return "", fmt.Errorf("GET /index.html: %d with ETag %q, want 200 with one", r.status, etag)
	}
	return etag, nil
}
