package workers

import (
	"testing"
	"time"
)

func TestQueue(t *testing.T) {
	var q queue[int]
	q.init(3)
	var at time.Time
	for i := range 3 {
		if !q.pushBack(i, at) {
			t.Fatalf("pushBack %d refused", i)
		}
	}
	if q.pushBack(3, at) {
		t.Error("pushBack past the limit accepted")
	}
	// Jobs taken back go to the front, past the limit, and keep their order.
	for i := 39; i >= 10; i-- {
		q.pushFront(i, at)
	}
	want := []int{}
	for i := 10; i < 40; i++ {
		want = append(want, i)
	}
	want = append(want, 0, 1, 2)
	if q.len() != len(want) {
		t.Fatalf("len %d, want %d", q.len(), len(want))
	}
	for _, w := range want {
		if j := q.popFront(); j != w {
			t.Fatalf("popped %d, want %d", j, w)
		}
	}
	if q.len() != 0 || !q.pushBack(5, at) || q.peek().job != 5 {
		t.Error("queue not reusable after draining")
	}
}
