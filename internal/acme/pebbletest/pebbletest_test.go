package pebbletest_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"nave/internal/acme/pebbletest"
)

func TestStart(t *testing.T) {
	c := pebbletest.Start(t, pebbletest.Options{})
	if c.HTTPPort == 0 || c.TLSPort == 0 || c.HTTPPort == c.TLSPort {
		t.Errorf("got ports %d and %d, want two free ones", c.HTTPPort, c.TLSPort)
	}

	pem, err := os.ReadFile(c.RootsFile)
	if err != nil {
		t.Fatal(err)
	}
	fromFile := x509.NewCertPool()
	if !fromFile.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in RootsFile %s", c.RootsFile)
	}
	if !fromFile.Equal(c.Roots) {
		t.Error("RootsFile holds other roots than Roots")
	}

	// The directory answers over HTTPS trusted through RootsFile alone.
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: fromFile}},
	}
	defer client.CloseIdleConnections()
	resp, err := client.Get(c.DirURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var dir map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&dir); err != nil {
		t.Fatalf("GET %s: %v", c.DirURL, err)
	}
	if resp.StatusCode != http.StatusOK || dir["newOrder"] == nil {
		t.Errorf("GET %s: got status %d, directory %v; want 200 and newOrder", c.DirURL, resp.StatusCode, dir)
	}
	meta, _ := dir["meta"].(map[string]any)
	if profiles, _ := meta["profiles"].(map[string]any); profiles[pebbletest.ShortProfile] == nil {
		t.Errorf("got meta %v, want profile %q", meta, pebbletest.ShortProfile)
	}

	if c.IssuerRoots(t).Equal(c.Roots) {
		t.Error("IssuerRoots returned the API's roots")
	}
}

func TestStop(t *testing.T) {
	api := pebbletest.NewAPICert(t)
	c := pebbletest.Start(t, pebbletest.Options{API: api})
	if !c.Roots.Equal(api.Roots) || c.RootsFile != api.RootsFile {
		t.Error("Start did not use the given API certificate")
	}
	u, err := url.Parse(c.DirURL)
	if err != nil {
		t.Fatal(err)
	}
	c.Stop()
	c.Stop()
	if conn, err := net.Dial("tcp", u.Host); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after Stop", u.Host)
	}

	// A CA restarted at the same address keeps the API's trust.
	again := pebbletest.Start(t, pebbletest.Options{Listen: u.Host, API: api})
	if again.DirURL != c.DirURL {
		t.Errorf("got DirURL %s, want %s", again.DirURL, c.DirURL)
	}
}
