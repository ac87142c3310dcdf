package metrics

import (
	"bytes"
	"math"
	"os"
	"strconv"
	"syscall"
)

// userHZ is the kernel's USER_HZ, the unit of /proc's clock ticks: 100 on
// every Linux architecture Go supports (sysconf(_SC_CLK_TCK) would need
// cgo to ask).
const userHZ = 100

// processStart is the process's start time in seconds since the epoch:
// the boot time from /proc/stat plus starttime from /proc/self/stat.
func processStart() (float64, bool) {
	st, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	var boot float64
	for line := range bytes.Lines(st) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			boot, err = strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
			break
		}
	}
	fields, ok := selfStat()
	if err != nil || boot == 0 || !ok {
		return 0, false
	}
	ticks, err := strconv.ParseFloat(string(fields[statStart]), 64)
	if err != nil {
		return 0, false
	}
	return boot + ticks/userHZ, true
}

// Fields of /proc/self/stat (proc(5)), counted from state, the first after
// the command's closing parenthesis.
const (
	statStart = 22 - 3 // starttime, clock ticks after boot
	statVsize = 23 - 3 // bytes
	statRSS   = 24 - 3 // pages
)

// selfStat splits /proc/self/stat after the command, which may itself hold
// spaces and parentheses.
func selfStat() ([][]byte, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return nil, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, false
	}
	f := bytes.Fields(b[i+1:])
	return f, len(f) > statRSS
}

func readProcStat() procStat {
	nan := math.NaN()
	p := procStat{nan, nan, nan, nan, nan}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		p.cpu = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	if f, ok := selfStat(); ok {
		if v, err := strconv.ParseFloat(string(f[statVsize]), 64); err == nil {
			p.vsize = v
		}
		if v, err := strconv.ParseFloat(string(f[statRSS]), 64); err == nil {
			p.rss = v * float64(os.Getpagesize())
		}
	}
	if d, err := os.Open("/proc/self/fd"); err == nil {
		names, err := d.Readdirnames(-1)
		d.Close()
		if err == nil {
			p.openFDs = float64(len(names) - 1) // less the one reading the directory
		}
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		p.maxFDs = float64(lim.Cur)
	}
	return p
}
