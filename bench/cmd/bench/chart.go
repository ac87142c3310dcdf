package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// chartColors gives each server one colour in every panel; nave's stands out.
var chartColors = map[string]string{
	"nave":             "#d62728",
	"nave-base":        "#f2a3a3",
	"nave-strict":      "#ff9896",
	"nave-metrics":     "#e377c2",
	"nginx":            "#2ca02c",
	"fasthttp":         "#1f77b4",
	"caddy":            "#9467bd",
	"h2o":              "#17becf",
	"uwsgi":            "#ff7f0e",
	"gunicorn-sync":    "#8c564b",
	"gunicorn-gthread": "#7f7f7f",
}

// drawChart draws one panel per workload, a bar per server (req/s, linear
// scale, value on top), with gnuplot. The ceiling is too tall for a linear
// scale next to the servers; the panel's title gives it.
func drawChart(out string, m meta, t *table) error {
	gp, err := exec.LookPath("gnuplot")
	if err != nil {
		return fmt.Errorf("gnuplot not installed (make bench-deps)")
	}
	dir, err := os.MkdirTemp("", "nave-chart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	script, data := chartScript(out, filepath.Join(dir, "chart.dat"), m, t)
	if err := os.WriteFile(filepath.Join(dir, "chart.dat"), []byte(data), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, gp)
	cmd.Stdin, cmd.Stderr = strings.NewReader(script), &errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("gnuplot: %w: %s", err, strings.TrimSpace(errOut.String()))
	}
	return nil
}

// chartScript returns the gnuplot script and its data: one block per
// workload, one line per server: name, req/s, colour, label.
func chartScript(out, datPath string, m meta, t *table) (script, data string) {
	type panel struct {
		title string
		top   float64
	}
	var panels []panel
	var dat strings.Builder
	idx := map[string]int{}
	for _, r := range t.rows {
		i, ok := idx[r.Workload]
		if !ok {
			i = len(panels)
			idx[r.Workload] = i
			panels = append(panels, panel{title: r.Title})
			if i > 0 {
				dat.WriteString("\n\n")
			}
		}
		if r.Server == ceilingName {
			if r.RPS > 0 {
				panels[i].title += fmt.Sprintf(" (in-process ceiling %s/s)", shortNum(r.RPS))
			}
			continue
		}
		label := "n/a"
		if r.RPS > 0 {
			label = shortNum(r.RPS)
		}
		color := chartColors[r.Server]
		if color == "" {
			color = "#000000"
		}
		fmt.Fprintf(&dat, "%s\t%.1f\t0x%s\t%s\n", r.Server, r.RPS, color[1:], label)
		panels[i].top = max(panels[i].top, r.RPS)
	}
	var s strings.Builder
	cols := min(4, len(panels))
	rows := (len(panels) + cols - 1) / max(cols, 1)
	fmt.Fprintf(&s, "set terminal pngcairo size %d,%d font 'sans,10'\nset output '%s'\n", 380*cols+40, 330*rows+60, out)
	title := fmt.Sprintf("requests/s on one core, higher is better (%s, %s runs, %d connections, median of %d)",
		m.Date[:10], m.Duration, m.Connections, m.Runs)
	if disturbed(t) {
		title += "\\nsome figures were taken while other processes used the CPUs: see the table's notes"
	}
	fmt.Fprintf(&s, "set multiplot layout %d,%d title \"%s\" font ',12'\n", rows, cols, title)
	s.WriteString("set datafile separator '\\t'\nset style fill solid 0.85 border -1\nset boxwidth 0.7\n" +
		"set grid ytics\nunset key\nset xtics rotate by -30 scale 0 font ',9'\n" +
		"set bmargin 5\nset rmargin 5\n")
	for i, p := range panels {
		format := "%.0s%c" // 60k
		if p.top < 1e4 {
			format = "%g" // 1200
		}
		fmt.Fprintf(&s, "set title \"%s\" font ',10'\nset yrange [0:%g]\nset format y '%s'\n",
			p.title, max(p.top*1.18, 1), format)
		fmt.Fprintf(&s, "plot '%s' index %d using 0:2:3:xtic(1) with boxes lc rgb variable, "+
			"'' index %d using 0:2:4 with labels offset 0,0.8 font ',8'\n", datPath, i, i)
	}
	s.WriteString("unset multiplot\n")
	return s.String(), dat.String()
}

// shortNum is 1234567 as "1.23M", 153210 as "153k", 2345 as "2.35k".
func shortNum(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e5:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// disturbed reports whether any figure was taken next to a busy neighbour.
func disturbed(t *table) bool {
	for _, r := range t.rows {
		if r.OtherCPU > quietCPU {
			return true
		}
	}
	return false
}
