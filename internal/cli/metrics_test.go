package cli

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"nave/internal/config"
)

// metricsConfig is a one-listener config answering "ok", with
// admin.metrics at metricsAddr ("" for none).
func metricsConfig(metricsAddr string) *config.Config {
	ok := "ok"
	c := &config.Config{
		Listeners: map[string]*config.Listener{"main": {Address: "127.0.0.1:0"}},
		Sites:     map[string]*config.Site{"s": {Routes: []*config.Route{{Respond: &ok}}}},
		Log:       config.Log{Access: "off"},
		Admin:     config.Admin{Metrics: metricsAddr},
	}
	c.Complete()
	return c
}

// metricsAt is the metrics endpoint's address, "" when there is none.
func (b *built) metricsAt() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	es := b.endpoints.All()
	for _, key := range slices.Sorted(maps.Keys(es)) {
		if isMetrics(key) {
			return es[key].ln.Addr().String()
		}
	}
	return ""
}

var getsOK = regexp.MustCompile(`(?m)^nave_http_requests_total\{method="GET",code="2xx"\} (\d+)$`)

// TestApplyMetrics: admin.metrics serves /metrics on its own address
// (404 elsewhere); a reload that keeps it keeps the counts; one that
// drops it closes the address and stops counting; one that brings it back
// finds the counts where they were.
func TestApplyMetrics(t *testing.T) {
	b := startLive(t, metricsConfig("127.0.0.1:0"))
	main, maddr := b.addr("main"), b.metricsAt()
	if maddr == "" {
		t.Fatal("no metrics endpoint")
	}
	// A request is counted just after its response is sent: wait for it.
	wantCount := func(addr, want, when string) {
		t.Helper()
		var got string
		waitFor(t, when+": GET 2xx count "+want, func() bool {
			if m := getsOK.FindStringSubmatch(mustGet(t, addr, "/metrics")); m != nil {
				got = m[1]
			}
			return got == want
		})
	}
	for range 3 {
		mustGet(t, main, "/")
	}
	wantCount(maddr, "3", "after 3 GETs")
	if _, err := (&client{addr: maddr}).get("/other"); err == nil {
		t.Error("the metrics address answered 200 for /other, want 404")
	}

	if err := b.apply(metricsConfig("127.0.0.1:0")); err != nil {
		t.Fatal(err)
	}
	if b.metricsAt() != maddr {
		t.Errorf("a reload that keeps admin.metrics moved it: %s, was %s", b.metricsAt(), maddr)
	}
	mustGet(t, b.addr("main"), "/")
	wantCount(maddr, "4", "after a reload and another GET")

	if err := b.apply(metricsConfig("")); err != nil {
		t.Fatal(err)
	}
	if b.metricsAt() != "" {
		t.Error("admin.metrics removed, and the endpoint is still there")
	}
	mustGet(t, b.addr("main"), "/") // not counted: metrics are off

	if err := b.apply(metricsConfig("127.0.0.1:0")); err != nil {
		t.Fatal(err)
	}
	mustGet(t, b.addr("main"), "/")
	wantCount(b.metricsAt(), "5", "metrics back on (4 before, none while off, 1 after)")
}

// TestApplyRouteMetrics: each route's requests are counted under its
// site and its name (or its index), by status class; a reload that keeps
// the route keeps its counts, and one that removes a route removes its
// series.
func TestApplyRouteMetrics(t *testing.T) {
	conf := func() *config.Config {
		c := metricsConfig("127.0.0.1:0")
		api, gone := "api", "gone"
		c.Sites["s"].Routes = []*config.Route{
			{Name: "api", Match: config.Match{Path: "/api/"}, Respond: &api},
			{Match: config.Match{Path: "/gone/"}, Respond: &gone, Status: 410},
			c.Sites["s"].Routes[0],
		}
		c.Complete()
		return c
	}
	b := startLive(t, conf())
	main := "http://" + b.addr("main")
	for _, p := range []string{"/api/a", "/api/b", "/other"} {
		if code, _, _ := httpGet(t, main+p); code != 200 {
			t.Fatalf("GET %s: %d", p, code)
		}
	}
	if code, _, _ := httpGet(t, main+"/gone/x"); code != 410 {
		t.Fatalf("GET /gone/x: %d, want 410", code)
	}
	want := []string{
		`nave_route_requests_total{site="s",route="api",code="2xx"} 2`,
		`nave_route_requests_total{site="s",route="1",code="4xx"} 1`,
		`nave_route_requests_total{site="s",route="2",code="2xx"} 1`,
		`nave_route_request_duration_seconds_count{site="s",route="api"} 2`,
	}
	_, _, body := httpGet(t, "http://"+b.metricsAt()+"/metrics")
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("missing %s", w)
		}
	}
	if err := b.apply(conf()); err != nil {
		t.Fatal(err)
	}
	httpGet(t, main+"/api/c")
	_, _, body = httpGet(t, "http://"+b.metricsAt()+"/metrics")
	if w := `nave_route_requests_total{site="s",route="api",code="2xx"} 3`; !strings.Contains(body, w) {
		t.Errorf("after a reload, missing %s", w)
	}

	c := conf()
	c.Sites["s"].Routes = []*config.Route{c.Sites["s"].Routes[0], c.Sites["s"].Routes[2]} // without /gone/
	c.Complete()
	if err := b.apply(c); err != nil {
		t.Fatal(err)
	}
	httpGet(t, main+"/api/d")
	_, _, body = httpGet(t, "http://"+b.metricsAt()+"/metrics")
	if w := `nave_route_requests_total{site="s",route="api",code="2xx"} 4`; !strings.Contains(body, w) {
		t.Errorf("after a reload that removed another route, missing %s", w)
	}
	// The catch-all moved from index 2 to 1: no route has the label "2"
	// now, and its series go ("1" is the catch-all's label now, and its
	// series go on, as an unnamed route's index labels it).
	if strings.Contains(body, `route="2"`) {
		t.Error(`the series of route "2", which the config no longer has, are still exposed`)
	}
}
