package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// h2loadRun is one run of h2load (Debian's nghttp2-client), pinned to cpu,
// with one thread: the HTTP/2 workloads' load generator, as wrk is the
// HTTP/1.1 ones'.
type h2loadRun struct {
	CPU      int
	Conns    int
	Streams  int // concurrent streams per connection (-m)
	Duration time.Duration
	URL      string // https: h2 by ALPN; http: h2c with prior knowledge
}

// h2load's TLS offer, narrowed as wrk's is (tlsfiles' wrk configuration): AES-128-GCM
// alone, so that every server encrypts alike.
const (
	h2loadTLS13Ciphers = "TLS_AES_128_GCM_SHA256"
	h2loadTLS12Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256"
)

func (h h2loadRun) args() []string {
	secs := max(int(h.Duration.Round(time.Second)/time.Second), 1)
	return []string{"-c", strconv.Itoa(h.CPU), "h2load", "-t1",
		"-c" + strconv.Itoa(h.Conns), "-m" + strconv.Itoa(h.Streams), "-D" + strconv.Itoa(secs),
		"--tls13-ciphers=" + h2loadTLS13Ciphers, "--ciphers=" + h2loadTLS12Ciphers, h.URL}
}

// h2loadReport is what h2load's summary says.
type h2loadReport struct {
	RPS       float64 // requests done per second of the measured duration
	Done      int64   // requests answered
	Succeeded int64   // answered 2xx or 3xx
	// Failed is every request that was not a success: answered 4xx or 5xx,
	// reset, timed out, or abandoned with its connection.
	Failed int64
	MeanUS int64 // mean time for a request
}

// run runs h2load and returns its report; its own duration bounds it, and
// ctx and a margin of 30 s too.
func (h h2loadRun) run(ctx context.Context) (h2loadReport, error) {
	ctx, cancel := context.WithTimeout(ctx, h.Duration+30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "taskset", h.args()...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	rep, perr := parseH2load(out.Bytes())
	if err != nil {
		return rep, fmt.Errorf("h2load: %w: %s", err, lastLines(out.Bytes(), 3))
	}
	return rep, perr
}

// parseH2load reads h2load's summary:
//
//	finished in 8.00s, 201234.50 req/s, 9.11MB/s
//	requests: 1609876 total, 1610516 started, 1609876 done, 1609876 succeeded, 0 failed, 0 errored, 0 timeout
//	time for request:       39us     26.01ms      2.17ms      2.22ms    88.03%
func parseH2load(out []byte) (h2loadReport, error) {
	var r h2loadReport
	var sawFinished, sawRequests bool
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "finished in "):
			f := strings.Split(line, ", ")
			if len(f) < 2 || !strings.HasSuffix(f[1], " req/s") {
				return r, fmt.Errorf("h2load: unexpected %q", line)
			}
			v, err := strconv.ParseFloat(strings.TrimSuffix(f[1], " req/s"), 64)
			if err != nil {
				return r, fmt.Errorf("h2load: %q: %w", line, err)
			}
			r.RPS, sawFinished = v, true
		case strings.HasPrefix(line, "requests: "):
			counts := map[string]int64{}
			for _, f := range strings.Split(strings.TrimPrefix(line, "requests: "), ", ") {
				n, name, ok := strings.Cut(f, " ")
				v, err := strconv.ParseInt(n, 10, 64)
				if !ok || err != nil {
					return r, fmt.Errorf("h2load: unexpected %q", line)
				}
				counts[name] = v
			}
			r.Done, r.Succeeded, r.Failed = counts["done"], counts["succeeded"], counts["failed"]
			sawRequests = true
		case strings.HasPrefix(line, "time for request:"):
			if f := strings.Fields(strings.TrimPrefix(line, "time for request:")); len(f) >= 3 {
				r.MeanUS = parseH2loadTime(f[2])
			}
		}
	}
	if !sawFinished || !sawRequests {
		return r, fmt.Errorf("h2load printed no summary: %q", lastLines(out, 5))
	}
	return r, nil
}

// parseH2loadTime reads one of h2load's times (39us, 2.17ms, 1.02s) as
// microseconds; 0 if it cannot.
func parseH2loadTime(s string) int64 {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0
	}
	return d.Microseconds()
}
