// Package metrics counts what the server does and renders it for
// Prometheus: the text exposition format 0.0.4, and OpenMetrics 1.0.0 when
// the scraper asks for it (https://prometheus.io/docs/instrumenting/exposition_formats/,
// https://github.com/prometheus/OpenMetrics/blob/v1.0.0/specification/OpenMetrics.md).
//
// # The model
//
// A Registry holds metric families. A family has a type (counter, gauge,
// histogram), a name, help text and a fixed list of label names, and one
// series (a child) per label combination registered. Registering a family
// or a label combination is configuration work: it takes locks, allocates,
// and panics on a programmer's error (a counter not named _total, a
// non-base unit such as _milliseconds, a name outside nave_, go_ and
// process_, a label value count that does not match). Updating a child is
// the hot path: one atomic operation, no lock, no allocation.
//
//   - Counter: uint64, Inc and Add. Requests, bytes, restarts.
//   - Gauge: int64, Set, Add, Inc, Dec. Connections in a state, requests in
//     flight, queue depth.
//   - Histogram: fixed upper bounds (LatencyBuckets by default: 0.5 ms to
//     30 s), Observe(seconds) and ObserveDuration; rendered as cumulative
//     _bucket series with le, _sum and _count.
//   - CounterFunc, GaugeFunc, and their FuncVec forms: a func() float64
//     read at scrape time, for a figure another component owns (workers by
//     state, worker-seconds, the last reload's time, CPU seconds).
//   - CounterVec, GaugeVec, HistogramVec: With(values...) resolves a label
//     combination to its handle, the same handle every time; Delete drops
//     a series a reload removed.
//
// Labels are bounded by configuration: site, route, app, upstream, and
// small fixed sets (status class, state, result). Never a raw path, a
// client address or anything else a client chooses: each combination is a
// series kept forever.
//
// A figure a component keeps whether or not metrics are exposed (an
// app's queue wait, which its status page shows) is a NewHistogram of its
// own, exposed with HistogramVec.Set when metrics are on; a reader in the
// process takes a HistogramSnapshot and its Quantile, computed as PromQL's
// histogram_quantile, over all time or, with Sub, since an earlier
// snapshot.
//
// # How a gateway uses it
//
// At configuration time, for each route (site, app), resolve every handle
// the hot path will need and keep them in the route's own struct, arrays
// indexed by small integers where a label varies per request:
//
//	m.requests[c] = requests.With(route, strconv.Itoa(c+1)+"xx") // c = 0..4
//	m.duration = duration.With(route)
//
// Per request: m.requests[status/100-1].Inc(); m.duration.ObserveDuration(d).
// No map, no string, no lock. A reload that keeps a route gets the same
// handles back from With, so its counts go on; see Example.
//
// # Cost on the hot path
//
// Measured with go test -bench -cpu 1,2 on a 2-core AMD EPYC VM that other
// jobs were loading (load average 4–5, so ranges, not points), all 0
// allocations:
//
//	Counter.Inc                         3.1–3.3 ns
//	Counter.Inc, both cores on one      3.1–4.2 ns/op (-cpu 1), 3.4–4.5 ns/op wall (-cpu 2)
//	Gauge.Inc+Dec, both cores           4.5–6.2 ns/op (-cpu 1), 7.8–13.7 ns/op wall (-cpu 2)
//	Histogram.Observe                   9.5–18 ns (a binary search of 15 bounds, an add, a CAS)
//	Histogram.Observe, both cores       8.3–11.8 ns/op (-cpu 1), 7.9–14.6 ns/op wall (-cpu 2)
//	a request's updates, both cores     22–32 ns/op (-cpu 1), 36–57 ns/op wall (-cpu 2)
//	  (2 counters, 4 gauge moves, 1 observation, all shared by both cores)
//
// The last line is the worst case, every core on the same handles: against
// the 10 µs of CPU a 14 B static response costs (docs/performance.md), under
// 0.6 %.
//
// Sharding was measured and not taken: eight cache-line-padded cells, one
// picked per add with math/rand/v2, cost 7.5–12 ns/op on one core and
// 11–21 ns/op on two, against 3.1–4.6 for the one shared atomic: picking a
// cell costs more than the contention it saves on two cores. Even ideal
// sharding, a cell per goroutine chosen once (as a connection could carry
// a shard index through the API), did 2.9–4.7 ns/op on two cores against
// 3.9–4.6: under 1 ns per update, about 15 ns of a request's 10 µs, not
// worth a shard argument on every call. Counters and
// gauges are padded to a cache line each, so that two handles updated by
// different cores (two routes) never share one. On a machine with many
// more cores, BenchmarkShardedCounterIncParallel against
// BenchmarkCounterIncParallel says whether to revisit.
//
// # Scraping
//
// Handler serves the exposition (GET and HEAD; OpenMetrics by Accept;
// gzip by Accept-Encoding). A scrape renders families sorted by name and
// series by label values; a family with no series yet is left out.
// Scrapes are serialized and do not block updates: a histogram's _sum may
// be a few observations apart from its buckets, never its _count from its
// +Inf bucket. A scrape of a server with 20 routes is about 0.23 ms, 38 KB
// (3.9 KB gzipped). RegisterGo and RegisterProcess add the Go runtime's
// and the process's figures under the names the Prometheus client
// libraries use.
//
// It imports web and the standard library only, and no other nave
// package: the server, the gateways and cli import it.
package metrics
