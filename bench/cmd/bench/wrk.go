package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

// wrkReport is the line bench/wrk/report.lua prints.
type wrkReport struct {
	Requests      int64   `json:"requests"`
	DurationUS    int64   `json:"duration_us"`
	Bytes         int64   `json:"bytes"`
	ErrorsConnect int64   `json:"errors_connect"`
	ErrorsRead    int64   `json:"errors_read"`
	ErrorsWrite   int64   `json:"errors_write"`
	ErrorsStatus  int64   `json:"errors_status"`
	ErrorsTimeout int64   `json:"errors_timeout"`
	P50US         int64   `json:"p50_us"`
	P90US         int64   `json:"p90_us"`
	P99US         int64   `json:"p99_us"`
	MaxUS         int64   `json:"max_us"`
	MeanUS        float64 `json:"mean_us"`
}

// RPS is completed requests per second of the run.
func (r wrkReport) RPS() float64 {
	if r.DurationUS <= 0 {
		return 0
	}
	return float64(r.Requests) / (float64(r.DurationUS) / 1e6)
}

// Errors counts socket errors, and answers of 400 or more unless the
// workload expects one (wrk cannot tell a 404 from a 500 without a Lua
// response hook, which would slow it; the check before each run makes sure
// the status is the expected one).
func (r wrkReport) Errors(wantStatus int) int64 {
	n := r.ErrorsConnect + r.ErrorsRead + r.ErrorsWrite + r.ErrorsTimeout
	if wantStatus < 400 {
		n += r.ErrorsStatus
	}
	return n
}

const reportPrefix = "NAVE_BENCH "

// wrkRun is one run of wrk, pinned to cpu, with one thread.
type wrkRun struct {
	CPU      int
	CPUs     string // when set, taskset's list instead of CPU, with a thread on each
	Threads  int    // 0 is 1
	Conns    int
	Duration time.Duration
	Script   string // report.lua
	URL      string
	Header   map[string]string
	Env      []string // added to wrk's environment
}

func (w wrkRun) args() []string {
	secs := int(w.Duration.Round(time.Second) / time.Second)
	cpus := strconv.Itoa(w.CPU)
	if w.CPUs != "" {
		cpus = w.CPUs
	}
	args := []string{"-c", cpus, "wrk", "-t" + strconv.Itoa(max(w.Threads, 1)),
		"-c" + strconv.Itoa(w.Conns), "-d" + strconv.Itoa(max(secs, 1)) + "s",
		"--latency", "--timeout", "5s", "-s", w.Script}
	keys := make([]string, 0, len(w.Header))
	for k := range w.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-H", k+": "+w.Header[k])
	}
	return append(args, w.URL)
}

// run runs wrk and returns its report. wrk's own duration bounds it; ctx
// and a margin of 30 s bound it too.
func (w wrkRun) run(ctx context.Context) (wrkReport, error) {
	ctx, cancel := context.WithTimeout(ctx, w.Duration+30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, "taskset", w.args()...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if len(w.Env) > 0 {
		cmd.Env = append(os.Environ(), w.Env...)
	}
	if err := cmd.Run(); err != nil {
		return wrkReport{}, fmt.Errorf("wrk: %w: %s", err, strings.TrimSpace(errOut.String()))
	}
	return parseWrk(out.Bytes())
}

func parseWrk(out []byte) (wrkReport, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), reportPrefix)
		if !ok {
			continue
		}
		var r wrkReport
		if err := json.Unmarshal([]byte(rest), &r); err != nil {
			return wrkReport{}, fmt.Errorf("wrk report: %w", err)
		}
		return r, nil
	}
	return wrkReport{}, fmt.Errorf("wrk printed no report: %q", lastLines(out, 5))
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
