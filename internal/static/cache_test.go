package static

import (
	"strconv"
	"testing"
)

func testEntry(key string, cost int64) *entry { return &entry{key: key, cost: cost} }

// TestCacheBounds: the cache never holds more entries or bytes than its
// bounds, whatever is put.
func TestCacheBounds(t *testing.T) {
	c := newCache(10, 1000)
	for i := range 1000 {
		c.put(testEntry(strconv.Itoa(i), int64(50+i%200)))
		if n, b := c.stats(); n > 10 || b > 1000 {
			t.Fatalf("after %d puts: %d entries, %d bytes", i+1, n, b)
		}
	}
	// The map and the ring agree.
	if len(c.m) != len(c.ring) {
		t.Fatalf("map %d, ring %d", len(c.m), len(c.ring))
	}
	for i, e := range c.ring {
		if e.slot != i || c.m[e.key] != e {
			t.Fatalf("ring slot %d holds %q with slot %d", i, e.key, e.slot)
		}
	}
}

// TestCacheSecondChance: an entry that is hit survives a sweep that
// evicts one that is not.
func TestCacheSecondChance(t *testing.T) {
	c := newCache(3, 1<<20)
	for _, k := range []string{"a", "b", "c"} {
		c.put(testEntry(k, 1))
	}
	c.get([]byte("a"))
	c.get([]byte("c"))
	c.put(testEntry("d", 1)) // evicts b, the only one not referenced
	if c.get([]byte("b")) != nil {
		t.Error("b survived; want it evicted")
	}
	for _, k := range []string{"a", "c", "d"} {
		if c.get([]byte(k)) == nil {
			t.Errorf("%s evicted", k)
		}
	}
}

func TestCacheReplaceAndRemove(t *testing.T) {
	c := newCache(10, 1000)
	old := testEntry("k", 100)
	c.put(old)
	c.put(testEntry("k", 300))
	if n, b := c.stats(); n != 1 || b != 300 {
		t.Errorf("after replace: %d entries, %d bytes; want 1, 300", n, b)
	}
	c.remove(old) // stale: not the current entry, so nothing happens
	if c.get([]byte("k")) == nil {
		t.Error("remove of a replaced entry dropped the new one")
	}
	c.remove(c.get([]byte("k")))
	if n, b := c.stats(); n != 0 || b != 0 {
		t.Errorf("after remove: %d entries, %d bytes", n, b)
	}
	c.put(testEntry("huge", 2000)) // over the byte bound: not kept
	if c.get([]byte("huge")) != nil {
		t.Error("an entry over the byte bound was kept")
	}
}

func TestCacheOff(t *testing.T) {
	c := newCache(0, 0)
	c.put(testEntry("k", 1))
	if c.get([]byte("k")) != nil {
		t.Error("a cache with no entries allowed kept one")
	}
}
