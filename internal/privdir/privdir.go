// Package privdir makes and checks folders that must be this user's
// alone: what nave keeps in them (the admin socket, the ASGI adapter's
// native module) would be another user's way in.
package privdir

import (
	"fmt"
	"os"
	"syscall"
)

// Make makes dir (and its parents) with mode 0700 if it is missing, and
// checks that it is a folder of this user's whose mode has none of the
// bits in others (0o077: nothing for anyone else; 0o022: no one else
// writes): a folder another user made beforehand, in /tmp say, is refused.
func Make(dir string, others os.FileMode) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot make %s: %v", dir, err)
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	switch {
	case !info.IsDir():
		return fmt.Errorf("%s is not a folder", dir)
	case ok && int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%s belongs to another user (uid %d)", dir, st.Uid)
	case info.Mode().Perm()&others != 0:
		return fmt.Errorf("%s is open to other users (mode %v)", dir, info.Mode().Perm())
	}
	return nil
}
