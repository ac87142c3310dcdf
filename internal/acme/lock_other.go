//go:build !unix

package acme

import "os"

// Without flock(2) a folder is not shared safely: each instance orders
// for itself, as when every instance has its own folder.
func tryLock(*os.File) error { return nil }
func unlockFile(*os.File)    {}
