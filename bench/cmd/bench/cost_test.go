package main

import (
	"io"
	"strings"
	"testing"

	"nave/bench/internal/servers"
)

// costTable is nave and nave-metrics on tiny (metrics 1.5% dearer per
// request, 1% slower), on close while other processes ran, and on html,
// where nave-metrics has no figures; nave alone on 1m.
func costTable() *table {
	tb := &table{}
	add := func(workload, server string, s ...sample) {
		w, _ := findWorkload(workload)
		r := tb.row(w, server)
		for _, x := range s {
			r.add(x)
		}
	}
	// The median by req/s is the run chosen: 100,000 and 99,000 req/s,
	// 10 µs and 10.15 µs of CPU per request.
	add("tiny", "nave", sample{RPS: 90000, ServerCPU: 0.5}, sample{RPS: 100000, ServerCPU: 1.0}, sample{RPS: 110000, ServerCPU: 0.5})
	add("tiny", "nave-metrics", sample{RPS: 99000, ServerCPU: 1.00485}, sample{RPS: 98000, ServerCPU: 0.5}, sample{RPS: 120000, ServerCPU: 0.5})
	add("close", "nave", sample{RPS: 20000, ServerCPU: 1.0, OtherCPU: 0.4})
	add("close", "nave-metrics", sample{RPS: 10000, ServerCPU: 1.0, OtherCPU: 0.3})
	add("html", "nave", sample{RPS: 50000, ServerCPU: 1.0})
	w, _ := findWorkload("html")
	tb.row(w, "nave-metrics").fail("exit status 1")
	add("1m", "nave", sample{RPS: 1000, ServerCPU: 1.0})
	tb.finish()
	return tb
}

func TestMetricsCost(t *testing.T) {
	got := metricsCost(costTable())
	want := []string{
		"metrics cost on tiny: CPU/request with metrics ÷ without = 1.015 (target ≤ 1.02); req/s with metrics ÷ without = 0.990 (target ≥ 0.98)",
		"metrics cost on close: CPU/request with metrics ÷ without = 2.000 (target ≤ 1.02); req/s with metrics ÷ without = 0.500 (target ≥ 0.98); " +
			"other processes used the CPUs during these runs (see the notes), so the ratios say little",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := metricsCost(&table{}); len(got) != 0 {
		t.Errorf("no rows: got %q, want nothing", got)
	}
}

// Both reports put the lines under the table, before the notes.
func TestMetricsCostInReports(t *testing.T) {
	tb := costTable()
	var term, md strings.Builder
	printTable(&term, tb)
	markdown(&md, meta{}, tb)
	for name, out := range map[string]string{"terminal": term.String(), "markdown": md.String()} {
		cost := strings.Index(out, "metrics cost on tiny: CPU/request with metrics ÷ without = 1.015")
		table := strings.Index(out, "0.50×") // the table's last row: nave-metrics on close
		note := strings.Index(out, "nave on close: other processes used")
		if cost < 0 || table < 0 || note < 0 || !(table < cost && cost < note) {
			t.Errorf("%s: the metrics cost at %d, want it after the table (%d) and before the notes (%d):\n%s", name, cost, table, note, out)
		}
	}
	if !strings.Contains(md.String(), "\n- metrics cost on close: ") {
		t.Errorf("markdown: no list item for close:\n%s", md.String())
	}
}

// make bench and make bench-quick pass no --servers or --only: both run
// nave and nave-metrics on tiny, so their reports state the cost.
func TestMakeBenchRunsMetricsOnTiny(t *testing.T) {
	for _, args := range [][]string{nil, {"--quick"}} {
		cfg, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		gs, err := groups(cfg.only, cfg.quick, "/root")
		if err != nil {
			t.Fatal(err)
		}
		ran := map[string]bool{}
		for _, g := range gs {
			for _, w := range g.Workloads {
				if w.Name != "tiny" {
					continue
				}
				for _, srv := range servers.All() {
					if srv.Kind == g.Kind && cfg.wantServer(srv.Name) {
						ran[srv.Name] = true
					}
				}
			}
		}
		if !ran["nave"] || !ran[servers.MetricsName] {
			t.Errorf("bench %q runs %v on tiny, want nave and %s among them", args, ran, servers.MetricsName)
		}
	}
}
