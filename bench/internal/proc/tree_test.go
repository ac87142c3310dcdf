package proc

import (
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	// A command name with a space and a ')' in it, as a process may choose.
	raw := "4242 (we ird) name) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 12345 1000000 200 18446744073709551615\n"
	got, err := parseStat([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := stat{state: 'S', ppid: 17, utime: 250, stime: 75, cutime: 0, cstime: 0, startTicks: 12345}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := parseStat([]byte("4242 (x S 1")); err == nil {
		t.Error("malformed stat: got no error")
	}
}

func TestSelf(t *testing.T) {
	me := os.Getpid()
	if st, err := readStat(me); err != nil || st.ppid != os.Getppid() {
		t.Errorf("readStat(self) = %+v, %v; want ppid %d", st, err, os.Getppid())
	}
	if RSS([]int{me}) <= 0 {
		t.Error("RSS(self) is not positive")
	}
}
