package static

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// fileID is what a file's metadata says about its identity and version.
// Two stats of an unchanged file give equal fileIDs; a write, truncate,
// rename-over or chmod changes at least ctime (which no user can set).
// For an fs.FS, only size, mtime and the type are known.
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    int64 // ns since the epoch; 0 when unknown
	ctime    int64 // ns since the epoch; 0 when unknown
	kind     fileKind
}

type fileKind uint8

const (
	kindOther fileKind = iota // device, FIFO, socket: never served
	kindFile
	kindDir
)

// source is where files come from: a folder through os.Root (dirSource),
// or an fs.FS such as the embedded demo site (fsSource). Names are clean,
// slash-separated and relative ("." is the top).
type source interface {
	// stat reports the identity of the file at name, following symlinks
	// as far as the source allows.
	stat(name string) (fileID, error)
	// open opens name for reading and reports its identity.
	open(name string) (fs.File, fileID, error)
	readDir(name string) ([]fs.DirEntry, error)
	close() error
}

// dirSource serves a folder through an os.Root, which refuses any path
// (including through symlinks) that leaves it. With follow set, names are
// opened as plain paths under the folder instead, so that symlinks may
// point anywhere; names are still clean (no "..").
type dirSource struct {
	root   *os.Root
	dir    string   // the folder's absolute path
	top    *os.File // the folder itself, kept open for fd
	fd     int      // top's descriptor: fstatat's dirfd
	follow bool
}

func openDirSource(dir string, follow bool) (*dirSource, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, err
	}
	top, err := root.Open(".")
	if err != nil {
		root.Close()
		return nil, err
	}
	return &dirSource{root: root, dir: abs, top: top, fd: int(top.Fd()), follow: follow}, nil
}

// stat is the authoritative stat, through os.Root unless symlinks may
// lead out. (statAt, which follows any symlink, is for revalidating what
// this and open have already let through.)
func (s *dirSource) stat(name string) (fileID, error) {
	var info fs.FileInfo
	var err error
	if s.follow {
		info, err = os.Stat(filepath.Join(s.dir, filepath.FromSlash(name)))
	} else {
		info, err = s.root.Stat(name)
	}
	if err != nil {
		return fileID{}, err
	}
	return idOf(info), nil
}

func (s *dirSource) open(name string) (fs.File, fileID, error) {
	var f *os.File
	var err error
	if s.follow {
		f, err = os.OpenFile(filepath.Join(s.dir, filepath.FromSlash(name)), os.O_RDONLY|openFlags, 0)
	} else {
		f, err = s.root.OpenFile(name, os.O_RDONLY|openFlags, 0)
	}
	if err != nil {
		return nil, fileID{}, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fileID{}, err
	}
	return f, idOf(info), nil
}

func (s *dirSource) readDir(name string) ([]fs.DirEntry, error) {
	f, _, err := s.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.(*os.File).ReadDir(-1)
}

func (s *dirSource) close() error {
	return errors.Join(s.top.Close(), s.root.Close())
}

// fsSource serves an fs.FS. Its files are re-stated through fs.Stat,
// which allocates; the demo site is small and embedded.
type fsSource struct{ fsys fs.FS }

func (s fsSource) stat(name string) (fileID, error) {
	info, err := fs.Stat(s.fsys, name)
	if err != nil {
		return fileID{}, err
	}
	return idOf(info), nil
}

func (s fsSource) open(name string) (fs.File, fileID, error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil, fileID{}, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fileID{}, err
	}
	return f, idOf(info), nil
}

func (s fsSource) readDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(s.fsys, name) }

func (s fsSource) close() error { return nil }

// idOf builds a fileID from a FileInfo, with inode and ctime where the
// platform gives them (sysID).
func idOf(info fs.FileInfo) fileID {
	id := fileID{size: info.Size(), kind: kindOther}
	switch {
	case info.Mode().IsRegular():
		id.kind = kindFile
	case info.IsDir():
		id.kind = kindDir
	}
	if t := info.ModTime(); !t.IsZero() {
		id.mtime = t.UnixNano()
	}
	sysID(info, &id)
	return id
}

// readAll reads exactly size bytes from f, and fails with errChanged if
// f holds fewer or more: the file changed since it was stat'ed.
func readAll(f io.Reader, size int64) ([]byte, error) {
	b := make([]byte, size+1)
	n, err := io.ReadFull(f, b)
	switch {
	case err == io.ErrUnexpectedEOF && int64(n) == size, err == io.EOF && size == 0:
		return b[:n:n], nil
	case err == nil || err == io.ErrUnexpectedEOF || err == io.EOF:
		return nil, errChanged
	}
	return nil, err
}

var errChanged = errors.New("static: file changed while it was read")

// statusOf maps a file-system error to the status a client gets: 403 for
// permission, 500 for trouble on the server's side (logged by the
// caller), and 404 for everything else, including a symlink that leads
// out of the root, so that nothing outside the root can be probed.
func statusOf(err error) int {
	var errno syscall.Errno
	switch {
	case errors.Is(err, fs.ErrPermission):
		return 403
	case errors.As(err, &errno) && (errno == syscall.EIO || errno == syscall.EMFILE ||
		errno == syscall.ENFILE || errno == syscall.ENOMEM):
		return 500
	}
	return 404
}

// racy reports whether a file stat'ed at fill time may still change
// without its fileID showing it: file systems stamp times with a coarse
// clock (a jiffy on Linux, whole seconds on some, two on FAT), so a write
// in the same tick as the read leaves mtime and ctime alone. Content read
// within window of the file's last change is therefore used once and not
// cached. ctime is the better witness (utimes cannot set it); an fs.FS
// has only mtime, and an embed.FS not even that (it never changes).
func racy(id fileID, at time.Time, window time.Duration) bool {
	t := id.ctime
	if t == 0 {
		t = id.mtime
	}
	if t == 0 {
		return false
	}
	d := at.UnixNano() - t
	return d < int64(window) && d > -int64(window)
}
