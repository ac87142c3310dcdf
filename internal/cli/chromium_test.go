package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestChromiumTrustsLocalCA: headless Chromium, told to trust the local
// CA (in its NSS database, as the printed instructions say), loads the
// demo page over HTTPS from nave --tls-self-signed; the same browser
// without the CA gets no page.
func TestChromiumTrustsLocalCA(t *testing.T) {
	state := t.TempDir()
	addr, _, _ := startTLSBinary(t, state, "serve", "--tls-self-signed", "--listen", "127.0.0.1:0", "--access-log", "off")
	url := "https://localhost:" + port(addr) + "/"
	caFile := filepath.Join(state, "ca", "ca.crt")
	if dom := chromiumDOM(t, url, caFile); !strings.Contains(dom, "<h1>nave is running</h1>") {
		t.Errorf("trusting the local CA, Chromium did not load the demo page:\n%.2000s", dom)
	}
	if dom := chromiumDOM(t, url, ""); strings.Contains(dom, "<h1>nave is running</h1>") {
		t.Error("Chromium loaded the page without trusting the local CA")
	}
}

// chromiumDOM loads url in headless Chromium, with a profile of its own
// that trusts caFile (none when it is ""), and returns the DOM once the
// page has loaded (its load handlers run).
func chromiumDOM(t *testing.T, url, caFile string) string {
	t.Helper()
	bin := lookTool(t, "chromium", "chromium")
	home := t.TempDir()
	if caFile != "" {
		certutil := lookTool(t, "certutil", "libnss3-tools")
		db := "sql:" + filepath.Join(home, ".pki", "nssdb")
		os.MkdirAll(filepath.Join(home, ".pki", "nssdb"), 0o700)
		for _, args := range [][]string{
			{"-d", db, "-N", "--empty-password"},
			{"-d", db, "-A", "-t", "C,,", "-n", "nave local CA", "-i", caFile},
		} {
			if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
				t.Fatalf("certutil %v: %v\n%s", args, err, out)
			}
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(home, "profile"), "--dump-dom", url)
	cmd.Env = append(os.Environ(), "HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	return string(out)
}

// lookTool finds a tool from a Debian package, or skips: unless running
// under CI, where scripts/deps.sh must have installed it.
func lookTool(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (scripts/deps.sh installs %s); CI=true, so this fails instead of skipping", name, pkg)
	}
	t.Skipf("%s is not installed: apt-get install %s", name, pkg)
	return ""
}
