package main

import (
	"fmt"

	"nave/bench/internal/servers"
)

// metricsTarget is what counting every request may cost: nave's
// throughput on the 14 B file with metrics on is to stay within 2% of it
// with them off (docs/observability.md, "What it costs").
const metricsTarget = 0.02

// metricsCost compares nave-metrics with nave on each workload where both
// have figures, one line each: the ratio of their CPU per request and of
// their req/s, from each row's chosen run (the unrounded CPU and req/s,
// not the table's µs).
func metricsCost(t *table) []string {
	var out []string
	for _, on := range t.rows {
		if on.Server != servers.MetricsName {
			continue
		}
		off := t.index[[2]string{on.Workload, "nave"}]
		if !hasCPUPerRequest(on) || off == nil || !hasCPUPerRequest(off) {
			continue
		}
		cpu := (on.ServerCPU / on.RPS) / (off.ServerCPU / off.RPS)
		line := fmt.Sprintf("metrics cost on %s: CPU/request with metrics ÷ without = %.3f (target ≤ %.2f); "+
			"req/s with metrics ÷ without = %.3f (target ≥ %.2f)",
			on.Workload, cpu, 1+metricsTarget, on.RPS/off.RPS, 1-metricsTarget)
		if on.OtherCPU > quietCPU || off.OtherCPU > quietCPU {
			line += "; other processes used the CPUs during these runs (see the notes), so the ratios say little"
		}
		out = append(out, line)
	}
	return out
}

// hasCPUPerRequest reports whether r has the figures of a CPU per request.
func hasCPUPerRequest(r *row) bool {
	return len(r.Samples) > 0 && r.RPS > 0 && r.ServerCPU > 0
}
