//go:build !linux

package metrics

// Elsewhere than Linux the process figures are not read yet.
func processStart() (float64, bool) { return 0, false }

func readProcStat() procStat { return procStat{} }
