//go:build !unix

package static

// openFlags are added to O_RDONLY when opening a file to serve.
const openFlags = 0
