package certs

import (
	"context"
	"os"
	"time"
)

// DefaultWatchInterval is Watch's poll interval when given none: renewed
// certificates are picked up within seconds, for a handful of stats.
const DefaultWatchInterval = 10 * time.Second

// stamp is a file's identity as Watch sees it: size, modification time and
// inode (through os.SameFile), so an in-place write and an atomic rename
// over the file are both noticed. fi is nil when the file could not be
// stat'ed.
type stamp struct{ fi os.FileInfo }

func (a stamp) same(b stamp) bool {
	if a.fi == nil || b.fi == nil {
		return a.fi == nil && b.fi == nil
	}
	return a.fi.Size() == b.fi.Size() && a.fi.ModTime().Equal(b.fi.ModTime()) && os.SameFile(a.fi, b.fi)
}

func statAll(paths []string) map[string]stamp {
	m := make(map[string]stamp, len(paths))
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			fi = nil
		}
		m[p] = stamp{fi}
	}
	return m
}

// watched lists every file Reload reads. Guarded by mu.
func (s *Store) watched() []string {
	files := pairFiles(s.pairs)
	for _, t := range s.tickets {
		files = append(files, t.file)
	}
	return files
}

// Watch polls the files Reload reads every interval and reloads when any
// of them changed, until ctx ends. A poll is one stat per file. A failed
// reload is logged by Reload; it is retried when a file changes again, so a
// certificate and key replaced one after the other load on the second poll.
// An interval <= 0 means DefaultWatchInterval.
func (s *Store) Watch(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.checkOnce()
		}
	}
}

// checkOnce is one poll of Watch: it reloads when a watched file changed
// since the last load or poll, and reports whether it tried and how that
// went.
func (s *Store) checkOnce() (reloaded bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := statAll(s.watched())
	changed := false
	for p, st := range now {
		if old, ok := s.stamps[p]; !ok || !old.same(st) {
			changed = true
		}
	}
	if !changed {
		return false, nil
	}
	return true, s.reloadLocked()
}
