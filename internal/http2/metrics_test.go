package http2

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"nave/internal/metrics"
	"nave/internal/servermetrics"
	"nave/internal/web"
)

// The metrics label resets and GOAWAYs with the error codes' names;
// servermetrics keeps its own copy, which must not drift.
func TestMetricsCodeNames(t *testing.T) {
	for code := range len(servermetrics.H2CodeNames) {
		if got, want := servermetrics.H2CodeNames[code], ErrCode(code).String(); got != want {
			t.Errorf("servermetrics.H2CodeNames[%d] = %q, want %q", code, got, want)
		}
	}
}

func TestMetricsCountStreamsResetsGoAways(t *testing.T) {
	reg := metrics.NewRegistry()
	started, release := make(chan struct{}, 1), make(chan struct{})
	rc := serveRaw(t, &Config{
		Handler: waitHandler(started, release, func(w *web.ResponseWriter) { w.WriteString("ok") }),
		Metrics: servermetrics.New(reg),
	}, nil)
	rc.request(1, "GET", "/", true)
	rc.expect("the answer to stream 1", func(f rawFrame) bool {
		return f.h.typ == frameData && f.h.stream == 1 && f.h.has(flagEndStream)
	})
	rc.request(3, "POST", "/wait", false)
	<-started
	want := map[string]uint64{
		"nave_http2_streams_total": 2,
	}
	check := func() {
		t.Helper()
		text := string(reg.AppendText(nil, metrics.FormatText))
		for series, n := range want {
			if !containsSample(text, series, n) {
				t.Errorf("want %s %d in\n%s", series, n, text)
			}
		}
	}
	check()
	// One handler running: the connection is handling.
	want[`nave_connections{state="handling"}`] = 1
	want[`nave_connections{state="idle"}`] = 0
	check()

	// Shutdown sends GOAWAY(NO_ERROR), counted once, though a graceful
	// one is two frames; the request whose body never comes is reset
	// with NO_ERROR once its handler is done.
	rc.c.Shutdown()
	rc.expectGracefulGoAway(3)
	close(release)
	rc.expectRST(3, ErrCodeNo)
	select {
	case <-rc.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection did not drain")
	}
	want[`nave_http2_goaways_sent_total{code="NO_ERROR"}`] = 1
	want[`nave_http2_resets_sent_total{code="NO_ERROR"}`] = 1
	want[`nave_connections{state="handling"}`] = 0
	want[`nave_connections{state="idle"}`] = 0
	want[`nave_http_requests_total{method="GET",code="2xx"}`] = 1
	want[`nave_http_requests_total{method="POST",code="2xx"}`] = 1
	check()
}

func containsSample(text, series string, n uint64) bool {
	return strings.Contains("\n"+text, "\n"+series+" "+strconv.FormatUint(n, 10)+"\n")
}
