package wsgi

// Dispatch: requests wait in the pool's queue; idle workers take them
// in batches, and replies are matched to the calls they answer.

import "time"

// submit queues c for a worker. The pool holds a reference to c until its
// reply is complete or it fails.
func (p *Pool) submit(c *call) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping || !p.started {
		return ErrStopped
	}
	c.queued = time.Now()
	if p.queue.len() == 0 {
		if w := p.idleWorker(); w != nil {
			c.retain()
			p.assign(w, c)
			w.signalWriter()
			return nil
		}
	}
	if !p.queue.pushBack(c) {
		return ErrBacklogFull
	}
	c.retain()
	return nil
}

func (p *Pool) idleWorker() *worker {
	for i := range p.slots {
		if w := p.slots[i].w; w != nil && w.state == stateActive && len(w.batch) == 0 {
			return w
		}
	}
	return nil
}

// assign adds c to w's batch. mu held.
func (p *Pool) assign(w *worker, c *call) {
	w.nextID++
	if w.nextID == 0 { // 0 is "no request" in the progress page
		w.nextID++
	}
	c.id = w.nextID
	c.mu.Lock()
	c.owner = w
	c.mu.Unlock()
	if len(w.batch) == 0 {
		w.progID, w.progAt = c.id, time.Now()
	}
	w.batch = append(w.batch, c)
}

// feed gives an idle worker its share of the queue. mu held.
func (p *Pool) feed(w *worker) {
	q := p.queue.len()
	if q == 0 || w.state != stateActive || len(w.batch) > 0 {
		return
	}
	active := 0
	for i := range p.slots {
		if p.slots[i].w != nil {
			active++
		}
	}
	n := min(maxBatch, (q+active-1)/max(active, 1))
	bytes := 0
	for i := 0; i < n && p.queue.len() > 0; i++ {
		c := p.queue.peek()
		size := len(c.env) + len(c.body)
		if i > 0 && bytes+size > maxBatchBytes {
			break
		}
		bytes += size
		p.assign(w, p.queue.popFront())
	}
	w.signalWriter()
}

// feedIdle feeds every idle worker. mu held.
func (p *Pool) feedIdle() {
	for i := range p.slots {
		if p.queue.len() == 0 {
			return
		}
		if w := p.slots[i].w; w != nil {
			p.feed(w)
		}
	}
}

// takeWrites hands the writer what it must send: the calls not yet sent
// (retained for it), cancellations, and whether to shut the socket.
func (p *Pool) takeWrites(w *worker, calls []*call, ids, cancels []uint32) ([]*call, []uint32, []uint32, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.state == stateDead || w.state == stateStuck {
		return calls, ids, cancels, false
	}
	for _, c := range w.batch[w.sent:] {
		c.retain()
		calls = append(calls, c)
		// The id is read here, under mu: once w dies, c may be assigned
		// to another worker, with a new id, while this write is encoded.
		ids = append(ids, c.id)
	}
	w.sent = len(w.batch)
	cancels = append(cancels, w.cancels...)
	w.cancels = w.cancels[:0]
	shut := w.shut && len(w.batch) == 0
	if shut {
		w.shut = false
	}
	return calls, ids, cancels, shut
}

// current returns, retained, the call a frame with this id answers: the
// oldest unanswered one of w's batch. It returns nil when the pool no
// longer listens to w, and an error when the id is not the expected one.
func (p *Pool) current(w *worker, id uint32) (*call, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.state == stateStuck || w.state == stateDead {
		return nil, nil
	}
	if w.done >= w.sent {
		return nil, protocolErrorf("a reply for request %d, none outstanding", id)
	}
	c := w.batch[w.done]
	if c.id != id {
		return nil, protocolErrorf("a reply for request %d, want %d", id, c.id)
	}
	c.retain()
	return c, nil
}

// completed records that w answered c, the head of its batch; at the end
// of the batch w takes the next one.
func (p *Pool) completed(w *worker, c *call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.state == stateStuck || w.state == stateDead || w.done >= len(w.batch) || w.batch[w.done] != c {
		return
	}
	w.batch[w.done] = nil
	w.done++
	w.served++
	c.release()
	p.slots[w.slot].failures = 0
	if w.done < len(w.batch) {
		return
	}
	w.batch, w.sent, w.done = w.batch[:0], 0, 0
	if w.limit > 0 && w.served >= w.limit && !w.recycling && w.state == stateActive {
		w.recycling = true
		p.log.Info("recycling worker", "worker", w.id, "served", w.served)
		p.startSlot(w.slot)
	}
	switch {
	case w.state == stateRetiring:
		p.shut(w)
	case p.queue.len() > 0:
		p.feed(w)
	case p.stopping:
		p.retire(w)
	}
}

// cancel tells the worker running c that its client is gone.
func (p *Pool) cancel(c *call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c.mu.Lock()
	w := c.owner
	c.mu.Unlock()
	if w == nil || w.state == stateDead || w.state == stateStuck {
		return
	}
	w.cancels = append(w.cancels, c.id)
	w.signalWriter()
}
