package metrics

import (
	"math"
	"testing"
)

// small is a registry with one of each kind, labelled and not, with
// values that exercise the formats' differences.
func small() *Registry {
	r := NewRegistry()
	req := r.CounterVec("nave_http_requests_total", "Requests answered, by route and status class.", "route", "code")
	req.With("/static", "2xx").Add(41)
	req.With("/api", "5xx").Inc()
	req.With("/api", "2xx").Add(7)
	r.Gauge("nave_connections", "Open client connections.").Set(3)
	r.GaugeFunc("nave_config_last_reload_success_timestamp_seconds", "When the config last loaded.", func() float64 { return 1.7e9 })
	r.CounterFunc("nave_worker_busy_seconds_total", "Worker-seconds spent in app calls.", func() float64 { return 2 })
	h := r.Histogram("nave_http_request_duration_seconds", "Time from the request's arrival to the response's end.", []float64{0.001, 0.5, 1})
	h.Observe(0.0002)
	h.Observe(0.5)
	h.Observe(3)
	r.Counter("nave_unused_total", "Never touched, still shown.")
	r.CounterVec("nave_empty_total", "A family with no series yet is left out.", "site")
	return r
}

const smallText = `# HELP nave_config_last_reload_success_timestamp_seconds When the config last loaded.
# TYPE nave_config_last_reload_success_timestamp_seconds gauge
nave_config_last_reload_success_timestamp_seconds 1.7e+09
# HELP nave_connections Open client connections.
# TYPE nave_connections gauge
nave_connections 3
# HELP nave_http_request_duration_seconds Time from the request's arrival to the response's end.
# TYPE nave_http_request_duration_seconds histogram
nave_http_request_duration_seconds_bucket{le="0.001"} 1
nave_http_request_duration_seconds_bucket{le="0.5"} 2
nave_http_request_duration_seconds_bucket{le="1"} 2
nave_http_request_duration_seconds_bucket{le="+Inf"} 3
nave_http_request_duration_seconds_sum 3.5002
nave_http_request_duration_seconds_count 3
# HELP nave_http_requests_total Requests answered, by route and status class.
# TYPE nave_http_requests_total counter
nave_http_requests_total{route="/api",code="2xx"} 7
nave_http_requests_total{route="/api",code="5xx"} 1
nave_http_requests_total{route="/static",code="2xx"} 41
# HELP nave_unused_total Never touched, still shown.
# TYPE nave_unused_total counter
nave_unused_total 0
# HELP nave_worker_busy_seconds_total Worker-seconds spent in app calls.
# TYPE nave_worker_busy_seconds_total counter
nave_worker_busy_seconds_total 2
`

const smallOpenMetrics = `# HELP nave_config_last_reload_success_timestamp_seconds When the config last loaded.
# TYPE nave_config_last_reload_success_timestamp_seconds gauge
# UNIT nave_config_last_reload_success_timestamp_seconds seconds
nave_config_last_reload_success_timestamp_seconds 1.7e+09
# HELP nave_connections Open client connections.
# TYPE nave_connections gauge
nave_connections 3
# HELP nave_http_request_duration_seconds Time from the request's arrival to the response's end.
# TYPE nave_http_request_duration_seconds histogram
# UNIT nave_http_request_duration_seconds seconds
nave_http_request_duration_seconds_bucket{le="0.001"} 1
nave_http_request_duration_seconds_bucket{le="0.5"} 2
nave_http_request_duration_seconds_bucket{le="1.0"} 2
nave_http_request_duration_seconds_bucket{le="+Inf"} 3
nave_http_request_duration_seconds_sum 3.5002
nave_http_request_duration_seconds_count 3
# HELP nave_http_requests Requests answered, by route and status class.
# TYPE nave_http_requests counter
nave_http_requests_total{route="/api",code="2xx"} 7
nave_http_requests_total{route="/api",code="5xx"} 1
nave_http_requests_total{route="/static",code="2xx"} 41
# HELP nave_unused Never touched, still shown.
# TYPE nave_unused counter
nave_unused_total 0
# HELP nave_worker_busy_seconds Worker-seconds spent in app calls.
# TYPE nave_worker_busy_seconds counter
# UNIT nave_worker_busy_seconds seconds
nave_worker_busy_seconds_total 2.0
# EOF
`

func TestExposition(t *testing.T) {
	r := small()
	for _, tt := range []struct {
		name   string
		format Format
		want   string
	}{
		{"text", FormatText, smallText},
		{"openmetrics", FormatOpenMetrics, smallOpenMetrics},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(r.AppendText(nil, tt.format)); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestEscaping(t *testing.T) {
	r := NewRegistry()
	v := r.GaugeVec("nave_escape", "Help with a \\ backslash,\na newline and a \"quote\".", "v")
	for _, s := range []string{`back\slash`, "new\nline", `"quoted"`, "plain ✓", ""} {
		v.With(s).Set(1)
	}
	const labels = `nave_escape{v=""} 1
nave_escape{v="\"quoted\""} 1
nave_escape{v="back\\slash"} 1
nave_escape{v="new\nline"} 1
nave_escape{v="plain ✓"} 1
`
	tests := []struct {
		format Format
		want   string
	}{
		{FormatText, "# HELP nave_escape Help with a \\\\ backslash,\\na newline and a \"quote\".\n# TYPE nave_escape gauge\n" + labels},
		{FormatOpenMetrics, "# HELP nave_escape Help with a \\\\ backslash,\\na newline and a \\\"quote\\\".\n# TYPE nave_escape gauge\n" + labels + "# EOF\n"},
	}
	for _, tt := range tests {
		if got := string(r.AppendText(nil, tt.format)); got != tt.want {
			t.Errorf("format %d: got\n%s\nwant\n%s", tt.format, got, tt.want)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	tests := []struct {
		v        float64
		text, om string
	}{
		{0, "0", "0.0"},
		{1, "1", "1.0"},
		{-1, "-1", "-1.0"},
		{0.0005, "0.0005", "0.0005"},
		{2.5, "2.5", "2.5"},
		{30, "30", "30.0"},
		{1e21, "1e+21", "1e+21"},
		{1.5e-7, "1.5e-07", "1.5e-07"},
		{math.Inf(1), "+Inf", "+Inf"},
		{math.Inf(-1), "-Inf", "-Inf"},
		{math.NaN(), "NaN", "NaN"},
	}
	for _, tt := range tests {
		if got := string(appendFloat(nil, tt.v, FormatText)); got != tt.text {
			t.Errorf("text %v: got %q, want %q", tt.v, got, tt.text)
		}
		if got := string(appendFloat(nil, tt.v, FormatOpenMetrics)); got != tt.om {
			t.Errorf("openmetrics %v: got %q, want %q", tt.v, got, tt.om)
		}
	}
}
