package static

import "sync"

// cache holds entries by key, bounded in count and in bytes, evicting by
// CLOCK (second chance): a hit only sets the entry's ref bit, so lookups
// share a read lock and write nothing else; the hand clears ref bits as
// it sweeps and evicts the first entry found clear. This approximates LRU
// at the cost of an atomic load per hit.
//
// Entries are immutable once put, except ref (atomic) and slot (guarded
// by mu): a reader may keep using an entry that has since been replaced
// or evicted, and the garbage collector frees it after.
type cache struct {
	maxEntries int
	maxBytes   int64

	mu    sync.RWMutex
	m     map[string]*entry // guarded by mu
	ring  []*entry          // guarded by mu: every entry in m, in sweep order
	hand  int               // guarded by mu: the next slot to sweep
	bytes int64             // guarded by mu: the sum of the entries' cost
}

func newCache(maxEntries int, maxBytes int64) *cache {
	return &cache{maxEntries: maxEntries, maxBytes: maxBytes, m: make(map[string]*entry)}
}

// get returns the entry for key, or nil.
func (c *cache) get(key []byte) *entry {
	if c.maxEntries <= 0 {
		return nil
	}
	c.mu.RLock()
	e := c.m[string(key)]
	c.mu.RUnlock()
	if e != nil && !e.ref.Load() {
		e.ref.Store(true)
	}
	return e
}

// put adds e, replacing any entry with its key, then evicts until the
// bounds hold again. An entry larger than the byte bound is not kept.
func (c *cache) put(e *entry) {
	if c.maxEntries <= 0 || e.cost > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[e.key]; old != nil {
		e.slot = old.slot
		c.ring[e.slot] = e
		c.bytes -= old.cost
	} else {
		e.slot = len(c.ring)
		c.ring = append(c.ring, e)
	}
	c.m[e.key] = e
	c.bytes += e.cost
	for len(c.ring) > c.maxEntries || c.bytes > c.maxBytes {
		c.evictOne(e)
	}
}

// evictOne removes one entry other than keep, giving referenced ones a
// second chance. Called with mu held and at least two entries present
// (keep alone fits both bounds).
func (c *cache) evictOne(keep *entry) {
	for {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		e := c.ring[c.hand]
		if e != keep && !e.ref.Swap(false) {
			c.removeLocked(e)
			return
		}
		c.hand++
	}
}

// remove drops e if it is still the entry for its key.
func (c *cache) remove(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[e.key] == e {
		c.removeLocked(e)
	}
}

func (c *cache) removeLocked(e *entry) {
	last := len(c.ring) - 1
	moved := c.ring[last]
	c.ring[e.slot] = moved
	moved.slot = e.slot
	c.ring[last] = nil
	c.ring = c.ring[:last]
	delete(c.m, e.key)
	c.bytes -= e.cost
}

// stats reports the number of entries and their total cost.
func (c *cache) stats() (entries int, bytes int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.ring), c.bytes
}
