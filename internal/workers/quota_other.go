//go:build !linux

package workers

// cpuQuota: no cgroups off Linux.
func cpuQuota() (float64, bool) { return 0, false }
