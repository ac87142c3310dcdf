package config

import (
	"strings"
	"testing"
	"time"
)

func TestUpstreamFields(t *testing.T) {
	c, err := Parse([]byte(`
[upstreams.api]
servers = ["10.0.0.1:8000", "10.0.0.2:8000"]
weights = { "10.0.0.2:8000" = 3 }
balance = "hash"
hash_key = "cookie:session"
host = "api.internal"
strip_prefix = true
proxy_protocol = 2
connect_timeout = "2s"
header_timeout = "30s"
tunnel_idle = "off"
keepalive = 0
retries = 1
max_fails = 5
slow_start = "off"
health = { path = "/healthz", interval = "2s", status = 204, rise = 3, fall = 1 }

[sites.s]
[[sites.s.routes]]
proxy = "api"
`), TOML, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	u := c.Upstreams["api"]
	if u.Weights["10.0.0.2:8000"] != 3 || u.Balance != "hash" || u.HashKey != "cookie:session" || !u.StripPrefix || u.ProxyProtocol != 2 {
		t.Errorf("got %+v", u)
	}
	if u.ConnectTimeout.D() != 2*time.Second || u.TunnelIdle != Off || u.SlowStart != Off {
		t.Errorf("durations: got %v %v %v", u.ConnectTimeout, u.TunnelIdle, u.SlowStart)
	}
	if u.KeepAlive == nil || *u.KeepAlive != 0 || *u.Retries != 1 || *u.MaxFails != 5 {
		t.Errorf("counts: got %v %v %v", u.KeepAlive, u.Retries, u.MaxFails)
	}
	if h := u.Health; h == nil || h.Path != "/healthz" || h.Status != 204 || h.Rise != 3 || h.Fall != 1 || h.Interval.D() != 2*time.Second {
		t.Errorf("health: got %+v", h)
	}
}

func TestUpstreamProblems(t *testing.T) {
	_, err := Parse([]byte(`
[upstreams.api]
servers = ["10.0.0.1:8000", "nowhere"]
weights = { "10.0.0.9:80" = 2, "10.0.0.1:8000" = 0 }
balance = "fastest"
hash_key = "ip"
proxy_protocol = 3
retries = -1
connect_timeout = "-1s"
health = { path = "healthz", status = 42 }

[sites.s]
[[sites.s.routes]]
proxy = "api"
`), TOML, t.TempDir())
	want := []string{
		`upstreams.api.servers[1]: "nowhere" is not HOST:PORT`,
		`upstreams.api.weights.10.0.0.1:8000: must be from 1 to 1000`,
		`upstreams.api.weights.10.0.0.9:80: is not one of servers`,
		`upstreams.api.balance: "fastest" is not round_robin, least_conn, random2 or hash`,
		`upstreams.api.hash_key: "ip" is not client, header:NAME or cookie:NAME`,
		`upstreams.api.hash_key: is used only with balance = "hash"`,
		`upstreams.api.proxy_protocol: must be 0 (none), 1 or 2`,
		`upstreams.api.retries: cannot be negative`,
		`upstreams.api.connect_timeout: cannot be negative`,
		`upstreams.api.health.path: must be a path starting with /`,
		`upstreams.api.health.status: must be from 100 to 599`,
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("problems\n%s\nwant one with %q", got, w)
		}
	}
}

// TestUpstreamH2C: h2c reads, and excludes the PROXY protocol.
func TestUpstreamH2C(t *testing.T) {
	const site = "\n[sites.s]\n[[sites.s.routes]]\nproxy = \"api\"\n"
	c, err := Parse([]byte("[upstreams.api]\nservers = [\"10.0.0.1:8000\"]\nh2c = true\n"+site), TOML, t.TempDir())
	if err != nil || !c.Upstreams["api"].H2C {
		t.Fatalf("h2c: %v", err)
	}
	_, err = Parse([]byte("[upstreams.api]\nservers = [\"10.0.0.1:8000\"]\nh2c = true\nproxy_protocol = 1\n"+site), TOML, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "upstreams.api.h2c: h2c and proxy_protocol exclude each other") {
		t.Errorf("h2c with proxy_protocol: %v", err)
	}
}
