package acme

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Several nave instances may share one storage folder (an NFS or other
// network folder every machine of a fleet mounts) so that a fleet obtains
// each certificate once. They take turns through exclusive flock(2) locks
// on files in the folder:
//
//	<dir>/locks/account.lock      around making the account key
//	<dir>/locks/certs/<name>.lock around an order for name
//
// The holder of a name's lock first reads the folder again: a certificate
// that a peer stored and that is not yet due is taken as it is, with no
// order. So a fleet that starts together, or reaches a renewal together,
// sends one order per name; the others wait for the lock and then serve
// what the winner stored. The lock file holds the holder's process id, for
// operators. flock locks are released by the kernel when their holder dies,
// so a killed instance never leaves a name locked.

// lockPoll is how often a waiting instance tries a held lock again.
const lockPoll = 100 * time.Millisecond

func (s store) accountLockPath() string { return filepath.Join(s.dir, "locks", "account.lock") }
func (s store) nameLockPath(name string) string {
	return filepath.Join(s.dir, "locks", "certs", name+".lock")
}

// lockFile takes an exclusive lock on path, waiting while another holds
// it, until ctx ends. The returned func releases it.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), dirPerm); err != nil {
		return nil, fmt.Errorf("acme: make lock folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, filePerm)
	if err != nil {
		return nil, fmt.Errorf("acme: open lock: %w", err)
	}
	for {
		err := tryLock(f)
		if err == nil {
			break
		}
		if !errors.Is(err, errLocked) {
			f.Close()
			return nil, fmt.Errorf("acme: lock %s: %w", path, err)
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("acme: wait for lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
	// Best effort: the holder's id is for people and tests, not for
	// the locking, which the kernel does.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		f.Truncate(0)
		unlockFile(f)
		f.Close()
	}, nil
}

// errLocked is tryLock's answer when another holds the lock.
var errLocked = errors.New("acme: lock held")
