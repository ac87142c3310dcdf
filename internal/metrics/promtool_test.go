package metrics

import (
	"bytes"
	"os/exec"
	"testing"

	"nave/internal/metrics/promtest"
)

// TestPromtool: Prometheus's own linter (promtool check metrics) passes the
// text exposition, the runtime and process figures included: names,
// suffixes, units, help, and that it parses.
func TestPromtool(t *testing.T) {
	promtool := promtest.LookTool(t, "promtool", "prometheus")
	r := small()
	r.RegisterGo()
	r.RegisterProcess()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(r.AppendText(nil, FormatText))
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
