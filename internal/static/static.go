// Package static is a Handler that serves files from a folder or an
// fs.FS: "/" and directories give their index.html, a directory without
// its trailing slash redirects to it, a missing file gives 404.
//
// Paths are percent-decoded once and cleaned; anything that would leave
// the root is refused (the fs.FS, such as an os.Root's, refuses too).
// It imports internal/http1 and the standard library only.
package static

import (
	"errors"
	"io"
	"io/fs"
	"mime"
	"path"
	"strconv"
	"strings"

	"nave/internal/http1"
)

// Handler serves the files of an fs.FS.
type Handler struct {
	fsys fs.FS
}

// New returns a Handler serving fsys.
func New(fsys fs.FS) *Handler { return &Handler{fsys: fsys} }

// Serve answers GET, HEAD and OPTIONS.
func (h *Handler) Serve(w *http1.ResponseWriter, r *http1.Request) {
	switch string(r.Method) {
	case "GET", "HEAD":
	case "OPTIONS":
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		w.WriteHeader(204)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		errorPage(w, 405)
		return
	}
	name, ok := cleanPath(r.Path)
	if !ok {
		errorPage(w, 404)
		return
	}
	f, err := h.fsys.Open(name)
	if err != nil {
		errorPage(w, statusFor(err))
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		errorPage(w, statusFor(err))
		return
	}
	if info.IsDir() {
		h.serveDir(w, r, name)
		return
	}
	serveFile(w, f, info, name)
}

func (h *Handler) serveDir(w *http1.ResponseWriter, r *http1.Request, name string) {
	if p := r.Path; len(p) == 0 || p[len(p)-1] != '/' {
		loc := string(r.Path) + "/"
		if r.Query != nil {
			loc += "?" + string(r.Query)
		}
		w.Header().Set("Location", loc)
		errorPage(w, 301)
		return
	}
	index := path.Join(name, "index.html")
	f, err := h.fsys.Open(index)
	if err != nil {
		errorPage(w, statusFor(err))
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || info.IsDir() {
		errorPage(w, 404)
		return
	}
	serveFile(w, f, info, index)
}

func serveFile(w *http1.ResponseWriter, f fs.File, info fs.FileInfo, name string) {
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	var num [20]byte
	h.SetBytes("Content-Length", strconv.AppendInt(num[:0], info.Size(), 10))
	w.WriteHeader(200)
	w.ReadFrom(f)
}

// cleanPath turns a raw request path into an fs.FS name, or reports that
// no file can match it: bad escapes, NUL, backslashes.
func cleanPath(raw []byte) (string, bool) {
	p, ok := unescape(raw)
	if !ok || strings.ContainsAny(p, "\x00\\") || !strings.HasPrefix(p, "/") {
		return "", false
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	if name == "" {
		name = "."
	}
	return name, fs.ValidPath(name)
}

// unescape percent-decodes s once (RFC 3986 §2.1).
func unescape(s []byte) (string, bool) {
	if !strings.Contains(string(s), "%") {
		return string(s), true
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			out = append(out, s[i])
			continue
		}
		if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
			return "", false
		}
		out = append(out, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
		i += 2
	}
	return string(out), true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func statusFor(err error) int {
	if errors.Is(err, fs.ErrPermission) {
		return 403
	}
	return 404
}

// errorPage writes a small HTML page for an error or redirect status.
func errorPage(w *http1.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	text := strconv.Itoa(status) + " " + http1.StatusText(status)
	io.WriteString(w, "<!doctype html>\n<title>"+text+"</title>\n<h1>"+text+"</h1>\n")
}
