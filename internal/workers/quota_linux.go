package workers

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuQuota is the CPU bandwidth limit of the cgroup nave runs in, in
// CPUs (a quota of 150ms a 100ms period is 1.5), from cgroup v2's cpu.max
// or v1's cpu.cfs_quota_us and cpu.cfs_period_us; ok is false when there
// is none or it cannot be read. As the Go runtime does for GOMAXPROCS, it
// reads the leaf cgroup only, where a container's limit is set.
func cpuQuota() (cpus float64, ok bool) {
	return readCPUQuota("/proc/self/cgroup", "/proc/self/mountinfo", "")
}

// readCPUQuota is cpuQuota with its files named, and root prefixed to
// the mount points found (for tests).
func readCPUQuota(cgroupFile, mountinfoFile, root string) (float64, bool) {
	cg, err := os.ReadFile(cgroupFile)
	if err != nil {
		return 0, false
	}
	// Lines are hierarchy-ID:controllers:path; a v1 hierarchy holding
	// "cpu" wins over v2's "0::path", as in the kernel's hybrid setups.
	var v1Path, v2Path string
	var v1, v2 bool
	for line := range strings.Lines(string(cg)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2Path, v2 = parts[2], true
		} else if hasField(parts[1], ",", "cpu") {
			v1Path, v1 = parts[2], true
		}
	}
	if !v1 && !v2 {
		return 0, false
	}
	mountRoot, mountPoint, found := cgroupMount(mountinfoFile, v1)
	if !found {
		return 0, false
	}
	path := v2Path
	if v1 {
		path = v1Path
	}
	// A mount of a cgroup's subtree (a container's view) shows its root
	// as the path's prefix.
	rel, err := filepath.Rel(mountRoot, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = "."
	}
	dir := filepath.Join(root, mountPoint, rel)
	var quota, period string
	if v1 {
		quota, period = readTrimmed(filepath.Join(dir, "cpu.cfs_quota_us")), readTrimmed(filepath.Join(dir, "cpu.cfs_period_us"))
	} else if f := strings.Fields(readTrimmed(filepath.Join(dir, "cpu.max"))); len(f) == 2 {
		quota, period = f[0], f[1] // "max 100000" when there is no limit
	}
	q, err1 := strconv.ParseInt(quota, 10, 64)
	p, err2 := strconv.ParseInt(period, 10, 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0, false // none ("max", v1's -1), or unreadable
	}
	return float64(q) / float64(p), true
}

// cgroupMount finds the mount of the cpu controller's v1 hierarchy (v1)
// or of the v2 hierarchy in a mountinfo file: its root within the
// hierarchy and its mount point.
func cgroupMount(mountinfoFile string, v1 bool) (root, point string, ok bool) {
	b, err := os.ReadFile(mountinfoFile)
	if err != nil {
		return "", "", false
	}
	for line := range strings.Lines(string(b)) {
		// ID parent major:minor root mount-point options [optional...] - fstype source super-options
		pre, post, found := strings.Cut(strings.TrimSuffix(line, "\n"), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !found || len(fields) < 5 || len(tail) < 3 {
			continue
		}
		switch {
		case v1 && tail[0] == "cgroup" && hasField(tail[2], ",", "cpu"):
		case !v1 && tail[0] == "cgroup2":
		default:
			continue
		}
		return unescapeMount(fields[3]), unescapeMount(fields[4]), true
	}
	return "", "", false
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func hasField(list, sep, want string) bool {
	for f := range strings.SplitSeq(list, sep) {
		if f == want {
			return true
		}
	}
	return false
}

// readTrimmed is a small file's text without surrounding space; "" if it
// cannot be read.
func readTrimmed(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
