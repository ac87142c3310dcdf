package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
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
	"nave/internal/metrics"
	"nave/internal/status"
)

// statusWSGIApp answers 404 at /missing, and at /hold waits (at most
// 20 s) for the file HOLD names, so that the test can keep its workers
// busy for as long as it looks.
const statusWSGIApp = `import os, time

def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/hold":
        for _ in range(400):
            if os.path.exists(os.environ["HOLD"]):
                break
            time.sleep(0.05)
    status = "404 Not Found" if path == "/missing" else "200 OK"
    start_response(status, [("Content-Type", "text/plain")])
    return [b"w\n"]
`

// statusASGIApp is an ASGI app without dependencies.
const statusASGIApp = `async def app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"a\n"})
`

const statusConfigTOML = `
[listeners.main]
address = "127.0.0.1:0"
[log]
access = "off"
[admin]
status = "127.0.0.1:0"
[apps.w]
module = "wapp:app"
python = "/usr/bin/python3"
workers = 2
environment = { HOLD = "%HOLD%" }
[apps.a]
interface = "asgi"
module = "aapp:app"
python = "/usr/bin/python3"
workers = 1
lifespan = "off"
[upstreams.backend]
servers = ["%UP%", "%DOWN%"]
max_fails = 1
fail_timeout = "1h"
[sites.s]
[[sites.s.routes]]
match.path = "/a/"
app = "a"
[[sites.s.routes]]
match.path = "/p/"
proxy = "backend"
[[sites.s.routes]]
app = "w"
`

var statusPageLine = regexp.MustCompile(`^Status page at http://(127\.0\.0\.1:\d+)/`)

// statusRun is nave run serving statusConfigTOML: the data address, the
// status page's, the state directory and the file that releases /hold.
type statusRun struct {
	addr, statusAddr, state, hold string
	up, down                      string // the upstream's servers: one answers, nothing listens on the other
}

func startStatusRun(t *testing.T) *statusRun {
	t.Helper()
	needPython(t)
	dir := t.TempDir()
	r := &statusRun{state: shortTempDir(t), hold: filepath.Join(dir, "release")}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "up\n") }))
	t.Cleanup(up.Close)
	r.up, r.down = strings.TrimPrefix(up.URL, "http://"), "127.0.0.1:"+strconv.Itoa(pebbletest.FreePort(t))
	toml := strings.NewReplacer("%HOLD%", r.hold, "%UP%", r.up, "%DOWN%", r.down).Replace(statusConfigTOML)
	for name, src := range map[string]string{"wapp.py": statusWSGIApp, "aapp.py": statusASGIApp, "nave.toml": toml} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(buildNave(t), "run", "--config", filepath.Join(dir, "nave.toml"), "--state-dir", r.state)
	cmd.Dir = dir
	stdout, stderr := startCommand(t, cmd)
	br := bufio.NewReader(stdout)
	for range 8 {
		line, err := br.ReadString('\n')
		if err != nil {
			break
		}
		if m := listeningLine.FindStringSubmatch(line); m != nil {
			r.addr = m[1]
		}
		if m := statusPageLine.FindStringSubmatch(line); m != nil {
			r.statusAddr = m[1]
		}
		if strings.HasPrefix(line, "Admin API on unix:") {
			break // the last line
		}
	}
	go io.Copy(io.Discard, br)
	if r.addr == "" || r.statusAddr == "" {
		t.Fatalf("nave did not print its listening and status page lines; stderr %q", stderr.String())
	}
	return r
}

// statusOf GETs /status from the admin socket.
func (r *statusRun) statusOf(t *testing.T) (statusReport, string) {
	t.Helper()
	api := newAdminClient(t, filepath.Join(r.state, AdminSocketName))
	code, _, body := api.do("GET", "/status", "")
	var st statusReport
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil {
		t.Fatalf("GET /status on the admin socket: %d %v\n%s", code, err, body)
	}
	return st, body
}

// heldWait is how long the test keeps a request queued behind the WSGI
// workers it holds: at least this long is what the queue-wait chart must
// show (above the 0.25 s bucket bound).
const heldWait = 300 * time.Millisecond

// TestBinaryStatus: the status JSON, on the admin socket and on
// admin.status, tells the truth about real traffic to a WSGI and an ASGI
// app: requests by status class, latency, each worker's pid (a live
// process), state, requests served and RSS; both WSGI workers busy while
// two requests are held and a third waits; the history fills in, the
// third's wait with it. Headless Chromium renders the page (a screenshot,
// a PNG of the window's size with something drawn, is written to the
// test's artifact directory: go test -artifacts keeps it, and make test
// prints its path) with the workers' pids, charts with points, and the
// queue-wait chart scaled to the third request's wait; nave status prints
// it all in a table, and fails clearly where no nave runs.
func TestBinaryStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs Python workers")
	}
	r := startStatusRun(t)
	for range 20 {
		mustGet(t, r.addr, "/")
	}
	for range 10 {
		if body := mustGet(t, r.addr, "/a/x"); body != "a\n" {
			t.Fatalf("the ASGI app answered %q", body)
		}
	}
	for range 3 {
		if _, err := (&client{addr: r.addr}).get("/missing"); err == nil {
			t.Fatal("/missing answered 200")
		}
	}

	// Three requests held: both WSGI workers busy, one request queued,
	// and kept waiting for heldWait at least.
	held := make(chan error, 3)
	for range 3 {
		go func() {
			resp, err := http.Get("http://" + r.addr + "/hold")
			if err == nil {
				resp.Body.Close()
			}
			held <- err
		}()
	}
	waitFor(t, "both WSGI workers busy and a request queued", func() bool {
		st, _ := r.statusOf(t)
		return st.Apps["w"].Busy == 2 && st.Apps["w"].Queued == 1
	})
	st, body := r.statusOf(t)
	for _, p := range st.Apps["w"].Processes {
		if p.State != "busy" || p.InFlight != 1 {
			t.Errorf("while held: worker %d is %s with %d in flight, want busy with 1", p.PID, p.State, p.InFlight)
		}
	}
	time.Sleep(heldWait)
	if err := os.WriteFile(r.hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := <-held; err != nil {
			t.Fatal(err)
		}
	}

	// 26 to w (20 + 3 + 3 held), 10 to a; counted once their responses
	// are sent; the history has a point once the sampler read twice.
	waitFor(t, "36 requests counted and a point of history", func() bool {
		st, body = r.statusOf(t)
		return st.Traffic != nil && st.Traffic.Requests == 36 && st.History != nil && len(st.History.Time) >= 1
	})
	tr := st.Traffic
	if tr.Status["2xx"].Total != 33 || tr.Status["4xx"].Total != 3 || tr.Latency.Count == 0 {
		t.Errorf("traffic %+v, want 33 2xx, 3 4xx and latencies", tr)
	}
	w, a := st.Apps["w"], st.Apps["a"]
	if len(w.Processes) != 2 || len(a.Processes) != 1 || w.Interface != "wsgi" || a.Interface != "asgi" {
		t.Fatalf("apps %+v", st.Apps)
	}
	if w.QueueWait == nil || a.QueueWait == nil || len(w.Restarts) != 4 || w.Restarts["crash"] != 0 {
		t.Errorf("app w: queue wait %+v, restarts %v; want the queue wait measured and no restart of 4 reasons", w.QueueWait, w.Restarts)
	}
	served := map[string]int{}
	var allPids []int
	for name, as := range st.Apps {
		for _, p := range as.Processes {
			served[name] += p.Served
			allPids = append(allPids, p.PID)
			if _, err := os.Stat("/proc/" + strconv.Itoa(p.PID)); err != nil {
				t.Errorf("app %s's worker %d is not a live process: %v", name, p.PID, err)
			}
			if p.RSS < 1<<20 || p.Age <= 0 || p.State != "idle" {
				t.Errorf("app %s's worker %+v: want idle, an RSS of a megabyte or more, an age", name, p)
			}
		}
	}
	if served["w"] != 26 || served["a"] != 10 {
		t.Errorf("requests served by w's workers %d, by a's %d; want 26 and 10", served["w"], served["a"])
	}
	for _, field := range []string{`"requests_per_second"`, `"latency_seconds"`, `"p99"`, `"connections"`, `"history"`, `"rss_bytes"`, `"upstreams"`} {
		if !strings.Contains(body, field) {
			t.Errorf("the JSON has no %s field", field)
		}
	}

	// The same JSON on admin.status.
	resp, err := http.Get("http://" + r.statusAddr + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var st2 statusReport
	json.NewDecoder(resp.Body).Decode(&st2)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(st2.Apps["w"].Processes) != 2 || st2.PID != st.PID {
		t.Errorf("admin.status's /status: %d %+v", resp.StatusCode, st2)
	}

	// The page on the admin socket, as curl --unix-socket gets it.
	sock := newAdminClient(t, filepath.Join(r.state, AdminSocketName)).http
	resp, err = sock.Get("http://nave/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(string(page), "<title>nave status</title>") {
		t.Errorf("GET / on the admin socket: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// The upstream: after a few requests, the server nothing listens on
	// is out, the other up.
	for range 4 {
		if body := mustGet(t, r.addr, "/p/x"); body != "up\n" {
			t.Fatalf("through the proxy: %q", body)
		}
	}
	st, _ = r.statusOf(t)
	if s := st.Upstreams["backend"].Servers; len(s) != 2 || s[0].Address != r.up || !s[0].Up || s[1].Address != r.down || s[1].Up {
		t.Errorf("upstream servers %+v, want %s up and %s down", s, r.up, r.down)
	}

	// The queued request's wait is observed when a worker takes it, and
	// is in the history once the interval it fell in has ended.
	minWait := metricsBucketBelow(heldWait)
	waitFor(t, "two points of history, for lines, and the queued request's wait among them", func() bool {
		st, _ = r.statusOf(t)
		return len(st.History.Time) >= 2 && st.History.Apps["w"] != nil && largest(st.History.Apps["w"].QueueWait.P99) >= minWait
	})
	dom := checkStatusPage(t, "http://"+r.statusAddr+"/", allPids, r.up, r.down)
	if top := chartAxisTop(t, dom, "wait-w", "p99"); top < minWait {
		t.Errorf("the queue-wait chart of app w tops its axis at %v s, want %v s or more: a request waited %v", top, minWait, heldWait)
	}
	checkStatusCommand(t, r, allPids)
}

// metricsBucketBelow is the largest of the histograms' bucket bounds
// under d: the p99 of a span of fewer than 100 observations, one of them
// d or longer, is at least that.
func metricsBucketBelow(d time.Duration) float64 {
	lo := 0.0
	for _, b := range metrics.LatencyBuckets() {
		if b < d.Seconds() {
			lo = b
		}
	}
	return lo
}

// largest is the largest of the values that are not null, or -1.
func largest(vs []status.Num) float64 {
	top := -1.0
	for _, v := range vs {
		if f := float64(v); !math.IsNaN(f) && f > top {
			top = f
		}
	}
	return top
}

// statusWindowW and statusWindowH are the size of the window
// checkStatusPage has Chromium render the page in.
const statusWindowW, statusWindowH = 1280, 1400

// checkStatusPage loads the page in headless Chromium, writes a
// screenshot, checks the DOM the page's script built, and returns it.
func checkStatusPage(t *testing.T, url string, pids []int, upstreams ...string) string {
	t.Helper()
	shot := filepath.Join(t.ArtifactDir(), "status.png") // kept with go test -artifacts
	chromium(t, fmt.Sprintf("--window-size=%d,%d", statusWindowW, statusWindowH), "--screenshot="+shot, url)
	checkScreenshot(t, shot, statusWindowW, statusWindowH)
	dom := chromium(t, "--dump-dom", url)
	if !strings.Contains(dom, `data-rendered="yes"`) {
		t.Fatalf("the page did not render the status:\n%.3000s", dom)
	}
	for _, pid := range pids {
		if !strings.Contains(dom, `<tr data-pid="`+strconv.Itoa(pid)+`">`) {
			t.Errorf("the workers table has no row for pid %d", pid)
		}
	}
	for _, server := range upstreams {
		if !regexp.MustCompile(`<td>backend</td><td>` + regexp.QuoteMeta(server) + `</td><td><span class="pill (up|down)">`).MatchString(dom) {
			t.Errorf("the upstreams table has no row for %s with its health", server)
		}
	}
	drawn := regexp.MustCompile(`<(polygon|polyline) points="[0-9., -]{8,}"`)
	for _, chart := range []string{"requests", "latency", "connections", "workers-w", "workers-a"} {
		if !drawn.MatchString(chartSVG(t, dom, chart)) {
			t.Errorf("chart %s has no drawn series", chart)
		}
	}
	if strings.Contains(dom, "http://") && regexp.MustCompile(`(src|href)="https?://`).MatchString(dom) {
		t.Error("the page refers to something on another origin")
	}
	return dom
}

// checkScreenshot: the file at path is a PNG of w×h pixels with something
// drawn on it (a page of text and charts has many colours; a blank one, one).
func checkScreenshot(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("no screenshot of the status page: %v", err)
		return
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Errorf("the screenshot %s is not a PNG: %v", path, err)
		return
	}
	b := img.Bounds()
	if b.Dx() != w || b.Dy() != h {
		t.Errorf("the screenshot is %d×%d, want the window's %d×%d", b.Dx(), b.Dy(), w, h)
	}
	colours := map[color.RGBA64]bool{}
	for y := b.Min.Y; y < b.Max.Y && len(colours) < 16; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[color.RGBA64{uint16(r), uint16(g), uint16(bl), uint16(a)}] = true
		}
	}
	if len(colours) < 16 {
		t.Errorf("the screenshot has %d colours, want 16 or more: the page drew next to nothing", len(colours))
	}
	t.Logf("screenshot of the status page: %s", path)
}

// chartSVG is the SVG of the chart data-chart=id in dom, or fails the test.
func chartSVG(t *testing.T, dom, id string) string {
	t.Helper()
	_, rest, ok := strings.Cut(dom, `data-chart="`+id+`"`)
	svg, _, closed := strings.Cut(rest, "</svg>")
	if !ok || !closed {
		t.Errorf("the page has no chart %s", id)
	}
	return svg
}

// chartAxisTop is the largest value on the y axis of chart id, a chart of
// seconds, having checked that it drew the series (a line, or a dot for a
// lone point); -1 where it has no such label.
func chartAxisTop(t *testing.T, dom, id, series string) float64 {
	t.Helper()
	svg := chartSVG(t, dom, id)
	if !regexp.MustCompile(`<(polyline|circle) [^>]*data-series="` + series + `"`).MatchString(svg) {
		t.Errorf("chart %s has no %s drawn", id, series)
	}
	unit := map[string]float64{"µs": 1e-6, "ms": 1e-3, "s": 1}
	top := -1.0
	for _, m := range regexp.MustCompile(`>([0-9.]+) (µs|ms|s)</text>`).FindAllStringSubmatch(svg, -1) {
		if v, err := strconv.ParseFloat(m[1], 64); err == nil {
			top = max(top, v*unit[m[2]])
		}
	}
	return top
}

// chromium runs headless Chromium on args with a profile of its own,
// letting the page's script run for a few seconds of virtual time, and
// returns what it printed.
func chromium(t *testing.T, args ...string) string {
	t.Helper()
	bin := lookTool(t, "chromium", "chromium")
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--virtual-time-budget=3000", "--user-data-dir=" + filepath.Join(home, "profile")}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// checkStatusCommand runs nave status against the admin socket and
// admin.status, and where no nave runs.
func checkStatusCommand(t *testing.T, r *statusRun, pids []int) {
	t.Helper()
	bin := buildNave(t)
	for _, args := range [][]string{{"--state-dir", r.state}, {"--addr", r.statusAddr}} {
		out, err := exec.Command(bin, append([]string{"status"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("nave status %v: %v\n%s", args, err, out)
		}
		text := string(out)
		t.Logf("nave status %v:\n%s", args, text)
		for _, want := range []string{
			"nave " + Version + ", pid ",
			"\nTraffic (rates over the last ",
			"\n  requests ", "\n  latency ", "\n  connections ",
			"\nApp a (aapp:app, asgi, Python 3.", "\nApp w (wapp:app, wsgi, Python 3.",
			"): 2 workers, 0 busy, 2 idle, 0 queued",
			"\nUpstreams\n",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("nave status %v: no %q", args, want)
			}
		}
		// A worker's row: its pid, right-aligned under PID, then its state.
		for _, pid := range pids {
			if !regexp.MustCompile(`(?m)^ +` + strconv.Itoa(pid) + ` +idle +0 +\d+ +\d+\.\d MiB +\d+s *$`).MatchString(text) {
				t.Errorf("nave status %v: no aligned row for worker %d", args, pid)
			}
		}
		for server, health := range map[string]string{r.up: "up", r.down: "down"} {
			if !regexp.MustCompile(`(?m)^  backend +` + regexp.QuoteMeta(server) + ` +` + health + ` +0 +\S+ +\S+ +\d+$`).MatchString(text) {
				t.Errorf("nave status %v: no upstream row for %s, %s", args, server, health)
			}
		}
		if !regexp.MustCompile(`(?m)^ +PID +STATE +IN FLIGHT +SERVED +RSS +AGE *$`).MatchString(text) {
			t.Errorf("nave status %v: no workers table header", args)
		}
	}
	out, err := exec.Command(bin, "status", "--state-dir", t.TempDir()).CombinedOutput()
	if code := exitCodeOf(err); code != 1 || !strings.Contains(string(out), "cannot get the status from the admin socket") || !strings.Contains(string(out), "is nave running there?") {
		t.Errorf("nave status where no nave runs: exit %d, %q; want 1 and a clear message", code, out)
	}
}

// statusFields are the paths of the fields docs/observability.md lists
// for /status, in a report of listener main and app app with a worker.
func statusFields() []string {
	f := []string{"version", "pid", "started", "uptime_seconds", "time", "config.file", "config.applied", "config.etag",
		"connections", "requests", "listeners.main.address", "listeners.main.connections", "listeners.main.requests",
		"traffic.window_seconds", "traffic.requests_total", "traffic.requests_per_second",
		"traffic.connections_accepted_total", "traffic.connections_refused_total", "upstreams",
		"history.interval_seconds", "history.time", "history.requests_per_second"}
	with := func(prefix string, keys ...string) {
		for _, k := range keys {
			f = append(f, prefix+k)
		}
	}
	with("apps.app.", "module", "interface", "workers", "python", "requests_in_flight", "workers_busy", "workers_idle", "queued")
	with("apps.app.restarts.", "crash", "timeout", "recycle", "reload")
	with("apps.app.processes.0.", "pid", "id", "state", "requests_in_flight", "requests_served", "rss_bytes", "started", "age_seconds")
	with("history.apps.app.", "workers_busy", "workers_idle", "queued")
	for _, c := range []string{"1xx", "2xx", "3xx", "4xx", "5xx"} {
		with("traffic.status."+c+".", "total", "per_second")
		f = append(f, "history.status_per_second."+c)
	}
	for _, p := range []string{"traffic.latency_seconds.", "traffic.ttfb_seconds.", "apps.app.queue_wait_seconds."} {
		with(p, "count", "mean", "p50", "p90", "p99")
	}
	for _, p := range []string{"history.latency_seconds.", "history.apps.app.queue_wait_seconds."} {
		with(p, "p50", "p90", "p99")
	}
	with("traffic.request_body_bytes.", "total", "per_second")
	with("traffic.response_body_bytes.", "total", "per_second")
	with("traffic.connections.", "reading", "handling", "idle", "parked")
	with("history.connections.", "reading", "handling", "idle", "parked")
	return f
}

// jsonAt is the value at path in a decoded JSON document, its keys and
// array indexes separated by dots ("apps.app.processes.0.pid"); ok is
// false where the path leads nowhere (a null value is there).
func jsonAt(doc any, path string) (v any, ok bool) {
	v = doc
	for key := range strings.SplitSeq(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			if v, ok = x[key]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// TestBinaryStatusJSON: nave status --json prints nave wsgi's /status as
// JSON with every field docs/observability.md lists, and its figures are
// the requests nave served: by status class, their latencies, bytes and
// connections, and the one worker (a child of nave) that served them all.
func TestBinaryStatusJSON(t *testing.T) {
	cmd, observe := startObservedWSGI(t)
	bin := buildNave(t)
	n := float64(wsgiOK + wsgiMissing)
	var doc any
	waitFor(t, "the requests counted and a point of history", func() bool {
		doc = nil
		out, err := exec.Command(bin, "status", "--json", "--addr", observe).Output()
		if err != nil {
			t.Fatalf("nave status --json: %v\n%s", err, out)
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("nave status --json printed what is not JSON: %v\n%s", err, out)
		}
		total, _ := jsonAt(doc, "traffic.requests_total")
		point, _ := jsonAt(doc, "history.time.0")
		return total == n && point != nil
	})
	for _, f := range statusFields() {
		if _, ok := jsonAt(doc, f); !ok {
			t.Errorf("no field %s", f)
		}
	}
	for path, want := range map[string]any{
		"version":                              Version,
		"pid":                                  float64(cmd.Process.Pid),
		"requests":                             n,
		"listeners.main.requests":              n,
		"traffic.status.2xx.total":             float64(wsgiOK),
		"traffic.status.4xx.total":             float64(wsgiMissing),
		"traffic.latency_seconds.count":        n,
		"traffic.ttfb_seconds.count":           n,
		"traffic.response_body_bytes.total":    2 * n,
		"traffic.connections_accepted_total":   n,
		"apps.app.module":                      "wapp:app",
		"apps.app.interface":                   "wsgi",
		"apps.app.workers":                     1.0,
		"apps.app.workers_idle":                1.0,
		"apps.app.queue_wait_seconds.count":    n,
		"apps.app.processes.0.state":           "idle",
		"apps.app.processes.0.requests_served": n,
	} {
		if got, _ := jsonAt(doc, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if _, ok := jsonAt(doc, "apps.app.processes.1"); ok {
		t.Error("two workers listed, want one")
	}
	pid, _ := jsonAt(doc, "apps.app.processes.0.pid")
	if p, ok := pid.(float64); !ok || !slices.Contains(childPIDs(t, cmd.Process.Pid), int(p)) {
		t.Errorf("the worker's pid %v is not a child of nave's (%d)", pid, cmd.Process.Pid)
	}
}

func exitCodeOf(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestBinaryStatusShorthand: nave asgi --status at --metrics's address
// serves the page, the JSON with the app's real worker and the metrics on
// one port, and says so.
func TestBinaryStatusShorthand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a Python worker")
	}
	needPython(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "aapp.py"), []byte(statusASGIApp), 0o644); err != nil {
		t.Fatal(err)
	}
	port := "127.0.0.1:" + strconv.Itoa(pebbletest.FreePort(t))
	cmd := exec.Command(buildNave(t), "asgi", "--listen", "127.0.0.1:0", "--status", port, "--metrics", port,
		"--access-log", "off", "--workers", "1", "--lifespan", "off", "--python", testPython, "aapp:app")
	cmd.Dir = dir
	stdout, stderr := startCommand(t, cmd)
	br := bufio.NewReader(stdout)
	var out []string
	for range 4 {
		line, err := br.ReadString('\n')
		if err != nil {
			break
		}
		out = append(out, line)
		if strings.HasPrefix(line, "Status page") {
			break
		}
	}
	go io.Copy(io.Discard, br)
	text := strings.Join(out, "")
	if !strings.Contains(text, "Metrics at http://"+port+"/metrics\n") || !strings.Contains(text, "Status page at http://"+port+"/\n") {
		t.Fatalf("nave printed %q, want the metrics and the status page at %s; stderr %q", text, port, stderr.String())
	}
	code, _, body := httpGet(t, "http://"+port+"/status")
	var st statusReport
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 200 {
		t.Fatalf("GET /status: %d %v", code, err)
	}
	a := st.Apps["app"]
	if a.Interface != "asgi" || len(a.Processes) != 1 || a.Processes[0].PID <= 0 || st.Traffic == nil {
		t.Errorf("the status of nave asgi: %+v", st)
	}
	if code, _, _ := httpGet(t, "http://"+port+"/"); code != 200 {
		t.Errorf("GET /: %d", code)
	}
	if code, _, body := httpGet(t, "http://"+port+"/metrics"); code != 200 || !strings.Contains(body, "nave_connections") {
		t.Errorf("GET /metrics: %d", code)
	}
}
