package wsgi

import "testing"

func TestCallQueue(t *testing.T) {
	var q callQueue
	q.init(3)
	calls := make([]*call, 40)
	for i := range calls {
		calls[i] = &call{id: uint32(i)}
	}
	for i := range 3 {
		if !q.pushBack(calls[i]) {
			t.Fatalf("pushBack %d refused", i)
		}
	}
	if q.pushBack(calls[3]) {
		t.Error("pushBack past the limit accepted")
	}
	// Requeued calls go to the front, past the limit, and keep their order.
	for i := 39; i >= 10; i-- {
		q.pushFront(calls[i])
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
		if c := q.popFront(); c.id != uint32(w) {
			t.Fatalf("popped %d, want %d", c.id, w)
		}
	}
	if q.len() != 0 || !q.pushBack(calls[5]) || q.peek() != calls[5] {
		t.Error("queue not reusable after draining")
	}
}
