package live

import (
	"reflect"
	"slices"
)

// Set holds resources by key, each with the spec it was built from. A
// generation is built in a Tx: Use returns the running resource of a key
// when its spec is unchanged (reflect.DeepEqual), else builds a new one.
// Commit makes the Tx's resources the running ones and returns those no
// longer used, for the caller to retire in its own order; Abort returns
// the ones the Tx built, for the caller to close, and leaves the Set as it
// was. One Tx at a time; the caller serialises.
type Set[V any] struct {
	items map[string]*item[V]
}

type item[V any] struct {
	spec any
	v    V
}

// Tx is the next generation of a Set, being built.
type Tx[V any] struct {
	s     *Set[V]
	next  map[string]*item[V]
	built []V
}

// Begin starts the next generation.
func (s *Set[V]) Begin() *Tx[V] {
	return &Tx[V]{s: s, next: map[string]*item[V]{}}
}

// Running is the resource of key in the running generation.
func (s *Set[V]) Running(key string) (V, bool) { return lookup(s.items, key) }

// All lists the running resources by key.
func (s *Set[V]) All() map[string]V {
	out := make(map[string]V, len(s.items))
	for k, it := range s.items {
		out[k] = it.v
	}
	return out
}

// Use is the resource of key for spec: the running one when its spec is
// the same, the one this Tx already has for key, or a new one from build.
// reused tells which. A key used twice with two specs is the caller's
// error: the second spec wins and the first resource is lost to Abort and
// Commit, so Use panics instead.
func (t *Tx[V]) Use(key string, spec any, build func() (V, error)) (v V, reused bool, err error) {
	if it, ok := t.next[key]; ok {
		if !reflect.DeepEqual(it.spec, spec) {
			panic("live: key " + key + " used with two specs")
		}
		return it.v, true, nil
	}
	if it, ok := t.s.items[key]; ok && reflect.DeepEqual(it.spec, spec) {
		t.next[key] = it
		return it.v, true, nil
	}
	if v, err = build(); err != nil {
		return v, false, err
	}
	t.next[key] = &item[V]{spec: spec, v: v}
	t.built = append(t.built, v)
	return v, false, nil
}

// Get is the resource this Tx has for key, if Use gave it one.
func (t *Tx[V]) Get(key string) (V, bool) { return lookup(t.next, key) }

func lookup[V any](items map[string]*item[V], key string) (V, bool) {
	it, ok := items[key]
	if !ok {
		var zero V
		return zero, false
	}
	return it.v, true
}

// Commit installs the Tx's resources and returns the running ones it did
// not reuse.
func (t *Tx[V]) Commit() (retired []V) {
	kept := map[*item[V]]bool{}
	for _, it := range t.next {
		kept[it] = true
	}
	for _, k := range sortedKeys(t.s.items) {
		if it := t.s.items[k]; !kept[it] {
			retired = append(retired, it.v)
		}
	}
	t.s.items = t.next
	return retired
}

// Abort leaves the Set as it was and returns what the Tx built.
func (t *Tx[V]) Abort() (built []V) { return t.built }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
