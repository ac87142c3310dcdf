//go:build linux

package metrics

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRegisterProcess(t *testing.T) {
	r := NewRegistry()
	r.RegisterProcess()
	fds := valueOf(r.AppendText(nil, FormatText), "process_open_fds")
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	expo := r.AppendText(nil, FormatText)
	if got := valueOf(expo, "process_open_fds"); got != fds+1 {
		t.Errorf("process_open_fds %v after opening a file, want %v", got, fds+1)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if got := valueOf(expo, "process_max_fds"); got != float64(lim.Cur) {
		t.Errorf("process_max_fds %v, want %v", got, lim.Cur)
	}
	now := float64(time.Now().Unix())
	if got := valueOf(expo, "process_start_time_seconds"); !(got > now-3600 && got <= now+1) {
		t.Errorf("process_start_time_seconds %v, now is %v", got, now)
	}
	// VmRSS and VmSize as the kernel reports them, in kB: the same figures
	// in other units, within what a scrape's own activity can move them.
	for _, tt := range []struct{ series, status string }{
		{"process_resident_memory_bytes", "VmRSS:"},
		{"process_virtual_memory_bytes", "VmSize:"},
	} {
		got, want := valueOf(expo, tt.series), statusKB(t, tt.status)*1024
		if !(got > want*0.5 && got < want*2) {
			t.Errorf("%s %v, /proc/self/status says %v", tt.series, got, want)
		}
	}
	if got := valueOf(expo, "process_cpu_seconds_total"); !(got > 0) {
		t.Errorf("process_cpu_seconds_total %v, want > 0", got)
	}
}

// statusKB reads a "Name:  123 kB" line of /proc/self/status.
func statusKB(t *testing.T, name string) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, name); ok {
			n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", name)
	return 0
}
