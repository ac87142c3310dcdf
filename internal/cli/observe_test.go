package cli

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// endpointsAt are the metrics and status endpoints' addresses.
func (b *built) endpointsAt() (metrics, status []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	es := b.endpoints.All()
	for _, key := range slices.Sorted(maps.Keys(es)) {
		if isMetrics(key) {
			metrics = append(metrics, es[key].ln.Addr().String())
		}
		if isStatus(key) {
			status = append(status, es[key].ln.Addr().String())
		}
	}
	return metrics, status
}

func httpGet(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// TestApplyStatusEndpoint: admin.status at admin.metrics's address serves
// the page, the JSON and the exposition on one listener; at another
// address, a listener of its own that serves no metrics; removed, none.
func TestApplyStatusEndpoint(t *testing.T) {
	c := metricsConfig("127.0.0.1:0")
	c.Admin.Status = "127.0.0.1:0"
	b := startLive(t, c)
	ms, ss := b.endpointsAt()
	if len(ms) != 1 || !slices.Equal(ms, ss) {
		t.Fatalf("metrics at %v, status at %v; want one listener for both", ms, ss)
	}
	mustGet(t, b.addr("main"), "/")
	base := "http://" + ss[0]
	if code, ct, body := httpGet(t, base+"/"); code != 200 || ct != "text/html; charset=utf-8" || !strings.Contains(body, "<title>nave status</title>") {
		t.Errorf("GET /: %d %q", code, ct)
	}
	code, ct, body := httpGet(t, base+"/status")
	var st statusReport
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 200 || ct != "application/json" || st.Traffic == nil || st.History == nil {
		t.Errorf("GET /status: %d %q %v\n%s", code, ct, err, body)
	}
	if code, _, body := httpGet(t, base+"/metrics"); code != 200 || !strings.Contains(body, "nave_http_requests_total") {
		t.Errorf("GET /metrics on the shared listener: %d", code)
	}
	if code, _, body := httpGet(t, base+"/other"); code != 404 || !strings.Contains(body, "/metrics") {
		t.Errorf("GET /other: %d %q, want 404 naming what is there", code, body)
	}

	c = metricsConfig("127.0.0.1:0")
	c.Admin.Status = "localhost:0"
	if err := b.apply(c); err != nil {
		t.Fatal(err)
	}
	ms, ss = b.endpointsAt()
	if len(ms) != 1 || len(ss) != 1 || ms[0] == ss[0] {
		t.Fatalf("metrics at %v, status at %v; want two listeners", ms, ss)
	}
	if code, _, _ := httpGet(t, "http://"+ss[0]+"/metrics"); code != 404 {
		t.Errorf("GET /metrics on the status listener: %d, want 404", code)
	}
	if code, _, _ := httpGet(t, "http://"+ss[0]+"/status"); code != 200 {
		t.Errorf("GET /status on the status listener: %d", code)
	}
	resp, err := http.Post("http://"+ss[0]+"/status", "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /status: %v %v, want 405 allowing GET, HEAD", resp.StatusCode, err)
	}
	resp.Body.Close()

	if err := b.apply(metricsConfig("")); err != nil {
		t.Fatal(err)
	}
	if ms, ss = b.endpointsAt(); len(ms)+len(ss) != 0 {
		t.Errorf("admin.status and admin.metrics removed; endpoints at %v and %v remain", ms, ss)
	}
}
