// Package bench holds the files nave's benchmarks need at run time: the WSGI
// apps and the in-process ceiling (apps/), and wrk's report script (wrk/).
// The programs are in bench/cmd; docs/performance.md says how to run them.
package bench

import "embed"

// Files holds apps/*.py and wrk/report.lua.
//
//go:embed apps/*.py wrk/report.lua
var Files embed.FS
