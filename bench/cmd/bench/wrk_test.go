package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	out := "Running 8s test @ http://127.0.0.1:1/\n  1 threads and 64 connections\n" +
		"Requests/sec: 100.00\n\n" + reportPrefix +
		`{"requests":800,"duration_us":8000000,"bytes":1,"errors_connect":1,"errors_read":2,` +
		`"errors_write":3,"errors_status":800,"errors_timeout":4,"p50_us":250,"p90_us":400,` +
		`"p99_us":900,"max_us":2000,"mean_us":260.5}` + "\n"
	r, err := parseWrk([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.RPS(), 100.0; got != want {
		t.Errorf("RPS: got %v, want %v", got, want)
	}
	if got, want := r.Errors(200), int64(810); got != want {
		t.Errorf("Errors(200): got %d, want %d", got, want)
	}
	if got, want := r.Errors(404), int64(10); got != want {
		t.Errorf("Errors(404): got %d, want %d", got, want)
	}
	if _, err := parseWrk([]byte("wrk: connection refused\n")); err == nil {
		t.Error("no report: got no error")
	}
}

func TestWrkArgs(t *testing.T) {
	w := wrkRun{CPU: 1, Conns: 64, Duration: 8 * time.Second, Script: "r.lua", URL: "http://127.0.0.1:9/x",
		Header: map[string]string{"Connection": "close"}}
	got := strings.Join(w.args(), " ")
	want := "-c 1 wrk -t1 -c64 -d8s --latency --timeout 5s -s r.lua -H Connection: close http://127.0.0.1:9/x"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
