package metrics

import (
	"math"
	"runtime"
	rm "runtime/metrics"
)

// goFigures maps runtime/metrics samples to the names the Prometheus Go
// client exports for them (go_memstats_*, go_goroutines, ...), so that
// existing dashboards read them; the rest are named by that client's rule
// for runtime/metrics (go_sched_gomaxprocs_threads).
var goFigures = []struct {
	sample, name, help string
	counter            bool
}{
	{"/sched/goroutines:goroutines", "go_goroutines", "Goroutines that currently exist.", false},
	{"/sched/threads/total:threads", "go_threads", "OS threads the Go runtime has created and not exited.", false},
	{"/sched/gomaxprocs:threads", "go_sched_gomaxprocs_threads", "GOMAXPROCS: the threads that can run Go code at once.", false},
	{"/memory/classes/heap/objects:bytes", "go_memstats_heap_alloc_bytes", "Heap bytes in live objects and in dead ones not yet swept.", false},
	{"/memory/classes/total:bytes", "go_memstats_sys_bytes", "Bytes of memory the Go runtime has mapped from the OS.", false},
	{"/gc/heap/objects:objects", "go_memstats_heap_objects", "Objects on the heap, live or not yet swept.", false},
	{"/gc/heap/goal:bytes", "go_memstats_next_gc_bytes", "Heap size at which the next GC cycle is to finish.", false},
	{"/gc/gogc:percent", "go_gc_gogc_percent", "GOGC, the heap growth that triggers a GC cycle, in percent.", false},
	{"/gc/gomemlimit:bytes", "go_gc_gomemlimit_bytes", "GOMEMLIMIT, the Go runtime's soft memory limit.", false},
	{"/gc/heap/allocs:bytes", "go_memstats_alloc_bytes_total", "Bytes allocated on the heap, in total.", true},
	{"/gc/heap/allocs:objects", "go_memstats_mallocs_total", "Heap objects allocated, in total.", true},
	{"/gc/cycles/total:gc-cycles", "go_gc_cycles_total", "GC cycles completed.", true},
}

// goHistograms are runtime/metrics histograms, re-bucketed to pauseBuckets.
var goHistograms = []struct{ sample, name, help string }{
	{"/sched/pauses/total/gc:seconds", "go_sched_pauses_total_gc_seconds", "Stop-the-world pauses for GC, from stopping to restarting the world (_sum approximate)."},
	{"/sched/latencies:seconds", "go_sched_latencies_seconds", "Time goroutines spent runnable before running (_sum approximate)."},
}

// pauseBuckets span GC pauses and scheduling latencies: 1 µs to 1 s.
var pauseBuckets = []float64{1e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.1, 1}

// RegisterGo adds the Go runtime's figures, read with runtime/metrics
// once per scrape: goroutines, threads, GOMAXPROCS, heap and GC figures,
// and GC pauses and scheduling latency as histograms; and go_info with the
// Go version. A figure this Go does not offer is left out.
func (r *Registry) RegisterGo() {
	supported := make(map[string]bool)
	for _, d := range rm.All() {
		supported[d.Name] = true
	}
	g := new(goCollector)
	for _, f := range goFigures {
		if !supported[f.sample] {
			continue
		}
		i := len(g.samples)
		g.samples = append(g.samples, rm.Sample{Name: f.sample})
		read := func() float64 { return sampleValue(g.samples[i].Value) }
		if f.counter {
			r.CounterFunc(f.name, f.help, read)
		} else {
			r.GaugeFunc(f.name, f.help, read)
		}
	}
	for _, h := range goHistograms {
		if !supported[h.sample] {
			continue
		}
		s := &rebucketed{i: len(g.samples), counts: make([]uint64, len(pauseBuckets)+1)}
		g.samples = append(g.samples, rm.Sample{Name: h.sample})
		g.hists = append(g.hists, s)
		f := r.register(kindHistogram, h.name, h.help, checkBuckets(h.name, pauseBuckets), nil)
		f.child(nil, func() metric { return s }, false)
	}
	r.GaugeVec("go_info", "The Go version nave was built with.", "version").With(runtime.Version()).Set(1)
	r.onScrape(g.refresh)
}

// goCollector holds the samples its families read. refresh and the reads
// run under the registry's scrape lock.
type goCollector struct {
	samples []rm.Sample
	hists   []*rebucketed
}

func (g *goCollector) refresh() {
	rm.Read(g.samples)
	for _, h := range g.hists {
		h.load(g.samples[h.i].Value.Float64Histogram())
	}
}

func sampleValue(v rm.Value) float64 {
	switch v.Kind() {
	case rm.KindUint64:
		return float64(v.Uint64())
	case rm.KindFloat64:
		return v.Float64()
	}
	return math.NaN()
}

// rebucketed is a runtime histogram moved onto pauseBuckets. The runtime's
// bucket [lo, hi) is counted under the first bound ≥ hi, so a count under
// le="x" never includes a value above x; the sum, which the runtime does
// not keep, is estimated from each bucket's midpoint.
type rebucketed struct {
	i      int      // the sample's index in goCollector.samples
	counts []uint64 // per pauseBuckets bucket, +Inf last; not cumulative
	sum    float64
}

func (h *rebucketed) load(rh *rm.Float64Histogram) {
	clear(h.counts)
	h.sum = 0
	for i, n := range rh.Counts {
		if n == 0 {
			continue
		}
		lo, hi := rh.Buckets[i], rh.Buckets[i+1]
		h.counts[bucketOf(pauseBuckets, hi)] += n
		mid := (lo + hi) / 2
		switch {
		case math.IsInf(lo, -1):
			mid = hi
		case math.IsInf(hi, 1):
			mid = lo
		}
		h.sum += mid * float64(n)
	}
}

func (h *rebucketed) write(e *encoder, f *family, ch *child) {
	e.histogram(f, ch, len(h.counts), func(i int) uint64 { return h.counts[i] }, func() float64 { return h.sum })
}
