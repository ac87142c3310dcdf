package workers

import (
	"fmt"
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

// TestQueueRemove: an entry taken from the middle of a wrapped ring leaves
// the others in order.
func TestQueueRemove(t *testing.T) {
	var q queue[int]
	q.init(100)
	var at time.Time
	for i := range 12 { // wrap the ring of 16: the head moves past the middle
		q.pushBack(i, at)
	}
	for range 10 {
		q.popFront()
	}
	for i := 12; i < 24; i++ {
		q.pushBack(i, at)
	}
	if q.remove(99) {
		t.Error("removed an entry that is not there")
	}
	if !q.remove(15) || !q.remove(10) || !q.remove(23) {
		t.Fatal("an entry there was not removed")
	}
	var got []int
	for q.len() > 0 {
		got = append(got, q.popFront())
	}
	want := []int{11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("left %v, want %v", got, want)
	}
}
