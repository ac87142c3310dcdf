package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// site is the document root the static clients fetch from, with every
// file's bytes for checking answers.
type site struct {
	dir   string
	small []string          // URL paths of the small files
	large string            // URL path of the 1 MiB file
	files map[string][]byte // by URL path
}

const (
	smallFiles = 32
	largeSize  = 1 << 20
)

// newSite writes the document root into a new folder under parent.
func newSite(parent string) (*site, error) {
	s := &site{dir: filepath.Join(parent, "site"), files: make(map[string][]byte)}
	if err := os.Mkdir(s.dir, 0o755); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(10, 60))
	add := func(path string, size int) error {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(' ' + rng.IntN(95))
		}
		name := filepath.Join(s.dir, filepath.FromSlash(path[1:]))
		if err := os.WriteFile(name, b, 0o644); err != nil {
			return err
		}
		// Files as old as a deployed site's: nave does not cache a file
		// changed in the last seconds.
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(name, old, old); err != nil {
			return err
		}
		s.files[path] = b
		return nil
	}
	if err := add("/index.html", 2<<10); err != nil {
		return nil, err
	}
	for i := range smallFiles {
		path := fmt.Sprintf("/small-%02d.txt", i)
		if err := add(path, 100+rng.IntN(16<<10)); err != nil {
			return nil, err
		}
		s.small = append(s.small, path)
	}
	s.large = "/large.bin"
	if err := add(s.large, largeSize); err != nil {
		return nil, err
	}
	return s, nil
}

// wsgiApp is the WSGI application the wsgi clients call: it answers
// "METHOD PATH LENGTH" for the body it read.
const wsgiApp = `def application(environ, start_response):
    n = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(n) if n else b""
    out = ("%s %s %d\n" % (environ["REQUEST_METHOD"], environ["PATH_INFO"], len(body))).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]
`

// writeWSGIApp writes the app as soakapp.py into a new folder under parent
// and returns the folder.
func writeWSGIApp(parent string) (string, error) {
	dir := filepath.Join(parent, "wsgi")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "soakapp.py"), []byte(wsgiApp), 0o644)
}
