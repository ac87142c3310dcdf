//go:build linux && (amd64 || arm64)

package static

import (
	"io/fs"
	"syscall"
	"unsafe"
)

// statAt stats name (clean, relative) in s's folder with one fstatat(2),
// following symlinks, and allocates nothing: syscall.Fstatat would
// allocate the C string on every call. It is the per-request
// revalidation of a cached file and the first look at a missing one;
// BenchmarkCachedSmallFile and BenchmarkNotFound hold it to 0 allocs/op.
//
// Following symlinks is safe here even without --follow-symlinks: a
// cached file's bytes were read through os.Root, and a match only says
// that the same inode, unchanged, is still there. A mismatch or a
// directory sends the request down the slow path, through os.Root.
// The error is a syscall.Errno, whose small values convert to error
// without allocating.
func statAt[T string | []byte](s *dirSource, name T, id *fileID) error {
	var buf [pathBufSize + 1]byte
	p := buf[:]
	if len(name) >= len(buf) {
		p = make([]byte, len(name)+1)
	}
	p = p[:copy(p, name)+1]
	p[len(p)-1] = 0 // cleanPath refuses NUL, so name holds none
	var st syscall.Stat_t
	for {
		_, _, e := syscall.Syscall6(sysFstatat, uintptr(s.fd), uintptr(unsafe.Pointer(&p[0])),
			uintptr(unsafe.Pointer(&st)), 0, 0, 0)
		switch e {
		case 0:
			fillID(&st, id)
			return nil
		case syscall.EINTR:
			continue
		}
		return e
	}
}

func fillID(st *syscall.Stat_t, id *fileID) {
	id.dev, id.ino, id.size = uint64(st.Dev), uint64(st.Ino), st.Size
	id.mtime = st.Mtim.Sec*1e9 + st.Mtim.Nsec
	id.ctime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		id.kind = kindFile
	case syscall.S_IFDIR:
		id.kind = kindDir
	default:
		id.kind = kindOther
	}
}

// sysID completes a fileID from the platform's stat record.
func sysID(info fs.FileInfo, id *fileID) {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		fillID(st, id)
	}
}
