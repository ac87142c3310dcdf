package workers

import "time"

// queued is a job waiting for a worker, and since when; told is set
// once a Waiter job heard it waited long.
type queued[J any] struct {
	job  J
	at   time.Time
	told bool
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
	q.buf[(q.head+q.n)%len(q.buf)] = queued[J]{job: j, at: at}
	q.n++
	return true
}

func (q *queue[J]) pushFront(j J, at time.Time) {
	q.grow()
	q.head = (q.head - 1 + len(q.buf)) % len(q.buf)
	q.buf[q.head] = queued[J]{job: j, at: at}
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

// waitedLong appends to out the Waiter jobs queued before since that
// have not heard it yet, and marks them told.
func (q *queue[J]) waitedLong(since time.Time, out []Waiter) []Waiter {
	for i := range q.n {
		e := &q.buf[(q.head+i)%len(q.buf)]
		if !e.at.Before(since) {
			break // in arrival order (jobs taken back go first, older still)
		}
		if w, ok := any(e.job).(Waiter); ok && !e.told {
			e.told = true
			out = append(out, w)
		}
	}
	return out
}

// remove takes j out of the queue, the later entries moving up; it
// reports whether j was there.
func (q *queue[J]) remove(j J) bool {
	for i := range q.n {
		if any(q.buf[(q.head+i)%len(q.buf)].job) != any(j) {
			continue
		}
		for k := i; k < q.n-1; k++ {
			q.buf[(q.head+k)%len(q.buf)] = q.buf[(q.head+k+1)%len(q.buf)]
		}
		q.buf[(q.head+q.n-1)%len(q.buf)] = queued[J]{}
		q.n--
		return true
	}
	return false
}
