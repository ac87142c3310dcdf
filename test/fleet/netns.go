package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// host is one nave in its own network namespace, reached from the host
// namespace over a veth pair: 10.77.N.1 on the host side, 10.77.N.2 inside.
type host struct {
	n       int
	ns      string // namespace name
	veth    string // host-side interface
	addr    string // nave's address inside, as HAProxy dials it
	site    string // document root
	logFile string
	// readyURL is what "ready" asks: /readyz on the metrics listener, or
	// a file on the site port for a binary without /readyz.
	readyURL string
	cmd      *exec.Cmd
	exited   chan struct{}
}

func ipCmd(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// newHost makes namespace n and its veth pair.
func newHost(ctx context.Context, n int, dir string) (*host, error) {
	id := os.Getpid() % 10000
	h := &host{
		n:       n,
		ns:      fmt.Sprintf("navefleet-%d-%d", id, n),
		veth:    fmt.Sprintf("nf%d%dh", id, n),
		addr:    fmt.Sprintf("10.77.%d.2", n),
		site:    dir,
		logFile: filepath.Join(dir, fmt.Sprintf("nave%d.log", n)),
	}
	h.readyURL = "http://" + h.addr + ":9100/readyz"
	peer := fmt.Sprintf("nf%d%dn", id, n)
	steps := [][]string{
		{"netns", "add", h.ns},
		{"link", "add", h.veth, "type", "veth", "peer", "name", peer},
		{"link", "set", peer, "netns", h.ns},
		{"addr", "add", fmt.Sprintf("10.77.%d.1/24", n), "dev", h.veth},
		{"link", "set", h.veth, "up"},
		{"-n", h.ns, "addr", "add", h.addr + "/24", "dev", peer},
		{"-n", h.ns, "link", "set", peer, "up"},
		{"-n", h.ns, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := ipCmd(ctx, s...); err != nil {
			h.remove()
			return nil, err
		}
	}
	return h, nil
}

// remove deletes the namespace, which deletes the veth pair with it.
func (h *host) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ipCmd(ctx, "link", "del", h.veth)
	ipCmd(ctx, "netns", "del", h.ns)
}

// start runs nave inside the namespace on :8000 with /metrics, /livez and
// /readyz on :9100, and waits until it answers.
func (h *host) start(ctx context.Context, nave string, extra []string) error {
	log, err := os.OpenFile(h.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := append([]string{"netns", "exec", h.ns, nave, "serve",
		"--listen", h.addr + ":8000", "--metrics", h.addr + ":9100", "--access-log", "off"}, extra...)
	args = append(args, h.site)
	h.cmd = exec.Command("ip", args...)
	h.cmd.Stdout, h.cmd.Stderr = log, log
	h.cmd.Env = append(os.Environ(), "NAVE_STATE_DIR="+filepath.Join(h.site, ".state"))
	if err := h.cmd.Start(); err != nil {
		log.Close()
		return err
	}
	h.exited = make(chan struct{})
	go func() { h.cmd.Wait(); log.Close(); close(h.exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := probe(ctx, "http://"+h.addr+":8000/small.txt"); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nave %d did not answer within 10s (log: %s)", h.n, h.logFile)
}

// signal sends sig to the nave process (ip netns exec execs it, so the pid
// is nave's).
func (h *host) signal(sig syscall.Signal) error { return h.cmd.Process.Signal(sig) }

// wait waits for nave to exit, for at most d.
func (h *host) wait(d time.Duration) error {
	select {
	case <-h.exited:
		return nil
	case <-time.After(d):
		return fmt.Errorf("nave %d still running after %v", h.n, d)
	}
}

// pids lists the processes in the namespace.
func (h *host) pids() []string {
	out, _ := exec.Command("ip", "netns", "pids", h.ns).Output()
	return strings.Fields(string(out))
}

// killAll kills every process in the namespace: nave, and the new nave a
// binary upgrade started, whose pid the harness never learnt.
func (h *host) killAll() {
	for _, f := range h.pids() {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if h.exited != nil {
		h.wait(5 * time.Second)
	}
}

// ready is what nave itself says: "ready" for /readyz 200, "not ready"
// for another status, "down" when nothing answers.
func (h *host) ready(ctx context.Context) string {
	code, err := probe(ctx, h.readyURL)
	switch {
	case err != nil:
		return "down"
	case code == http.StatusOK:
		return "ready"
	}
	return "not ready"
}

var probeClient = &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// probe GETs url and returns the status.
func probe(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
