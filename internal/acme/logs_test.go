package acme_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
)

// logs records a Manager's log for the test to wait on.
type logs struct {
	mu      sync.Mutex
	records []slog.Record // guarded by mu
	changed chan struct{} // closed and replaced on each record; guarded by mu
}

func newLogs() *logs { return &logs{changed: make(chan struct{})} }

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logs) WithGroup(string) slog.Handler            { return l }

func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	close(l.changed)
	l.changed = make(chan struct{})
	return nil
}

// wait returns the n-th record (from 1) with message msg, waiting for it
// until ctx ends.
func (l *logs) wait(ctx context.Context, t *testing.T, msg string, n int) slog.Record {
	t.Helper()
	seen := 0
	return l.waitFor(ctx, t, fmt.Sprintf("record %d of %q", n, msg), func(r slog.Record) bool {
		if r.Message == msg {
			seen++
		}
		return seen == n
	})
}

// waitFor returns the first record match accepts, waiting for it until ctx
// ends. match sees each record once, in order.
func (l *logs) waitFor(ctx context.Context, t *testing.T, what string, match func(slog.Record) bool) slog.Record {
	t.Helper()
	next := 0
	for {
		l.mu.Lock()
		for ; next < len(l.records); next++ {
			if r := l.records[next]; match(r) {
				l.mu.Unlock()
				return r
			}
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("no %s: %v\n%s", what, ctx.Err(), l)
		}
	}
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b bytes.Buffer
	h := slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})
	for _, r := range l.records {
		h.Handle(context.Background(), r)
	}
	return b.String()
}

// attr returns the value of a record's attribute key.
func attr(r slog.Record, key string) slog.Value {
	var v slog.Value
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value
			return false
		}
		return true
	})
	return v
}
