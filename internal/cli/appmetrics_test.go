package cli

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"nave/internal/config"
	"nave/internal/metrics/promtest"
	"nave/internal/wiretest"
)

// gateApp is a WSGI app whose /wait holds its worker until the file
// "open" appears beside it (60 s at most); anything else answers at once.
const gateApp = `import os, time

def app(environ, start_response):
    if environ["PATH_INFO"] == "/wait":
        gate = os.path.join(os.path.dirname(__file__), "open")
        for _ in range(6000):
            if os.path.exists(gate):
                break
            time.sleep(0.01)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
`

// asgiGate is gateApp for ASGI: a request to a path ending in /wait
// holds its slot until the file "open" appears beside the app (60 s at
// most); anything else answers "ok" at once.
const asgiGate = `import asyncio, os

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            m = await receive()
            if m["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"].endswith("/wait"):
        gate = os.path.join(os.path.dirname(__file__), "open")
        for _ in range(6000):
            if os.path.exists(gate):
                break
            await asyncio.sleep(0.01)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
`

// appMetricsConfig serves WSGI app w (one worker, gateApp) at /w/, ASGI
// app as (one worker taking one request at a time, asgiGate) at /as/, the
// folder www at /files/, upstream api (servers good and bad, one failure takes a
// server out for an hour) at /api/ and "ok" elsewhere, with admin.metrics
// on. wsgiMax is w's max_requests: a change replaces its pool.
func appMetricsConfig(t *testing.T, dir string, wsgiMax int, good, bad string) *config.Config {
	t.Helper()
	text := fmt.Sprintf(`
[listeners.main]
address = "127.0.0.1:0"
trusted_proxies = ["127.0.0.1/32"]
[log]
access = "off"
[admin]
metrics = "127.0.0.1:0"
[apps.w]
module = "app:app"
python = %q
chdir = "w"
workers = 1
max_requests = %d
[apps.as]
module = "app:app"
interface = "asgi"
python = %q
chdir = "as"
workers = 1
limit_concurrency = 1
[upstreams.api]
servers = [%q, %q]
max_fails = 1
fail_timeout = "1h"
[sites.s]
[[sites.s.routes]]
match = { path = "/files/" }
root = "www"
[[sites.s.routes]]
match = { path = "/api/" }
proxy = "api"
[[sites.s.routes]]
match = { path = "/w/" }
app = "w"
[[sites.s.routes]]
match = { path = "/as/" }
app = "as"
[[sites.s.routes]]
respond = "ok"
`, testPython, wsgiMax, testPython, good, bad)
	c, err := config.Parse([]byte(text), config.TOML, dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAppMetricsPrometheus: Debian's Prometheus scrapes nave while three
// requests wait behind a WSGI request that holds the only worker and
// three behind an ASGI request that holds the only slot of the only
// worker (limit_concurrency 1), while the ASGI app serves more, requests
// go to an upstream with one server down and a trusted load balancer
// stamps requests with X-Request-Start. What it stores is that traffic:
// each app's busy worker and queue while they wait, each request's queue
// wait (the three of each app waited past a second, which the test made
// sure of), the requests served, the upstream servers' state,
// answers and failures, the load balancer's queue time, the restarts a
// reload of the apps' code counts, and config reloads by result.
// promtool check metrics passes the exposition.
func TestAppMetricsPrometheus(t *testing.T) {
	needPython(t)
	lookTool(t, "prometheus", "prometheus")
	dir := t.TempDir()
	for app, src := range map[string]string{"w": gateApp, "as": asgiGate} {
		os.MkdirAll(filepath.Join(dir, app), 0o755)
		os.WriteFile(filepath.Join(dir, app, "app.py"), []byte(src), 0o644)
	}
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.WriteFile(filepath.Join(dir, "www", "hello.txt"), []byte("hello\n"), 0o644)
	good := upstreamOK(t)
	bad := closedPort(t)
	b := startLive(t, appMetricsConfig(t, dir, 0, good, bad))
	main, maddr := b.addr("main"), b.metricsAt()
	prom := promtest.Start(t, promtest.Job{Name: "nave", Path: "/metrics", Target: maddr})
	deadline := time.Now().Add(60 * time.Second)
	expect := func(query string, want float64) {
		t.Helper()
		if got := prom.Value(t, query, deadline); got != want {
			t.Errorf("%s = %v, want %v", query, got, want)
		}
	}
	// until waits for Prometheus to have stored a sample where query
	// holds (a comparison, as "x == 3").
	until := func(query string) { t.Helper(); prom.Value(t, query, deadline) }

	expect(`up`, 1)
	apps := []string{"w", "as"}
	for _, app := range apps {
		expect(`nave_app_worker_slots{app="`+app+`"}`, 1)
		expect(`nave_app_workers{app="`+app+`",state="idle"}`, 1)
	}

	var wg sync.WaitGroup
	get := func(path string) {
		wg.Go(func() {
			if _, err := (&client{addr: main}).get(path); err != nil {
				t.Errorf("GET %s: %v", path, err)
			}
		})
	}
	// Each app: one request holds its worker, three queue behind it.
	for _, app := range apps {
		get("/" + app + "/wait")
		until(`nave_app_workers{app="` + app + `",state="busy"} == 1`)
		for range 3 {
			get("/" + app + "/fast")
		}
	}
	for _, app := range apps {
		until(`nave_app_requests_queued{app="` + app + `"} == 3`)
		expect(`nave_app_requests_in_flight{app="`+app+`"}`, 1)
		expect(`nave_app_workers{app="`+app+`",state="idle"}`, 0)
	}
	time.Sleep(1100 * time.Millisecond) // the three of each app wait at least this long
	for _, app := range apps {
		os.WriteFile(filepath.Join(dir, app, "open"), nil, 0o644)
	}
	wg.Wait()
	for range 5 {
		mustGet(t, main, "/as/x")
	}
	// A load balancer in front (the test, from a trusted address) stamps
	// three requests 2 s back, in three of the forms seen in the wild.
	lb := wiretest.Dial(t, main)
	stamp := time.Now().Add(-2 * time.Second)
	for _, v := range []string{
		"t=" + strconv.FormatInt(stamp.UnixMicro(), 10),
		strconv.FormatInt(stamp.UnixMilli(), 10),
		fmt.Sprintf("t=%.3f", float64(stamp.UnixMilli())/1000),
	} {
		lb.Send("GET /lb HTTP/1.1\r\nHost: t\r\nX-Request-Start: " + v + "\r\n\r\n")
		if r := lb.ReadWhole("GET"); r.Status != 200 {
			t.Fatalf("stamped request: status %d", r.Status)
		}
	}
	lb.Close()
	// Round robin tries bad within the first two; it fails to connect, is
	// out from then on, and good answers all four.
	for range 4 {
		mustGet(t, main, "/api/x")
	}
	mustGet(t, main, "/files/hello.txt")

	// Each app's first request was taken at once, the three behind it
	// waited past 1 s; as's five after them were taken at once. (Prometheus
	// asks for OpenMetrics, whose le values are floats: 1.0.)
	for app, served := range map[string]float64{"w": 4, "as": 9} {
		until(`nave_app_requests_served_total{app="` + app + `"} == ` + strconv.FormatFloat(served, 'f', -1, 64))
		expect(`nave_app_requests_queued{app="`+app+`"}`, 0)
		expect(`nave_app_workers{app="`+app+`",state="busy"}`, 0)
		expect(`nave_app_workers{app="`+app+`",state="idle"}`, 1)
		expect(`nave_app_queue_wait_seconds_count{app="`+app+`"}`, served)
		expect(`nave_app_queue_wait_seconds_bucket{app="`+app+`",le="1.0"}`, served-3)
		expect(`nave_app_queue_wait_seconds_bucket{app="`+app+`",le="+Inf"}`, served)
		until(`nave_app_worker_busy_seconds_total{app="` + app + `"} > 1`)
	}
	expect(`nave_upstream_time_to_first_byte_seconds_count{upstream="api",server="`+good+`"}`, 4)
	expect(`nave_upstream_time_to_first_byte_seconds_count{upstream="api",server="`+bad+`"}`, 0)
	expect(`nave_upstream_failures_total{upstream="api",server="`+bad+`",kind="connect"}`, 1)
	expect(`sum(nave_upstream_failures_total)`, 1)
	expect(`nave_upstream_up{upstream="api",server="`+bad+`"}`, 0)
	expect(`nave_upstream_up{upstream="api",server="`+good+`"}`, 1)
	expect(`sum(nave_upstream_requests_in_flight)`, 0)
	// The server's count of the same traffic: 4 WSGI, 9 ASGI, 3 stamped,
	// 4 proxied, 1 file.
	expect(`nave_http_requests_total{method="GET",code="2xx"}`, 21)
	expect(`nave_lb_queue_seconds_count`, 3)
	expect(`nave_lb_queue_seconds_bucket{le="1.0"}`, 0)

	// SIGHUP's reload of the apps' code: each worker is replaced, counted
	// by reason.
	b.reload()
	until(`nave_app_worker_restarts_total{app="w",reason="reload"} == 1`)
	expect(`nave_app_worker_restarts_total{app="as",reason="reload"}`, 1)
	expect(`nave_app_worker_restarts_total{app="w",reason="crash"}`, 0)

	// Config reloads: one that replaces app w's pool (its counts go on),
	// and one that cannot apply (a module that does not import).
	first := prom.Value(t, `nave_config_last_reload_success_timestamp_seconds`, deadline)
	if now := float64(time.Now().Unix()); first < now-120 || first > now+1 {
		t.Errorf("last reload success at %v, not near now (%v)", first, now)
	}
	if err := b.apply(appMetricsConfig(t, dir, 1000, good, bad)); err != nil {
		t.Fatal(err)
	}
	broken := appMetricsConfig(t, dir, 1000, good, bad)
	broken.Apps["w"].Module = "nosuchmodule:app"
	if err := b.apply(broken); err == nil {
		t.Fatal("a config whose app does not import applied")
	}
	// Waited for, not read: the latest scrape may predate the failed
	// apply, and show the success alone.
	until(`nave_config_reloads_total{result="failure"} == 1`)
	expect(`nave_config_reloads_total{result="success"}`, 1)
	mustGet(t, main, "/w/after")
	until(`nave_app_requests_served_total{app="w"} == 5`)
	expect(`nave_app_worker_slots{app="w"}`, 1)

	cmd := exec.Command(lookTool(t, "promtool", "prometheus"), "check", "metrics")
	cmd.Stdin = bytes.NewReader(getMetrics(t, maddr))
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// upstreamOK serves "ok" on a loopback port until the test ends: an
// upstream server.
func upstreamOK(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
