package wsgi

// callQueue is a bounded FIFO of calls; requeued calls may go past the
// bound at the front, since they were accepted already.
type callQueue struct {
	buf   []*call // ring
	head  int
	n     int
	limit int
}

func (q *callQueue) init(limit int) {
	q.limit = limit
	q.buf = make([]*call, 16)
}

func (q *callQueue) len() int { return q.n }

func (q *callQueue) pushBack(c *call) bool {
	if q.n >= q.limit {
		return false
	}
	q.grow()
	q.buf[(q.head+q.n)%len(q.buf)] = c
	q.n++
	return true
}

func (q *callQueue) pushFront(c *call) {
	q.grow()
	q.head = (q.head - 1 + len(q.buf)) % len(q.buf)
	q.buf[q.head] = c
	q.n++
}

func (q *callQueue) peek() *call { return q.buf[q.head] }

func (q *callQueue) popFront() *call {
	c := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return c
}

func (q *callQueue) grow() {
	if q.n < len(q.buf) {
		return
	}
	buf := make([]*call, 2*len(q.buf))
	for i := range q.n {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}
