package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// lb is the HAProxy in the host namespace in front of the hosts.
type lb struct {
	addr  string // the frontend, on loopback
	stats string // the stats socket
	cmd   *exec.Cmd
}

// haproxyConfig is deploy/haproxy/haproxy.cfg's backend with the test's
// addresses and a faster check interval.
func haproxyConfig(front, stats string, hosts []*host, checkPath string, checkPort int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
    stats socket %s mode 600 level admin
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout http-request 30s
    timeout http-keep-alive 60s
    timeout client 60s
    timeout server 60s
    retries 2
    option redispatch 1
    retry-on conn-failure empty-response
frontend www
    bind %s
    default_backend nave
backend nave
    balance roundrobin
    option httpchk
    http-check send meth GET uri %s ver HTTP/1.1 hdr Host nave
    http-check expect status 200
    http-reuse safe
    default-server check port %d inter %dms fall 2 rise 2 pool-purge-delay 5s
`, stats, front, checkPath, checkPort, checkInter.Milliseconds())
	for _, h := range hosts {
		fmt.Fprintf(&b, "    server nave%d %s:8000\n", h.n, h.addr)
	}
	return b.String()
}

func startLB(ctx context.Context, dir string, hosts []*host, checkPath string, checkPort int) (*lb, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	front := ln.Addr().String()
	ln.Close()
	l := &lb{addr: front, stats: filepath.Join(dir, "haproxy.sock")}
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(front, l.stats, hosts, checkPath, checkPort)), 0o644); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "haproxy.log"))
	if err != nil {
		return nil, err
	}
	l.cmd = exec.Command("haproxy", "-db", "-f", cfg)
	l.cmd.Stdout, l.cmd.Stderr = log, log
	if err := l.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := l.view(); err == nil {
			return l, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	l.stop()
	return nil, fmt.Errorf("haproxy did not start (log: %s)", log.Name())
}

func (l *lb) stop() {
	l.cmd.Process.Kill()
	l.cmd.Wait()
}

// view asks the stats socket ("show stat") for each server's status:
// "UP", "DOWN", or a transition such as "UP 1/2".
func (l *lb) view() (map[string]string, error) {
	return l.column("status")
}

// column asks the stats socket ("show stat") for one column of each
// server's row, as "status" or "wretr" (requests retried).
func (l *lb) column(name string) (map[string]string, error) {
	c, err := net.DialTimeout("unix", l.stats, time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("show stat\n")); err != nil {
		return nil, err
	}
	br := bufio.NewReader(c)
	head, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	cols := strings.Split(strings.TrimPrefix(strings.TrimSpace(head), "# "), ",")
	idx := map[string]int{}
	for i, c := range cols {
		idx[c] = i
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, row := range rows {
		col, ok := idx[name]
		if !ok {
			return nil, fmt.Errorf("haproxy stats: no column %q", name)
		}
		if len(row) > col && row[idx["pxname"]] == "nave" && strings.HasPrefix(row[idx["svname"]], "nave") {
			out[row[idx["svname"]]] = row[col]
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("haproxy stats: no servers of backend nave")
	}
	return out, nil
}
