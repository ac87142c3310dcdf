package proxy

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"nave/internal/metrics"
	"nave/internal/web"
)

// TestStatsFailureKinds: each way a server fails is counted by its kind
// against that server, and an answered request is timed.
func TestStatsFailureKinds(t *testing.T) {
	good := serve(t, web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) { w.WriteString("ok") }))
	reset := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		c.(*net.TCPConn).SetLinger(0) // RST, not FIN
	})
	garbage := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		c.Write([]byte("SMTP ready\r\n\r\n"))
	})
	silent := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		br.ReadByte() // until the proxy gives up and closes
	})
	tests := []struct {
		name   string
		server string
		kind   FailKind
		status int
	}{
		{"connect", closedAddr(t), FailConnect, 502},
		{"reset", reset, FailReset, 502},
		{"bad_response", garbage, FailBadResponse, 502},
		{"timeout", silent, FailTimeout, 504},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, addr := newProxy(t, Config{Servers: servers(tt.server), Retries: Off, MaxFails: Off, HeaderTimeout: 200 * time.Millisecond})
			if r := get(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET"); r.Status != tt.status {
				t.Fatalf("status %d, want %d", r.Status, tt.status)
			}
			st := p.Stats()[0]
			for k, n := range st.Failures {
				want := uint64(0)
				if FailKind(k) == tt.kind {
					want = 1
				}
				if n != want {
					t.Errorf("%s failures: %d, want %d", FailKind(k), n, want)
				}
			}
			if st.TTFB.Count() != 0 || st.InFlight != 0 || !st.Up {
				t.Errorf("stats %+v: want no answer timed, none in flight, up", st)
			}
		})
	}

	p, addr := newProxy(t, Config{Servers: servers(good)})
	for range 3 {
		get(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET")
	}
	if st := p.Stats()[0]; st.TTFB.Count() != 3 || st.Addr != good || st.Failures != [NumFailKinds]uint64{} {
		t.Errorf("after 3 answered: %+v", st)
	}
}

// TestExposition: an upstream's servers are exposed with its name; a
// new handler without a server drops that server's series; Remove drops
// the rest.
func TestExposition(t *testing.T) {
	reg := metrics.NewRegistry()
	e := NewExposition(reg)
	a, b := closedAddr(t), closedAddr(t)
	p1, addr := newProxy(t, Config{Servers: servers(a, b), Retries: Off, MaxFails: 1, FailTimeout: time.Hour})
	e.Add("api", p1)
	get(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET")
	out := string(reg.AppendText(nil, metrics.FormatText))
	for _, want := range []string{
		`nave_upstream_failures_total{upstream="api",server="` + a + `",kind="connect"} `,
		`nave_upstream_requests_in_flight{upstream="api",server="` + b + `"} 0`,
		`nave_upstream_time_to_first_byte_seconds_count{upstream="api",server="` + a + `"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	// One try failed to connect, with MaxFails 1: that server is down,
	// the other up.
	down := `nave_upstream_up{upstream="api",server="%s"} 0` + "\n"
	up := `nave_upstream_up{upstream="api",server="%s"} 1` + "\n"
	has := func(f, addr string) bool { return strings.Contains(out, fmt.Sprintf(f, addr)) }
	if strings.Count(out, `",kind="connect"} 1`) != 1 || !(has(down, a) && has(up, b) || has(down, b) && has(up, a)) {
		t.Errorf("the failed server is not counted down, the other up:\n%s", out)
	}
	p2, _ := newProxy(t, Config{Servers: servers(a)})
	e.Add("api", p2)
	if out := string(reg.AppendText(nil, metrics.FormatText)); strings.Contains(out, b) || !strings.Contains(out, a) {
		t.Errorf("after a reload without %s:\n%s", b, out)
	}
	e.Remove("api")
	if out := string(reg.AppendText(nil, metrics.FormatText)); strings.Contains(out, "nave_upstream") {
		t.Errorf("after Remove:\n%s", out)
	}
}
