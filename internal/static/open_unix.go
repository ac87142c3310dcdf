//go:build unix

package static

import "syscall"

// openFlags are added to O_RDONLY when opening a file to serve:
// O_NONBLOCK, so that a FIFO in the root cannot block the request (it is
// then refused as not a regular file).
const openFlags = syscall.O_NONBLOCK
