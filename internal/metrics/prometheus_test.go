package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"nave/internal/web"
	"nave/internal/web/webtest"
)

// TestPrometheusScrapes: Debian's Prometheus server scrapes a Handler,
// once in the format it negotiates (OpenMetrics, gzipped) and once in the
// text format, and the values it stores are the ones registered. A parse
// error in either format shows as up == 0.
func TestPrometheusScrapes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	prom := lookTool(t, "prometheus", "prometheus")
	r := small()
	r.RegisterGo()
	r.RegisterProcess()
	target, served := serveOverHTTP(t, NewHandler(r))

	dir := t.TempDir()
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - {job_name: negotiated, metrics_path: /metrics, static_configs: [{targets: [%q]}]}
  - {job_name: text, metrics_path: /text, static_configs: [{targets: [%q]}]}
`, target, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(prom, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	log, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("prometheus log:\n%s", b)
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for _, job := range []string{"negotiated", "text"} {
		checks := []struct {
			query string
			want  float64
		}{
			{`up`, 1},
			{`nave_http_requests_total{route="/static",code="2xx"}`, 41},
			{`nave_http_requests_total{route="/api",code="5xx"}`, 1},
			{`nave_connections`, 3},
			{`nave_http_request_duration_seconds_count`, 3},
			{`nave_http_request_duration_seconds_sum`, 3.5002},
			{`nave_http_request_duration_seconds_bucket{le="+Inf"}`, 3},
			{`nave_worker_busy_seconds_total`, 2},
			{`go_info{version="` + runtime.Version() + `"}`, 1},
		}
		for _, c := range checks {
			q := c.query
			if i := len(q) - 1; q[i] == '}' {
				q = q[:i] + `,job="` + job + `"}`
			} else {
				q += `{job="` + job + `"}`
			}
			got := waitForValue(t, addr, q, deadline)
			if got != c.want && c.query == "up" {
				t.Fatalf("%s = %v: Prometheus could not scrape or parse the exposition", q, got)
			}
			if got != c.want {
				t.Errorf("%s = %v, want %v", q, got, c.want)
			}
		}
	}
	served.mu.Lock()
	defer served.mu.Unlock()
	if served.types["/metrics"] != FormatOpenMetrics.ContentType() || !served.gzip["/metrics"] {
		t.Errorf("/metrics was served as %q (gzip %v), want OpenMetrics, gzipped", served.types["/metrics"], served.gzip["/metrics"])
	}
	if served.types["/text"] != FormatText.ContentType() {
		t.Errorf("/text was served as %q, want the text format", served.types["/text"])
	}
}

// served records what the adapter sent for each path.
type served struct {
	mu    sync.Mutex
	types map[string]string
	gzip  map[string]bool
}

// serveOverHTTP serves h over net/http on loopback at /metrics, and at
// /text with the Accept field dropped (so the text format). It returns the
// host:port.
func serveOverHTTP(t *testing.T, h web.Handler) (string, *served) {
	s := &served{types: map[string]string{}, gzip: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		r := &web.Request{Method: []byte(hr.Method), Path: []byte(hr.URL.Path), Target: []byte(hr.RequestURI), ContentLength: -1, Body: hr.Body}
		for name, values := range hr.Header {
			if name == "Accept" && hr.URL.Path == "/text" {
				continue
			}
			for _, v := range values {
				r.Header.Add(name, v)
			}
		}
		var rec webtest.Recorder
		h.Serve(rec.Begin(r), r)
		if err := rec.End(); err != nil {
			t.Errorf("End: %v", err)
		}
		for name, value := range rec.Header.All() {
			w.Header().Add(string(name), string(value))
		}
		s.mu.Lock()
		s.types[hr.URL.Path] = string(rec.Header.Get("Content-Type"))
		s.gzip[hr.URL.Path] = string(rec.Header.Get("Content-Encoding")) == "gzip"
		s.mu.Unlock()
		w.WriteHeader(rec.Status)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), s
}

// freeAddr is a loopback address nothing listens on, for Prometheus's web
// API.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitForValue queries Prometheus until the query returns one sample, or
// the deadline passes, and returns its value (-1 if none came).
func waitForValue(t *testing.T, addr, query string, deadline time.Time) float64 {
	t.Helper()
	for time.Now().Before(deadline) {
		if v, ok := queryOnce(addr, query); ok {
			return v
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("%s: no sample before the deadline", query)
	return -1
}

func queryOnce(addr, query string) (float64, bool) {
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return 0, false
	}
	var out struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &out) != nil || len(out.Data.Result) != 1 {
		return 0, false
	}
	s, _ := out.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}
