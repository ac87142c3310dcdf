package metrics

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"nave/internal/metrics/promtest"
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
	r := small()
	r.RegisterGo()
	r.RegisterProcess()
	target, served := serveOverHTTP(t, NewHandler(r))
	prom := promtest.Start(t,
		promtest.Job{Name: "negotiated", Path: "/metrics", Target: target},
		promtest.Job{Name: "text", Path: "/text", Target: target})

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
			got := prom.Value(t, q, deadline)
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
