// Package status is nave's status page: a Sampler that reads
// the server's and the apps' figures every few seconds into a ring of
// bounded size, the rates, percentiles and history worked out from it as
// JSON, and the page a person reads them on.
//
// The Sampler keeps Keep readings, one each Interval (by default 300 at
// 2 s: ten minutes), each a fixed set of counts: its memory is bounded by
// Keep and the number of apps, a few hundred kilobytes at most. Counts are
// cumulative (requests by status class, histogram buckets), so a rate or
// a percentile over any span is the difference of two readings: Now uses
// the last Window, History each interval.
//
// The page (page.html, embedded) is hand-written HTML and CSS with inline
// SVG charts drawn by a little vanilla JavaScript that polls the JSON
// beside it; it loads nothing from anywhere else and works offline.
//
// It imports metrics, servermetrics, web and the standard library; cli
// reads the figures (servermetrics, the worker pools, the upstreams) and
// serves the page on the admin API and --status.
package status
