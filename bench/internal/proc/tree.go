package proc

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat and /proc/stat: 100
// on every Linux architecture Go supports (USER_HZ is fixed by the ABI).
const userHZ = 100

// stat is what the harness needs from /proc/PID/stat.
type stat struct {
	state      byte
	ppid       int
	utime      int64 // clock ticks, all threads
	stime      int64
	cutime     int64 // clock ticks of waited-for children
	cstime     int64
	startTicks int64
}

// readStat parses /proc/PID/stat. The command name (field 2) may hold spaces
// and parentheses, so fields are counted from the last ')'.
func readStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	return parseStat(b)
}

func parseStat(b []byte) (stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("proc: malformed stat")
	}
	// After ") ": state(3) ppid(4) pgrp session tty tpgid flags minflt
	// cminflt majflt cmajflt utime(14) stime(15) cutime cstime priority nice
	// threads itrealvalue starttime(22).
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return stat{}, fmt.Errorf("proc: malformed stat")
	}
	var st stat
	st.state = f[0][0]
	nums := []*int64{&st.utime, &st.stime, &st.cutime, &st.cstime, &st.startTicks}
	for k, idx := range []int{11, 12, 13, 14, 19} {
		n, err := strconv.ParseInt(f[idx], 10, 64)
		if err != nil {
			return stat{}, fmt.Errorf("proc: malformed stat: %w", err)
		}
		*nums[k] = n
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return stat{}, fmt.Errorf("proc: malformed stat: %w", err)
	}
	st.ppid = ppid
	return st, nil
}

// Descendants returns root and every live process below it, root first.
func Descendants(root int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return []int{root}
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil {
			children[st.ppid] = append(children[st.ppid], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out) && i < 10000; i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// RSS is the sum of VmRSS over pids, in KiB; processes that have gone away
// count zero.
func RSS(pids []int) int64 {
	var sum int64
	for _, pid := range pids {
		sum += statusField(pid, "VmRSS:")
	}
	return sum
}

// statusField reads a "Name:   123 kB" line of /proc/PID/status; 0 if absent.
func statusField(pid int, name string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// CPUTime is the CPU time (user + system, all threads) used so far by the
// live processes among pids.
func CPUTime(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		if st, err := readStat(pid); err == nil {
			ticks += st.utime + st.stime
		}
	}
	return ticksToDuration(ticks)
}

func ticksToDuration(t int64) time.Duration {
	return time.Duration(t) * (time.Second / userHZ)
}
