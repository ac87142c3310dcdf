package server

import (
	"testing"

	"nave/internal/metrics"
	"nave/internal/servermetrics"
	"nave/internal/web"
	"nave/internal/wiretest"
)

func TestMetricsParked(t *testing.T) {
	reg := metrics.NewRegistry()
	_, addr := startParking(t, Config{Handler: web.HandlerFunc(methodStatus), Metrics: servermetrics.New(reg)})
	c := wiretest.Dial(t, addr)
	c.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	c.ReadWhole("GET")
	wantSamples(t, reg, map[string]string{`nave_connections{state="parked"}`: "1", `nave_connections{state="idle"}`: "0"})
	c.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	c.ReadWhole("GET")
	wantSamples(t, reg, map[string]string{
		`nave_connections{state="parked"}`:                  "0",
		`nave_http_requests_total{method="GET",code="2xx"}`: "2",
	})
}
