package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func fmtRPS(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func fmtLatency(us int64) string {
	ms := float64(us) / 1000
	switch {
	case us <= 0:
		return "-"
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func fmtRSS(kib int64) string {
	if kib <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}

func fmtRatio(r *row) string {
	if r.Ratio == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", r.Ratio)
}

// fmtCPUPerRequest is the server's CPU time per request: what a request
// costs even when the load generator, not the server, is the limit.
func fmtCPUPerRequest(r *row) string {
	if r.RPS <= 0 || r.ServerCPU <= 0 {
		return "-"
	}
	us := 1e6 * r.ServerCPU / r.RPS
	if us < 10 {
		return fmt.Sprintf("%.2f µs", us)
	}
	return fmt.Sprintf("%.0f µs", us)
}

// cells is a row as text: workload, server, req/s, p50, p99, errors, peak
// RSS, server CPU, CPU per request, ratio to nave.
func cells(r *row) []string {
	if len(r.Samples) == 0 {
		return []string{r.Workload, r.Server, r.Status, "", "", "", "", "", "", ""}
	}
	return []string{r.Workload, r.Server, fmtRPS(r.RPS), fmtLatency(r.P50US), fmtLatency(r.P99US),
		fmt.Sprint(r.Errors), fmtRSS(r.PeakRSSKiB), fmt.Sprintf("%.0f%%", 100*r.ServerCPU),
		fmtCPUPerRequest(r), fmtRatio(r)}
}

var header = []string{"workload", "server", "req/s", "p50", "p99", "errors", "peak RSS", "CPU", "CPU/req", "vs nave"}

// printTable writes the table for a terminal, with the cost of metrics
// (metricsCost) and the notes under it.
func printTable(w io.Writer, t *table) {
	widths := []int{9, 16, 12, 9, 9, 7, 10, 5, 9, 8}
	line := func(c []string) {
		fmt.Fprintf(w, "%-*s %-*s", widths[0], c[0], widths[1], c[1])
		for i := 2; i < len(c); i++ {
			fmt.Fprintf(w, " %*s", widths[i], c[i])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	line(header)
	last := ""
	for _, r := range t.rows {
		if r.Workload != last && last != "" {
			fmt.Fprintln(w)
		}
		last = r.Workload
		if len(r.Samples) == 0 {
			fmt.Fprintf(w, "%-*s %-*s %s\n", widths[0], r.Workload, widths[1], r.Server, r.Status)
			continue
		}
		line(cells(r))
	}
	fmt.Fprintln(w)
	if cost := metricsCost(t); len(cost) > 0 {
		for _, c := range cost {
			fmt.Fprintln(w, c)
		}
		fmt.Fprintln(w)
	}
	for _, n := range notes(t) {
		fmt.Fprintln(w, "note:", n)
	}
}

// loadBound is how busy the load's CPU must be for a row's req/s to be
// called the load side's limit.
const loadBound = 0.95

// notes are the caveats of a table: failed runs, figures taken while
// something else used the server's CPU, and req/s the load side bounded.
func notes(t *table) []string {
	var out []string
	for _, r := range t.rows {
		for _, n := range r.Notes {
			out = append(out, fmt.Sprintf("%s on %s: %s", r.Server, r.Workload, n))
		}
		if rc := r.Resumption; rc != nil && rc.Resumed < rc.Of {
			out = append(out, fmt.Sprintf("%s on %s: the TLS session was resumed on %d of %d new connections "+
				"by a client that offers each ticket once, as wrk does; the others were full handshakes",
				r.Server, r.Workload, rc.Resumed, rc.Of))
		}
		if r.OtherCPU > quietCPU {
			out = append(out, fmt.Sprintf("%s on %s: other processes used %.2f CPUs even in the least disturbed run",
				r.Server, r.Workload, r.OtherCPU))
		}
		if r.LoadBusy >= loadBound {
			out = append(out, fmt.Sprintf("%s on %s: the load's CPU was %.0f%% busy, so req/s is bounded by the "+
				"load side (the client, and a proxy's upstream) as much as by the server: compare CPU/req",
				r.Server, r.Workload, 100*r.LoadBusy))
		}
	}
	return out
}

// markdown writes the table as GitHub Markdown, with what produced it,
// the cost of metrics and the notes.
func markdown(w io.Writer, m meta, t *table) {
	fmt.Fprintf(w, "Measured %s with `%s`: server on CPU %d, `wrk -t1 -c%d` on CPU %d, "+
		"%s runs after %s of warm-up, median of %d (of the runs on a quiet machine); "+
		"\"vs nave\" is the median of each run's own ratio.\n\n",
		m.Date, m.Command, m.ServerCPU, m.Connections, m.LoadCPU, m.Duration, m.Warmup, m.Runs)
	if hasH2(t) {
		fmt.Fprintf(w, "The HTTP/2 workloads run `h2load -t1` on CPU %d instead, with the connections and streams "+
			"their titles give (AES-128-GCM offered alone, as to wrk); h2load reports no percentiles, so p50 "+
			"and p99 are blank there (the JSON keeps its mean).\n\n", m.LoadCPU)
	}
	fmt.Fprintf(w, "Machine: %s, Linux %s. Load average at start: %s. Source: %s.\n\n",
		m.CPUModel, m.Kernel, m.LoadAvg, m.Git)
	fmt.Fprintln(w, "| "+strings.Join(header, " | ")+" |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range t.rows {
		c := cells(r)
		c[0] = r.Title
		if r.Server == "nave" {
			c[1] = "**nave**"
		}
		fmt.Fprintln(w, "| "+strings.Join(c, " | ")+" |")
	}
	if cost := metricsCost(t); len(cost) > 0 {
		fmt.Fprintln(w)
		for _, c := range cost {
			fmt.Fprintln(w, "- "+c)
		}
	}
	if ns := notes(t); len(ns) > 0 {
		fmt.Fprintln(w)
		for _, n := range ns {
			fmt.Fprintln(w, "- "+n)
		}
	}
	names := make([]string, 0, len(m.Versions))
	for k := range m.Versions {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "\nVersions:")
	for _, k := range names {
		fmt.Fprintf(w, "- %s: %s\n", k, m.Versions[k])
	}
}

// hasH2 reports whether t has a row of an HTTP/2 workload.
func hasH2(t *table) bool {
	for _, r := range t.rows {
		if w, ok := findWorkload(r.Workload); ok && w.h2() {
			return true
		}
	}
	return false
}

// writeOutputs writes RESULTS/NAME.json, NAME.md and the chart.
func writeOutputs(cfg config, m meta, t *table, log io.Writer) error {
	if err := os.MkdirAll(cfg.results, 0o755); err != nil {
		return err
	}
	base := filepath.Join(cfg.results, cfg.outputName())
	js, err := json.MarshalIndent(struct {
		Meta meta   `json:"meta"`
		Rows []*row `json:"rows"`
	}{m, t.rows}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".json", append(js, '\n'), 0o644); err != nil {
		return err
	}
	var md strings.Builder
	markdown(&md, m, t)
	if err := os.WriteFile(base+".md", []byte(md.String()), 0o644); err != nil {
		return err
	}
	chart := cfg.chart
	if cfg.outputName() != "latest" {
		chart = base + ".png"
	}
	fmt.Fprintf(log, "bench: wrote %s.json, %s.md\n", base, base)
	if err := drawChart(chart, m, t); err != nil {
		fmt.Fprintln(log, "bench: no chart:", err)
		return nil
	}
	fmt.Fprintln(log, "bench: wrote", chart)
	return nil
}
