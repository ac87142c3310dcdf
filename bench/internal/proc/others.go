package proc

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Snapshot is the CPU time every user-space process had used at one moment,
// children it has waited for included. Comparing two tells how much CPU
// other processes took while a benchmark ran: a figure measured next to a
// busy neighbour is not a figure.
type Snapshot struct {
	At    time.Time
	ticks map[int]procTicks
}

type procTicks struct {
	start int64 // start time: tells a reused pid from the original
	used  int64 // utime + stime + cutime + cstime
}

// TakeSnapshot reads /proc. Kernel threads are left out: under load they
// are mostly the benchmark's own network work (ksoftirqd).
func TakeSnapshot() Snapshot {
	s := Snapshot{At: time.Now(), ticks: map[int]procTicks{}}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return s
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == 2 {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.ppid == 2 {
			continue
		}
		s.ticks[pid] = procTicks{start: st.startTicks, used: st.utime + st.stime + st.cutime + st.cstime}
	}
	return s
}

// OthersSince is the CPU time used between before and s by the processes
// not in skip, in CPUs (1 is one core busy all the time). A process that
// exited in between is counted in its parent once it is waited for.
func (s Snapshot) OthersSince(before Snapshot, skip map[int]bool) float64 {
	wall := s.At.Sub(before.At).Seconds()
	if wall <= 0 {
		return 0
	}
	// A parent that waits for a long-running child gains all the child's
	// time at once; no process can have used more than every CPU all along.
	cpus := onlineCPUs()
	limit := int64(wall*userHZ+1) * int64(cpus)
	var used int64
	for pid, t := range s.ticks {
		if skip[pid] {
			continue
		}
		d := t.used
		if b, ok := before.ticks[pid]; ok && b.start == t.start {
			d -= b.used
		}
		used += min(d, limit)
	}
	return min(ticksToDuration(used).Seconds()/wall, float64(cpus))
}

// onlineCPUs counts the machine's CPUs from /proc/stat; runtime.NumCPU
// would count only those this process may run on.
func onlineCPUs() int {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return runtime.NumCPU()
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if len(line) > 3 && strings.HasPrefix(line, "cpu") && line[3] >= '0' && line[3] <= '9' {
			n++
		}
	}
	return max(n, 1)
}

// CPUStat is one CPU's time from /proc/stat, in ticks: busy (every state
// but idle and iowait) and total.
type CPUStat struct{ Busy, Total int64 }

// ReadCPUStat reads cpu's line of /proc/stat; the zero CPUStat if it
// cannot.
func ReadCPUStat(cpu int) CPUStat {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CPUStat{}
	}
	prefix := "cpu" + strconv.Itoa(cpu) + " "
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		var s CPUStat
		for i, f := range strings.Fields(line)[1:] {
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return CPUStat{}
			}
			s.Total += n
			if i != 3 && i != 4 { // idle, iowait
				s.Busy += n
			}
		}
		return s
	}
	return CPUStat{}
}

// BusySince is the fraction of the time between before and s that the
// CPU was busy, 0 to 1 (0 when nothing was read).
func (s CPUStat) BusySince(before CPUStat) float64 {
	total := s.Total - before.Total
	if total <= 0 {
		return 0
	}
	return min(max(float64(s.Busy-before.Busy)/float64(total), 0), 1)
}
