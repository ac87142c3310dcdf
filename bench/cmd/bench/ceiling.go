package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"nave/bench/internal/proc"
	"nave/bench/internal/servers"
)

// ceilingName is the row of a WSGI or ASGI app called in-process, with no
// server.
const ceilingName = "ceiling"

// ceilingReport is what bench/apps/ceiling.py prints.
type ceilingReport struct {
	Calls     int64   `json:"calls"`
	Seconds   float64 `json:"seconds"`
	CallsPerS float64 `json:"calls_per_s"`
	MaxRSSKiB int64   `json:"maxrss_kib"`
}

// ceiling runs each of g's apps that has one in a loop in one Python
// process pinned to the servers' CPU: the most requests per second any
// server could get out of that app on that core.
func (b *bench) ceiling(ctx context.Context, g group) {
	script := "ceiling.py"
	if g.Kind == servers.ASGI {
		script = "asgi_ceiling.py"
	}
	for _, w := range g.Workloads {
		if !w.Ceiling {
			continue
		}
		r := b.table.row(w, ceilingName)
		snap0 := proc.TakeSnapshot()
		var args []string
		if g.Kind == servers.ASGI {
			conc := 1
			if w.CeilingWaits {
				conc = b.connsOf(w)
			}
			args = []string{w.Path, strconv.Itoa(conc)}
		}
		rep, err := b.runCeiling(ctx, script, w.App, args...)
		other := proc.TakeSnapshot().OthersSince(snap0, b.skipSet(nil))
		if err != nil {
			b.logf("ceiling of %s: %v", w.App, err)
			r.fail("failed: " + err.Error())
			continue
		}
		r.add(sample{RPS: rep.CallsPerS, Requests: rep.Calls, ServerCPU: 1, OtherCPU: other, Run: b.run})
		r.notePeak(rep.MaxRSSKiB)
		b.logf("%-9s %-17s %10.0f calls/s", w.Name, ceilingName, rep.CallsPerS)
	}
}

// connsOf is the connections w's load keeps open.
func (b *bench) connsOf(w workload) int {
	if w.Conns > 0 {
		return w.Conns
	}
	return b.conns
}

// runCeiling runs script on app, with args after the durations.
func (b *bench) runCeiling(ctx context.Context, script, app string, args ...string) (ceilingReport, error) {
	ctx, cancel := context.WithTimeout(ctx, b.duration+b.warmup+time.Minute)
	defer cancel()
	secs := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }
	var out, errOut bytes.Buffer
	argv := append([]string{"-c", strconv.Itoa(b.env.CPU), b.env.Python,
		filepath.Join(b.env.AppDir, script), app, secs(b.duration), secs(b.warmup)}, args...)
	cmd := exec.CommandContext(ctx, "taskset", argv...)
	cmd.Dir = b.env.AppDir
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return ceilingReport{}, fmt.Errorf("%w: %s", err, lastLines(errOut.Bytes(), 3))
	}
	var rep ceilingReport
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &rep); err != nil {
		return ceilingReport{}, fmt.Errorf("ceiling report %q: %w", strings.TrimSpace(out.String()), err)
	}
	return rep, nil
}
