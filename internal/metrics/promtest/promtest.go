// Package promtest runs Debian's Prometheus server for tests: it scrapes
// the targets a test names, and the test reads what it stored through its
// HTTP API, as a user's dashboards would. It imports no nave package.
package promtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// LookTool finds a tool from a Debian package, or skips: unless running
// under CI (CI=true), where scripts/deps.sh must have installed it.
func LookTool(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (scripts/deps.sh installs %s); CI=true, so this fails instead of skipping", name, pkg)
	}
	t.Skipf("%s is not installed: apt-get install %s", name, pkg)
	return ""
}

// Server is a Prometheus server a test started.
type Server struct {
	Addr string // its web API's host:port
}

// Job is one scrape job: what to scrape, every second.
type Job struct {
	Name, Path, Target string
}

// Start runs Prometheus scraping jobs every second until the test ends;
// its log is shown if the test failed. It skips when Prometheus is not
// installed (see LookTool).
func Start(t testing.TB, jobs ...Job) *Server {
	t.Helper()
	prom := LookTool(t, "prometheus", "prometheus")
	dir := t.TempDir()
	cfg := "global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n"
	for _, j := range jobs {
		cfg += fmt.Sprintf("  - {job_name: %s, metrics_path: %s, static_configs: [{targets: [%q]}]}\n", j.Name, j.Path, j.Target)
	}
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
	return &Server{Addr: addr}
}

// freeAddr is a loopback address nothing listens on, for Prometheus's web
// API.
func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Value queries Prometheus until the query returns one sample, or the
// deadline passes, and returns its value (-1, and the test marked
// failed, if none came).
func (s *Server) Value(t testing.TB, query string, deadline time.Time) float64 {
	t.Helper()
	for time.Now().Before(deadline) {
		if v, ok := s.queryOnce(query); ok {
			return v
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("%s: no sample before the deadline", query)
	return -1
}

func (s *Server) queryOnce(query string) (float64, bool) {
	resp, err := http.Get("http://" + s.Addr + "/api/v1/query?query=" + url.QueryEscape(query))
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
	str, _ := out.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	return v, err == nil
}
