package workers

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestWorkerCountFollowsCPUQuota: in a cgroup whose CPU quota is one CPU
// (a container limited to one), the default is one worker, not one per
// CPU of the machine; with the quota lifted, one per CPU again. Needs root
// and the cgroup v1 cpu controller (this machine's), or skips; the
// parsing of both cgroup versions is TestReadCPUQuota's.
func TestWorkerCountFollowsCPUQuota(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: a quota of one changes nothing")
	}
	base := "/sys/fs/cgroup/cpu"
	if _, err := os.Stat(filepath.Join(base, "cpu.cfs_quota_us")); err != nil {
		t.Skip("no cgroup v1 cpu controller at", base)
	}
	dir := filepath.Join(base, fmt.Sprintf("nave-test-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skip("cannot make a cgroup (not root?):", err)
	}
	t.Cleanup(func() {
		// The children have exited; an empty cgroup can go.
		os.Remove(dir)
	})
	for file, value := range map[string]string{"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "100000"} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		t.Helper()
		// The shell joins the cgroup, then becomes the child: the Go
		// runtime reads its quota as it starts.
		cmd := exec.Command("sh", "-c", `echo $$ > "$1/cgroup.procs" && exec "$2"`, "sh", dir, os.Args[0])
		cmd.Env = append(os.Environ(), childEnv+"=count")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("child printed %q", out)
		}
		return n
	}
	if n := count(); n != 1 {
		t.Errorf("under a quota of one CPU: %d workers, want 1", n)
	}
	if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte("-1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != runtime.NumCPU() {
		t.Errorf("with no quota: %d workers, want one per CPU (%d)", n, runtime.NumCPU())
	}
}

// TestReadCPUQuota: the quota from cgroup v2's cpu.max and v1's files,
// through /proc/self/cgroup and mountinfo as a container shows them.
func TestReadCPUQuota(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v2cg := write("v2/cgroup", "0::/kubepods/pod1/c1\n")
	v2mi := write("v2/mountinfo", "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n")
	v1cg := write("v1/cgroup", "4:memory:/docker/c1\n3:cpu,cpuacct:/docker/c1\n0::/\n")
	v1mi := write("v1/mountinfo", "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"+
		"32 31 0:29 /docker/c1 /sys/fs/cgroup/cpu\\040x rw,relatime - cgroup cgroup rw,cpu,cpuacct\n")
	for _, tc := range []struct {
		name     string
		cg, mi   string
		files    map[string]string
		want     float64
		wantSome bool
	}{
		{"v2 quota", v2cg, v2mi, map[string]string{"sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "150000 100000\n"}, 1.5, true},
		{"v2 no limit", v2cg, v2mi, map[string]string{"sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "max 100000\n"}, 0, false},
		{"v1 in a container's mount", v1cg, v1mi, map[string]string{
			"sys/fs/cgroup/cpu x/cpu.cfs_quota_us": "200000\n", "sys/fs/cgroup/cpu x/cpu.cfs_period_us": "100000\n"}, 2, true},
		{"v1 no limit", v1cg, v1mi, map[string]string{
			"sys/fs/cgroup/cpu x/cpu.cfs_quota_us": "-1\n", "sys/fs/cgroup/cpu x/cpu.cfs_period_us": "100000\n"}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, text := range tc.files {
				write(name, text)
			}
			got, ok := readCPUQuota(tc.cg, tc.mi, root)
			if ok != tc.wantSome || got != tc.want {
				t.Errorf("got %v, %v; want %v, %v", got, ok, tc.want, tc.wantSome)
			}
		})
	}
}
