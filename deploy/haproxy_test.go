package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestHAProxyConfig: HAProxy accepts the example (haproxy -c), its health
// check asks nave's /readyz, it reuses connections, and it waits for nave
// at least as long as nave's --write-timeout lets a response pause.
func TestHAProxyConfig(t *testing.T) {
	if msg, ok := deps(t, "haproxy:haproxy"); !ok {
		t.Skipf("haproxy is not installed and could not be (%s)", msg)
	}
	path := filepath.Join("haproxy", "haproxy.cfg")
	out, err := exec.Command("haproxy", "-c", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(data)
	for _, want := range []string{"uri /readyz", "http-check expect status 200", "http-reuse safe", "check port 9100"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("haproxy.cfg has no %q", want)
		}
	}
	m := regexp.MustCompile(`(?m)^\s*timeout server (\S+)`).FindStringSubmatch(cfg)
	if m == nil {
		t.Fatal("haproxy.cfg sets no timeout server")
	}
	server, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if writeTimeout := 60 * time.Second; server < writeTimeout { // nave's default --write-timeout
		t.Errorf("timeout server %v is below nave's --write-timeout %v", server, writeTimeout)
	}

	// The check can fail: HAProxy refuses a misspelt keyword.
	bad := filepath.Join(t.TempDir(), "bad.cfg")
	if err := os.WriteFile(bad, []byte(strings.Replace(cfg, "http-reuse safe", "http-reuse sometimes", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("haproxy", "-c", "-f", bad).CombinedOutput(); err == nil {
		t.Fatalf("haproxy -c accepted a bad http-reuse value:\n%s", out)
	}
}
