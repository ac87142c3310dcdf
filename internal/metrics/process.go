package metrics

// procStat is what RegisterProcess reads per scrape; a figure the system
// cannot give is NaN.
type procStat struct {
	cpu, rss, vsize, openFDs, maxFDs float64
}

// RegisterProcess adds the process figures under the names every
// Prometheus client library uses: process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds and process_start_time_seconds. They
// are read once per scrape (from /proc on Linux). On a system where they
// cannot be read, it adds nothing.
func (r *Registry) RegisterProcess() {
	start, ok := processStart()
	if !ok {
		return
	}
	p := new(procStat)
	r.onScrape(func() { *p = readProcStat() })
	r.CounterFunc("process_cpu_seconds_total", "User and system CPU time the process has used.", func() float64 { return p.cpu })
	r.GaugeFunc("process_resident_memory_bytes", "Resident memory size.", func() float64 { return p.rss })
	r.GaugeFunc("process_virtual_memory_bytes", "Virtual memory size.", func() float64 { return p.vsize })
	r.GaugeFunc("process_open_fds", "Open file descriptors.", func() float64 { return p.openFDs })
	r.GaugeFunc("process_max_fds", "The limit on open file descriptors (RLIMIT_NOFILE's soft limit).", func() float64 { return p.maxFDs })
	r.GaugeFunc("process_start_time_seconds", "When the process started, in seconds since the Unix epoch.", func() float64 { return start })
}
