package metrics

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"testing"

	"nave/internal/web"
	"nave/internal/web/webtest"
)

// serve runs h for a request with these header fields ("Name: value").
func serve(t *testing.T, h *Handler, method string, fields ...string) *webtest.Recorder {
	t.Helper()
	r := &web.Request{Method: []byte(method), Path: []byte("/metrics"), Target: []byte("/metrics")}
	for _, f := range fields {
		name, value, _ := bytes.Cut([]byte(f), []byte(": "))
		r.Header.AddBytes(string(name), value)
	}
	rec := new(webtest.Recorder)
	h.Serve(rec.Begin(r), r)
	if err := rec.End(); err != nil {
		t.Fatalf("End: %v", err)
	}
	return rec
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name   string
		accept []string
		want   Format
	}{
		{"none", nil, FormatText},
		{"prometheus_2", []string{"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"}, FormatOpenMetrics},
		{"prometheus_3", []string{"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"}, FormatOpenMetrics},
		{"protobuf_first", []string{"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,text/plain;version=0.0.4;q=0.5"}, FormatText},
		{"openmetrics_no_version", []string{"application/openmetrics-text"}, FormatOpenMetrics},
		{"openmetrics_spaces_case", []string{"Application/OpenMetrics-Text ; Version=1.0.0 ; q=0.9"}, FormatOpenMetrics},
		{"openmetrics_other_version", []string{"application/openmetrics-text; version=2.0.0"}, FormatText},
		{"openmetrics_refused", []string{"application/openmetrics-text; q=0, text/plain"}, FormatText},
		{"text_preferred", []string{"application/openmetrics-text; q=0.5, text/plain; version=0.0.4"}, FormatText},
		{"tie_goes_to_openmetrics", []string{"text/plain, application/openmetrics-text"}, FormatOpenMetrics},
		{"two_fields", []string{"text/plain;q=0.2", "application/openmetrics-text;version=1.0.0"}, FormatOpenMetrics},
		{"browser", []string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, FormatText},
		{"curl", []string{"*/*"}, FormatText},
		{"bad_q", []string{"application/openmetrics-text;q=x"}, FormatOpenMetrics},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h web.Header
			for _, a := range tt.accept {
				h.Add("Accept", a)
			}
			if got := Negotiate(&h); got != tt.want {
				t.Errorf("got format %d, want %d", got, tt.want)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	h := NewHandler(small())
	tests := []struct {
		name     string
		method   string
		fields   []string
		status   int
		ctype    string
		body     string
		encoding string
	}{
		{"text", "GET", nil, 200, FormatText.ContentType(), smallText, ""},
		{"openmetrics", "GET", []string{"Accept: application/openmetrics-text; version=1.0.0"}, 200, FormatOpenMetrics.ContentType(), smallOpenMetrics, ""},
		{"head", "HEAD", nil, 200, FormatText.ContentType(), "", ""},
		{"post", "POST", nil, 405, "text/plain; charset=utf-8", "405 Method Not Allowed: use GET or HEAD\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, h, tt.method, tt.fields...)
			if rec.Status != tt.status {
				t.Errorf("status %d, want %d", rec.Status, tt.status)
			}
			if got := string(rec.Header.Get("Content-Type")); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if got := rec.Body.String(); got != tt.body {
				t.Errorf("body\n%s\nwant\n%s", got, tt.body)
			}
			if got := string(rec.Header.Get("Content-Encoding")); got != tt.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tt.encoding)
			}
		})
	}
	if rec := serve(t, h, "PUT"); string(rec.Header.Get("Allow")) != "GET, HEAD" {
		t.Errorf("405 without Allow: GET, HEAD: %q", rec.Header.Get("Allow"))
	}
	if rec := serve(t, h, "HEAD"); rec.Length != int64(len(smallText)) {
		t.Errorf("HEAD: length %d, want the GET's %d", rec.Length, len(smallText))
	}
}

// TestHandlerGzip: a large exposition goes compressed to a scraper that
// accepts gzip, and decompresses to what the other got; a q of 0 refuses.
func TestHandlerGzip(t *testing.T) {
	r := NewRegistry()
	v := r.CounterVec("nave_x_total", "h", "route")
	for i := range 100 {
		v.With(fmt.Sprintf("/route/%d", i)).Add(uint64(i))
	}
	h := NewHandler(r)
	plain := serve(t, h, "GET").Body.String()
	for range 2 { // the second time reuses the writer
		rec := serve(t, h, "GET", "Accept-Encoding: deflate, gzip;q=0.5")
		if got := string(rec.Header.Get("Content-Encoding")); got != "gzip" {
			t.Fatalf("Content-Encoding %q, want gzip", got)
		}
		if rec.Length != int64(rec.Body.Len()) || rec.Body.Len() >= len(plain) {
			t.Errorf("compressed length %d (declared %d), plain %d", rec.Body.Len(), rec.Length, len(plain))
		}
		zr, err := gzip.NewReader(&rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || string(got) != plain {
			t.Errorf("decompressed (%v) differs from the plain exposition", err)
		}
	}
	if rec := serve(t, h, "GET", "Accept-Encoding: gzip;q=0"); rec.Header.Has("Content-Encoding") {
		t.Error("gzip;q=0: compressed anyway")
	}
	tiny := NewRegistry()
	tiny.Gauge("nave_g", "h").Set(1)
	if rec := serve(t, NewHandler(tiny), "GET", "Accept-Encoding: gzip"); rec.Header.Has("Content-Encoding") {
		t.Errorf("a %d-byte exposition compressed; below %d bytes it should go plain", rec.Body.Len(), gzipMin)
	}
}

// scrapeRegistry is a registry of the size a configured server would
// have: 20 routes with requests by 5 status classes, a latency histogram
// each, and the runtime and process figures.
func scrapeRegistry() *Registry {
	r := NewRegistry()
	req := r.CounterVec("nave_http_requests_total", "h", "route", "code")
	dur := r.HistogramVec("nave_http_request_duration_seconds", "h", nil, "route")
	for i := range 20 {
		route := fmt.Sprintf("/route/%d", i)
		for c := range 5 {
			req.With(route, fmt.Sprintf("%dxx", c+1)).Add(uint64(i * c * 1000))
		}
		h := dur.With(route)
		for j := range 100 {
			h.Observe(float64(j) / 1000)
		}
	}
	r.RegisterGo()
	r.RegisterProcess()
	return r
}

// BenchmarkScrape is a whole scrape through the handler, as Prometheus
// makes it (OpenMetrics, gzip).
func BenchmarkScrape(b *testing.B) {
	h := NewHandler(scrapeRegistry())
	r := &web.Request{Method: []byte("GET")}
	r.Header.Add("Accept", "application/openmetrics-text;version=1.0.0")
	r.Header.Add("Accept-Encoding", "gzip")
	var rec webtest.Recorder
	var plain int
	for b.Loop() {
		h.Serve(rec.Begin(r), r)
		rec.End()
		plain = int(h.size.Load())
	}
	b.ReportMetric(float64(plain), "plain-bytes")
	b.ReportMetric(float64(rec.Body.Len()), "gzip-bytes")
}
