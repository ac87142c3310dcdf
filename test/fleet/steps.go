package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// result is what a run found.
type result struct {
	at        time.Time
	commit    string
	readyz    bool     // the binary answers /readyz (else HAProxy checks /small.txt)
	upgrade   string   // "" when the upgrade step ran, else why it was skipped
	steps     []string // one line per step: what HAProxy and nave said, and when they agreed
	disagreed []string // steps after which they did not agree in time
	phases    []string
	ok, fail  map[string]int
	errs      map[string][]string
	// HAProxy's counters for the killed nave 3: response errors on it
	// (eresp: the connection died before a response), and requests it
	// retried on another server (wretr).
	retried, respErrors string
}

// failuresOutsideKill counts failed requests in every phase but "kill".
func (r *result) failuresOutsideKill() int {
	n := 0
	for p, f := range r.fail {
		if p != "kill" {
			n += f
		}
	}
	return n
}

func (r *result) passed() bool { return r.failuresOutsideKill() == 0 && len(r.disagreed) == 0 }

func runFleet(ctx context.Context, o options) (*result, error) {
	dir, err := os.MkdirTemp("", "nave-fleet-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return nil, err
		}
	}
	// The naves run from a path of the run's own, so that the upgrade can
	// install a new binary there, as a package manager would.
	installed := filepath.Join(dir, "nave")
	if err := install(o.nave, installed); err != nil {
		return nil, err
	}
	o.nave = installed
	help, _ := exec.Command(o.nave, "serve", "--help").CombinedOutput()
	var extra []string
	if strings.Contains(string(help), "--drain-delay") {
		extra = append(extra, "--drain-delay", drainDelay.String())
	}
	var hosts []*host
	defer func() {
		for _, h := range hosts {
			h.killAll()
			h.remove()
		}
	}()
	for n := 1; n <= 3; n++ {
		h, err := newHost(ctx, n, dir)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, h)
		if err := h.start(ctx, o.nave, extra); err != nil {
			return nil, err
		}
	}
	r := &result{at: time.Now().UTC(), commit: o.commit, readyz: hosts[0].ready(ctx) == "ready"}
	checkPath, checkPort := "/readyz", 9100
	if !r.readyz {
		checkPath, checkPort = "/small.txt", 8000
		for _, h := range hosts {
			h.readyURL = "http://" + h.addr + ":8000/small.txt"
		}
	}
	lb, err := startLB(ctx, dir, hosts, checkPath, checkPort)
	if err != nil {
		return nil, err
	}
	defer lb.stop()
	r.agree(ctx, "start", lb, hosts)

	ld := newLoad()
	stopLoad := ld.run("http://"+lb.addr, o.clients)
	step := func(name string) { ld.setPhase(name); r.phases = append(r.phases, name) }
	step("steady")
	time.Sleep(phase)

	// 1. Upgrade in place.
	step("upgrade")
	if !strings.Contains(string(help), "SIGUSR2") {
		r.upgrade = "this nave binary has no binary upgrade (SIGUSR2) yet"
	} else if msg, err := upgrade(ctx, hosts[0], o.nave); err != nil {
		r.upgrade = "failed: " + err.Error()
		r.disagreed = append(r.disagreed, "upgrade: "+err.Error())
	} else {
		r.steps = append(r.steps, msg)
	}
	time.Sleep(phase)
	r.agree(ctx, "after the upgrade", lb, hosts)

	// 2. Restart: SIGTERM (a drain), then start again.
	step("restart")
	hosts[1].signal(syscall.SIGTERM)
	r.agree(ctx, "nave 2 draining or stopped", lb, hosts)
	if err := hosts[1].wait(45 * time.Second); err != nil {
		return r, err
	}
	if err := hosts[1].start(ctx, o.nave, extra); err != nil {
		return r, err
	}
	r.agree(ctx, "nave 2 restarted", lb, hosts)
	time.Sleep(phase)

	// 3. SIGKILL: requests in flight on nave 3 may fail, until HAProxy
	// has taken it out.
	step("kill")
	hosts[2].signal(syscall.SIGKILL)
	hosts[2].wait(10 * time.Second)
	r.agree(ctx, "nave 3 killed", lb, hosts)
	if v, err := lb.column("wretr"); err == nil {
		r.retried = v["nave3"]
	}
	if v, err := lb.column("eresp"); err == nil {
		r.respErrors = v["nave3"]
	}
	step("recover")
	if err := hosts[2].start(ctx, o.nave, extra); err != nil {
		return r, err
	}
	r.agree(ctx, "nave 3 started again", lb, hosts)
	time.Sleep(phase)
	stopLoad()

	ld.mu.Lock()
	r.ok, r.fail, r.errs = ld.ok, ld.fail, ld.errs
	ld.mu.Unlock()
	return r, nil
}

// upgrade installs a new copy of the binary at path, sends SIGUSR2 to h's
// nave, and waits for the old process to exit and a new one to be ready.
func upgrade(ctx context.Context, h *host, path string) (string, error) {
	if err := install(path, path); err != nil {
		return "", err
	}
	old := h.cmd.Process.Pid
	if err := h.signal(syscall.SIGUSR2); err != nil {
		return "", err
	}
	if err := h.wait(45 * time.Second); err != nil {
		return "", err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if h.ready(ctx) == "ready" {
			return fmt.Sprintf("nave 1 upgraded in place: pid %d handed over to pid(s) %s", old, strings.Join(h.pids(), " ")), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", fmt.Errorf("nave %d: no ready process after the upgrade", h.n)
}

// install copies the binary src to dst through a new file renamed over
// dst, as a package manager installs: a running nave keeps its old file.
func install(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := dst + ".new"
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// agree waits until HAProxy's view of every server matches what its nave
// says (UP for ready, DOWN for not ready or not answering), and records
// both and how long it took.
func (r *result) agree(ctx context.Context, label string, lb *lb, hosts []*host) {
	start := time.Now()
	var last string
	for time.Since(start) < agreeBound {
		view, err := lb.view()
		if err != nil {
			last = err.Error()
		} else {
			var parts []string
			all := true
			for _, h := range hosts {
				lbSays, naveSays := view[fmt.Sprintf("nave%d", h.n)], h.ready(ctx)
				parts = append(parts, fmt.Sprintf("nave%d %s/%s", h.n, lbSays, naveSays))
				if (lbSays == "UP") != (naveSays == "ready") || (lbSays != "UP" && lbSays != "DOWN" && lbSays != "MAINT") {
					all = false
				}
			}
			last = strings.Join(parts, ", ")
			if all {
				r.steps = append(r.steps, fmt.Sprintf("%s: %s (agreed after %.1fs)", label, last, time.Since(start).Seconds()))
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.steps = append(r.steps, fmt.Sprintf("%s: %s (NOT agreed within %v)", label, last, agreeBound))
	r.disagreed = append(r.disagreed, label)
}

// markdown renders the result for docs/operations.md.
func (r *result) markdown() string {
	var b strings.Builder
	verdict := "passed"
	if !r.passed() {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "Last run: %s", r.at.Format("2006-01-02 15:04 UTC"))
	if r.commit != "" {
		fmt.Fprintf(&b, ", at commit %s", r.commit)
	}
	fmt.Fprintf(&b, ", %s.\n\n", verdict)
	if !r.readyz {
		b.WriteString("This binary has no /readyz: HAProxy checked GET /small.txt on the site port instead.\n\n")
	}
	if r.upgrade != "" {
		fmt.Fprintf(&b, "Upgrade step skipped or failed: %s.\n\n", r.upgrade)
	}
	b.WriteString("| phase | requests ok | failed |\n|---|---:|---:|\n")
	for _, p := range r.phases {
		fmt.Fprintf(&b, "| %s | %d | %d |\n", p, r.ok[p], r.fail[p])
	}
	fmt.Fprintf(&b, "\nRequests in flight on nave 3 when it was killed: HAProxy counted %s response errors on it (eresp) and retried %s requests on another nave (wretr); the load client saw %d failed requests in the kill phase.\n",
		r.respErrors, r.retried, r.fail["kill"])
	b.WriteString("\nHAProxy's view / nave's /readyz at each step:\n\n")
	for _, s := range r.steps {
		fmt.Fprintf(&b, "- %s\n", s)
	}
	var ps []string
	for p := range r.errs {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	for _, p := range ps {
		fmt.Fprintf(&b, "\nFirst failures in %s: %s\n", p, strings.Join(r.errs[p], "; "))
	}
	return b.String()
}
