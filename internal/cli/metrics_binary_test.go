package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"nave/internal/acme/pebbletest"
	"nave/internal/metrics/promtest"
	"nave/internal/wiretest"
)

var metricsLine = regexp.MustCompile(`^Metrics at http://(127\.0\.0\.1:\d+)/metrics`)

// startMetricsBinary runs nave serve dir with --metrics and returns the
// serving address and the metrics address it printed.
func startMetricsBinary(t *testing.T, dir string) (addr, metricsAddr string) {
	t.Helper()
	cmd := exec.Command(buildNave(t), "serve", "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--access-log", "off", dir)
	stdout, stderr := startCommand(t, cmd)
	br := bufio.NewReader(stdout)
	var lines [2]string
	for i := range lines {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("nave printed %q; stderr %q", lines, stderr.String())
		}
		lines[i] = line
	}
	go io.Copy(io.Discard, br)
	m, mm := servingLine.FindStringSubmatch(lines[0]), metricsLine.FindStringSubmatch(lines[1])
	if m == nil || mm == nil {
		t.Fatalf("nave printed %q, want the serving and the metrics lines", lines)
	}
	return m[1], mm[1]
}

// The traffic startObservedWSGI sends: GETs of / answered 200 and of
// /missing answered 404, each on a connection of its own, each answered
// with the 2-byte body "w\n".
const wsgiOK, wsgiMissing = 5, 2

// startObservedWSGI runs nave wsgi with one worker serving statusWSGIApp,
// with --metrics and --status on one address, sends it the traffic above,
// and returns the process and that address.
func startObservedWSGI(t *testing.T) (*exec.Cmd, string) {
	t.Helper()
	dir := writeApp(t, "wapp.py", statusWSGIApp)
	observe := "127.0.0.1:" + strconv.Itoa(pebbletest.FreePort(t))
	cmd, addr, _ := startWSGIBinary(t, "--workers", "1", "--chdir", dir, "--metrics", observe, "--status", observe, "wapp:app")
	// The status page's windowed figures count from its sampler's first
	// reading, taken as nave starts: a request in flight as it was taken
	// would be in the window's queue waits but not its latencies. The
	// window has a width once that reading is kept.
	waitFor(t, "the status sampler's first reading", func() bool {
		_, _, body := httpGet(t, "http://"+observe+"/status")
		var doc any
		if json.Unmarshal([]byte(body), &doc) != nil {
			return false
		}
		w, _ := jsonAt(doc, "traffic.window_seconds")
		_, ok := w.(float64)
		return ok
	})
	for i := range wsgiOK + wsgiMissing {
		path, want := "/", "HTTP/1.1 200 "
		if i >= wsgiOK {
			path, want = "/missing", "HTTP/1.1 404 "
		}
		if got := exchange(t, addr, "GET "+path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(got, want) {
			t.Fatalf("GET %s: got %q, want %s", path, got, want)
		}
	}
	return cmd, observe
}

// TestBinaryWSGIMetrics: nave wsgi --metrics counts a WSGI app's traffic:
// the server's answers by class, body bytes and connections, and the
// app's requests served and waits for its one worker, idle after them.
func TestBinaryWSGIMetrics(t *testing.T) {
	_, observe := startObservedWSGI(t)
	n := strconv.Itoa(wsgiOK + wsgiMissing)
	want := []string{
		`nave_http_requests_total{method="GET",code="2xx"} ` + strconv.Itoa(wsgiOK),
		`nave_http_requests_total{method="GET",code="4xx"} ` + strconv.Itoa(wsgiMissing),
		`nave_http_request_duration_seconds_count ` + n,
		`nave_http_response_body_bytes_total ` + strconv.Itoa(2*(wsgiOK+wsgiMissing)),
		`nave_connections_accepted_total ` + n,
		`nave_app_requests_served_total{app="app"} ` + n,
		`nave_app_queue_wait_seconds_count{app="app"} ` + n,
		`nave_app_requests_abandoned_total{app="app"} 0`,
		`nave_app_worker_slots{app="app"} 1`,
		`nave_app_workers{app="app",state="idle"} 1`,
		`nave_app_workers{app="app",state="busy"} 0`,
		`nave_app_worker_restarts_total{app="app",reason="crash"} 0`,
	}
	// The server counts a request once its response is sent: wait for it.
	var text string
	missing := want
	for deadline := time.Now().Add(10 * time.Second); len(missing) > 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		text = string(getMetrics(t, observe))
		missing = slices.DeleteFunc(slices.Clone(want), func(sample string) bool { return strings.Contains(text, "\n"+sample+"\n") })
	}
	for _, sample := range missing {
		t.Errorf("no sample %s", sample)
	}
	if t.Failed() {
		t.Logf("the exposition:\n%s", text)
	}
}

// TestBinaryMetricsPrometheus: Debian's Prometheus scrapes the nave
// binary's --metrics listener while it serves known traffic, over
// HTTP/1.1 and h2c; the values Prometheus stores are the traffic's, and
// promtool check metrics passes the exposition.
func TestBinaryMetricsPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts a Prometheus server")
	}
	lookTool(t, "prometheus", "prometheus")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello, world!\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, metricsAddr := startMetricsBinary(t, dir)

	// Per connection: 7 GETs of a file (200), 3 of a missing path (404),
	// a POST (405). The connections stay open: two connections, idle or
	// parked.
	var bodyBytes int
	var conns []*wiretest.Conn
	for _, h2 := range []bool{false, true} {
		c := wiretest.Dial(t, addr)
		if h2 {
			c.StartH2()
		}
		conns = append(conns, c)
		send := func(raw, method string, status int) {
			c.Send(raw)
			r := c.ReadWhole(method)
			if r.Status != status {
				t.Fatalf("%s (h2 %v): status %d, want %d", raw, h2, r.Status, status)
			}
			bodyBytes += len(r.Body)
		}
		for range 7 {
			send("GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 200)
		}
		for range 3 {
			send("GET /missing HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 404)
		}
		send("POST /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd", "POST", 405)
	}

	text := getMetrics(t, metricsAddr)
	cmd := exec.Command(lookTool(t, "promtool", "prometheus"), "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	prom := promtest.Start(t, promtest.Job{Name: "nave", Path: "/metrics", Target: metricsAddr})
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range []struct {
		query string
		want  float64
	}{
		{`up`, 1},
		{`nave_http_requests_total{method="GET",code="2xx"}`, 14},
		{`nave_http_requests_total{method="GET",code="4xx"}`, 6},
		{`nave_http_requests_total{method="POST",code="4xx"}`, 2},
		{`sum(nave_http_requests_total)`, 22},
		{`nave_http_request_duration_seconds_count`, 22},
		{`nave_http_time_to_first_byte_seconds_count`, 22},
		{`nave_http_request_duration_seconds_bucket{le="+Inf"}`, 22},
		{`nave_http_response_body_bytes_total`, float64(bodyBytes)},
		{`nave_http2_streams_total`, 11},
		{`nave_connections_accepted_total`, 2},
		{`sum(nave_connections)`, 2},
		{`sum(nave_connections{state=~"reading|handling"})`, 0},
		{`nave_connections_refused_total`, 0},
		{`count(go_info)`, 1},
		{`process_open_fds > 0`, -1}, // any value: the process figures are there
	} {
		got := prom.Value(t, c.query, deadline)
		if c.query == "up" && got != 1 {
			t.Fatalf("up = %v: Prometheus could not scrape or parse nave's exposition", got)
		}
		if c.want >= 0 && got != c.want {
			t.Errorf("%s = %v, want %v", c.query, got, c.want)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	// The POSTs' bodies, 4 bytes each: HTTP/1.1 drains it to keep the
	// connection; over HTTP/2 the 405 may be complete before the client
	// sent its DATA, and then the client drops the body unsent (as curl
	// does), so nave receives 4 or 8 bytes in all.
	if got := prom.Value(t, `nave_http_request_body_bytes_total`, deadline); got != 4 && got != 8 {
		t.Errorf("nave_http_request_body_bytes_total = %v, want 4 or 8", got)
	}
	// Gone: no connection counted in any state once they close.
	for time.Now().Before(deadline) {
		if v := prom.Value(t, `sum(nave_connections)`, deadline); v == 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("sum(nave_connections) still not 0 after the connections closed")
}

// getMetrics fetches the text exposition, as curl would (no Accept).
func getMetrics(t *testing.T, addr string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d, %v", resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q, want the text format", ct)
	}
	return body
}
