//go:build !(linux && (amd64 || arm64))

package static

import "io/fs"

// statAt stats name in s's folder, following symlinks. This portable
// version allocates; Linux on amd64 and arm64 has one that does not.
func statAt[T string | []byte](s *dirSource, name T, id *fileID) error {
	v, err := s.stat(string(name))
	*id = v
	return err
}

// sysID completes a fileID from the platform's stat record: nothing
// beyond size, mtime and type is used here.
func sysID(fs.FileInfo, *fileID) {}
