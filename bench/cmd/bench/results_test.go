package main

import (
	"strings"
	"testing"

	"nave/bench/internal/servers"
)

func TestTableFinish(t *testing.T) {
	var tb table
	tiny, _ := findWorkload("tiny")
	html, _ := findWorkload("html")
	for _, s := range []struct {
		w      workload
		server string
		rps    []float64
	}{
		{html, "nginx", []float64{300, 100, 200}},
		{tiny, "nginx", []float64{50}},
		{tiny, "nave", []float64{100, 300}},
		{html, "nave", []float64{100}},
	} {
		r := tb.row(s.w, s.server)
		for _, v := range s.rps {
			r.add(sample{RPS: v, Errors: 1})
		}
	}
	tb.row(html, "caddy").fail("n/a (not built)")
	tb.finish()
	var got []string
	for _, r := range tb.rows {
		got = append(got, r.Workload+"/"+r.Server)
	}
	if want := "tiny/nave tiny/nginx html/nave html/nginx html/caddy"; strings.Join(got, " ") != want {
		t.Errorf("order: got %q, want %q", strings.Join(got, " "), want)
	}
	nginx := tb.index[[2]string{"html", "nginx"}]
	if nginx.RPS != 200 || nginx.Errors != 3 || nginx.Ratio != 2 {
		t.Errorf("html/nginx: got rps %v errors %d ratio %v, want 200 3 2", nginx.RPS, nginx.Errors, nginx.Ratio)
	}
	if nave := tb.index[[2]string{"tiny", "nave"}]; nave.RPS != 100 {
		t.Errorf("tiny/nave: got rps %v, want the lower median 100", nave.RPS)
	}
	if caddy := tb.index[[2]string{"html", "caddy"}]; caddy.Status != "n/a (not built)" || caddy.Ratio != 0 {
		t.Errorf("html/caddy: got %q ratio %v", caddy.Status, caddy.Ratio)
	}
}

func TestSummarizeQuietRuns(t *testing.T) {
	r := &row{}
	for _, s := range []sample{{RPS: 90, OtherCPU: 0.5}, {RPS: 100}, {RPS: 120, OtherCPU: 0.01}, {RPS: 300, OtherCPU: 0.9}} {
		r.add(s)
	}
	r.summarize()
	if r.RPS != 100 {
		t.Errorf("quiet runs: got %v, want 100, the lower median of the quiet runs", r.RPS)
	}
	r = &row{}
	for _, s := range []sample{{RPS: 90, OtherCPU: 0.5}, {RPS: 300, OtherCPU: 0.2}} {
		r.add(s)
	}
	r.summarize()
	if r.RPS != 300 || r.OtherCPU != 0.2 {
		t.Errorf("no quiet run: got %v (other %v), want the least disturbed, 300 (0.2)", r.RPS, r.OtherCPU)
	}
}

// A row whose chosen run saturated the load's CPU says so; one that did
// not, does not.
func TestNoteLoadBound(t *testing.T) {
	tb := &table{}
	w := workload{Name: "proxy-tiny"}
	busy, idle := tb.row(w, "nave"), tb.row(w, "nginx")
	busy.add(sample{RPS: 100, LoadBusy: 0.99})
	idle.add(sample{RPS: 100, LoadBusy: 0.60})
	tb.finish()
	var got []string
	for _, n := range notes(tb) {
		if strings.Contains(n, "load's CPU") {
			got = append(got, n)
		}
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "nave on proxy-tiny: the load's CPU was 99% busy") {
		t.Errorf("notes about the load's CPU: %q, want one, for nave at 99%%", got)
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{fmtRPS(1234567.4), "1,234,567"},
		{fmtRPS(999), "999"},
		{fmtLatency(450), "0.45 ms"},
		{fmtLatency(12345), "12.3 ms"},
		{fmtLatency(0), "-"},
		{shortNum(153210), "153k"},
		{shortNum(2345), "2.35k"},
		{shortNum(2430000), "2.43M"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestHTMLPageSize(t *testing.T) {
	if n := len(htmlPage(1024)); n != 1024 {
		t.Errorf("got %d bytes, want 1024", n)
	}
}

func TestGroups(t *testing.T) {
	gs, err := groups(nil, true, "/root")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range gs {
		var names []string
		for _, w := range g.Workloads {
			names = append(names, w.Name)
		}
		got = append(got, g.Target+":"+strings.Join(names, ","))
	}
	if want := "/root:tiny,close /root:tls-tiny,tls-close /root:h2-tiny /root:proxy-tiny,proxy-close hello:app:wsgi flask_hello:app:flask"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
	// The HTTP/2 workloads over TLS share one server start; h2c needs another.
	gs, err = groups([]string{"h2-tiny", "h2-1k", "h2-1m", "h2c-tiny"}, false, "/root")
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 || len(gs[0].Workloads) != 3 || gs[0].Kind != servers.H2 || gs[1].Kind != servers.H2C {
		t.Errorf("HTTP/2 groups: got %+v", gs)
	}
	if _, err := groups([]string{"nope"}, false, "/root"); err == nil {
		t.Error("unknown workload: got no error")
	}
}

// TestPairedRatio: "vs nave" is the median of the runs' own ratios, which
// a machine that slows between runs moves less than the medians' ratio;
// a run disturbed by other processes is left out, and rows without runs to
// pair fall back to the medians.
func TestPairedRatio(t *testing.T) {
	tb := &table{}
	tiny, _ := findWorkload("tiny")
	add := func(server string, samples ...sample) {
		r := tb.row(tiny, server)
		for _, s := range samples {
			r.add(s)
		}
	}
	// Run 1 found the machine twice as fast for both.
	add("nave", sample{RPS: 100, Run: 0}, sample{RPS: 200, Run: 1}, sample{RPS: 100, Run: 2}, sample{RPS: 50, Run: 3, OtherCPU: 0.5})
	add("nginx", sample{RPS: 120, Run: 0}, sample{RPS: 200, Run: 1}, sample{RPS: 90, Run: 2}, sample{RPS: 500, Run: 3})
	add("caddy", sample{RPS: 300, Run: 7}) // no run in common: 300 over nave's median
	tb.finish()
	if got := tb.index[[2]string{"tiny", "nginx"}].Ratio; got != 1.0 {
		t.Errorf("nginx: ratio %v, want 1.0, the median of 1.2, 1.0 and 0.9 (run 3 was disturbed); the medians' would be 1.2", got)
	}
	if got := tb.index[[2]string{"tiny", "caddy"}].Ratio; got != 3 {
		t.Errorf("caddy: ratio %v, want 3 (300 over nave's median 100)", got)
	}
	if got := tb.index[[2]string{"tiny", "nave"}].Ratio; got != 1 {
		t.Errorf("nave: ratio %v, want 1", got)
	}
}
