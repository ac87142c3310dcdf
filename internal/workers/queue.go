package workers

import "time"

// queued is a job waiting for a worker, and since when.
type queued[J any] struct {
	job J
	at  time.Time
}

// queue is a bounded FIFO of jobs; jobs taken back from a worker go to
// the front, past the bound, since they were accepted already.
type queue[J any] struct {
	buf   []queued[J] // ring
	head  int
	n     int
	limit int
}

func (q *queue[J]) init(limit int) {
	q.limit = limit
	q.buf = make([]queued[J], 16)
}

func (q *queue[J]) len() int { return q.n }

func (q *queue[J]) pushBack(j J, at time.Time) bool {
	if q.n >= q.limit {
		return false
	}
	q.grow()
	q.buf[(q.head+q.n)%len(q.buf)] = queued[J]{j, at}
	q.n++
	return true
}

func (q *queue[J]) pushFront(j J, at time.Time) {
	q.grow()
	q.head = (q.head - 1 + len(q.buf)) % len(q.buf)
	q.buf[q.head] = queued[J]{j, at}
	q.n++
}

// peek returns the oldest entry; the queue must not be empty.
func (q *queue[J]) peek() queued[J] { return q.buf[q.head] }

func (q *queue[J]) popFront() J {
	j := q.buf[q.head].job
	q.buf[q.head] = queued[J]{}
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return j
}

func (q *queue[J]) grow() {
	if q.n < len(q.buf) {
		return
	}
	buf := make([]queued[J], 2*len(q.buf))
	for i := range q.n {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}
