package metrics

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// lookTool finds a tool from a Debian package, or skips: unless running
// under CI (CI=true), where scripts/deps.sh must have installed it.
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

// TestPromtool: Prometheus's own linter (promtool check metrics) passes the
// text exposition, the runtime and process figures included: names,
// suffixes, units, help, and that it parses.
func TestPromtool(t *testing.T) {
	promtool := lookTool(t, "promtool", "prometheus")
	r := small()
	r.RegisterGo()
	r.RegisterProcess()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(r.AppendText(nil, FormatText))
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
