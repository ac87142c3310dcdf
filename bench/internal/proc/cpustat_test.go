package proc

import "testing"

func TestBusySince(t *testing.T) {
	for _, c := range []struct {
		before, after CPUStat
		want          float64
	}{
		{CPUStat{Busy: 100, Total: 200}, CPUStat{Busy: 175, Total: 300}, 0.75},
		{CPUStat{Busy: 100, Total: 200}, CPUStat{Busy: 100, Total: 200}, 0}, // no time passed
		{CPUStat{}, CPUStat{}, 0}, // nothing read
	} {
		if got := c.after.BusySince(c.before); got != c.want {
			t.Errorf("%+v since %+v: %v, want %v", c.after, c.before, got, c.want)
		}
	}
}

// This machine's CPU 0 has run: its line is read, and busy is part of
// total.
func TestReadCPUStat(t *testing.T) {
	s := ReadCPUStat(0)
	if s.Total <= 0 || s.Busy <= 0 || s.Busy > s.Total {
		t.Errorf("cpu0: %+v, want 0 < busy <= total", s)
	}
	if s := ReadCPUStat(1 << 20); s != (CPUStat{}) {
		t.Errorf("a CPU that does not exist: %+v, want zero", s)
	}
}
