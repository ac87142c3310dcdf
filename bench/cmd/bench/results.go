package main

import (
	"sort"

	"nave/bench/internal/servers"
)

// sample is one measured run of one workload against one server.
type sample struct {
	RPS       float64 `json:"rps"`
	P50US     int64   `json:"p50_us"`
	P99US     int64   `json:"p99_us"`
	MeanUS    int64   `json:"mean_us,omitempty"` // h2load's mean time per request; it gives no percentiles
	Errors    int64   `json:"errors"`
	Requests  int64   `json:"requests"`
	ServerCPU float64 `json:"server_cpu"` // CPU time of the server's processes / wall time
	OtherCPU  float64 `json:"other_cpu"`  // CPUs used by processes other than the server, wrk and the harness
	// LoadBusy is how busy the load's CPU was, 0 to 1: wrk's (or
	// h2load's) and, for the proxies, the upstream's. Near 1, req/s is
	// as much the load side's limit as the server's.
	LoadBusy float64 `json:"load_cpu_busy"`
	// Run is the run (from 0) the sample was taken in: every server runs
	// each workload once a run, so samples of one run are close in time.
	Run int `json:"run"`
}

// row is one server on one workload, over every run.
type row struct {
	Workload   string   `json:"workload"`
	Title      string   `json:"title"`
	Server     string   `json:"server"`
	Status     string   `json:"status"` // "ok", or why there are no figures
	Notes      []string `json:"notes,omitempty"`
	Samples    []sample `json:"runs"`
	PeakRSSKiB int64    `json:"peak_rss_kib"`

	// The chosen run (see summarize) gives rps, p50, p99 and CPU; errors
	// are summed over all runs. Ratio is rps over nave's rps on the same
	// workload (0 if there is none).
	RPS       float64 `json:"rps"`
	P50US     int64   `json:"p50_us"`
	P99US     int64   `json:"p99_us"`
	Errors    int64   `json:"errors"`
	ServerCPU float64 `json:"server_cpu"`
	OtherCPU  float64 `json:"other_cpu"`
	LoadBusy  float64 `json:"load_cpu_busy"`
	Ratio     float64 `json:"ratio_to_nave"`

	// Resumption is what the probe after each run of a workload with a new
	// TLS connection per request found, summed over the runs; nil elsewhere.
	Resumption *resumeCount `json:"tls_resumption,omitempty"`
}

// resumeCount is how many new TLS connections resumed the session, of how
// many a client with a session to offer opened.
type resumeCount struct {
	Resumed int `json:"resumed"`
	Of      int `json:"of"`
}

func (r *row) add(s sample) {
	r.Samples = append(r.Samples, s)
	r.Status = "ok"
}

// fail records why a run gave no figure; a row that has figures keeps them
// and notes the failure.
func (r *row) fail(why string) {
	if len(r.Samples) == 0 {
		r.Status = why
		return
	}
	r.Notes = append(r.Notes, why)
}

func (r *row) notePeak(kib int64) { r.PeakRSSKiB = max(r.PeakRSSKiB, kib) }

// summarize fills the figures: the median (by req/s) of the runs taken on
// a quiet machine, or, if none was, the least disturbed run.
func (r *row) summarize() {
	if len(r.Samples) == 0 {
		return
	}
	var quiet []sample
	least := r.Samples[0]
	for _, x := range r.Samples {
		if x.OtherCPU < quietCPU {
			quiet = append(quiet, x)
		}
		if x.OtherCPU < least.OtherCPU {
			least = x
		}
	}
	m := least
	if len(quiet) > 0 {
		sort.Slice(quiet, func(i, j int) bool { return quiet[i].RPS < quiet[j].RPS })
		m = quiet[(len(quiet)-1)/2] // the lower median for an even count
	}
	r.RPS, r.P50US, r.P99US, r.ServerCPU, r.OtherCPU, r.LoadBusy = m.RPS, m.P50US, m.P99US, m.ServerCPU, m.OtherCPU, m.LoadBusy
	r.Errors = 0
	for _, x := range r.Samples {
		r.Errors += x.Errors
	}
}

// table holds the rows in the order they were first asked for.
type table struct {
	rows  []*row
	index map[[2]string]*row
}

func (t *table) row(w workload, server string) *row {
	if t.index == nil {
		t.index = map[[2]string]*row{}
	}
	k := [2]string{w.Name, server}
	if r, ok := t.index[k]; ok {
		return r
	}
	r := &row{Workload: w.Name, Title: w.Title, Server: server, Status: "not run", Samples: []sample{}}
	t.index[k] = r
	t.rows = append(t.rows, r)
	return r
}

// finish orders the rows by workload, then server; summarizes every row;
// and sets each one's ratio to nave.
func (t *table) finish() {
	sort.SliceStable(t.rows, func(i, j int) bool {
		a, b := t.rows[i], t.rows[j]
		if wa, wb := workloadIndex(a.Workload), workloadIndex(b.Workload); wa != wb {
			return wa < wb
		}
		return serverIndex(a.Server) < serverIndex(b.Server)
	})
	for _, r := range t.rows {
		r.summarize()
	}
	for _, r := range t.rows {
		nave := t.index[[2]string{r.Workload, "nave"}]
		if nave != nil && nave.RPS > 0 && r.RPS > 0 {
			r.Ratio = pairedRatio(r, nave)
		}
	}
}

func workloadIndex(name string) int {
	for i, w := range workloads {
		if w.Name == name {
			return i
		}
	}
	return len(workloads)
}

// serverIndex orders servers as servers.All does, the ceiling last.
func serverIndex(name string) int {
	for i, s := range servers.All() {
		if s.Name == name {
			return i
		}
	}
	return len(servers.All())
}

// pairedRatio is r's req/s over nave's: the lower median of the ratios of
// the runs both have one quiet sample of (or, where no run has, one sample
// of), since a machine whose speed drifts between runs moves both servers
// of one run alike; without such a run, the ratio of the two medians.
func pairedRatio(r, nave *row) float64 {
	ratios := runRatios(r, nave, true)
	if len(ratios) == 0 {
		ratios = runRatios(r, nave, false)
	}
	if len(ratios) == 0 {
		return r.RPS / nave.RPS
	}
	sort.Float64s(ratios)
	return ratios[(len(ratios)-1)/2]
}

// runRatios are r's req/s over nave's in each run where each row has
// exactly one sample (quiet ones alone, with quiet).
func runRatios(r, nave *row, quiet bool) []float64 {
	byRun := func(x *row) map[int]float64 {
		out, seen := map[int]float64{}, map[int]int{}
		for _, s := range x.Samples {
			if quiet && s.OtherCPU >= quietCPU {
				continue
			}
			seen[s.Run]++
			out[s.Run] = s.RPS
		}
		for run, n := range seen {
			if n > 1 { // two samples of one run: a resumed file of an older format
				delete(out, run)
			}
		}
		return out
	}
	mine, theirs := byRun(r), byRun(nave)
	var out []float64
	for run, v := range mine {
		if w, ok := theirs[run]; ok && w > 0 && v > 0 {
			out = append(out, v/w)
		}
	}
	return out
}
