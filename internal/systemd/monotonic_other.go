//go:build !linux

package systemd

// monotonicUsec is not known here: RELOADING=1 goes without it.
func monotonicUsec() (int64, bool) { return 0, false }
