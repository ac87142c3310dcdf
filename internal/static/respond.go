package static

import (
	"io"
	"io/fs"
	"strconv"

	"nave/internal/web"
)

// serveRep answers a GET or HEAD with rp, a representation of e: after
// the preconditions, the whole of it, one range, or several.
func (h *Handler) serveRep(w *web.ResponseWriter, rq *reqInfo, e *entry, rp *rep) {
	var f fs.File
	if rp.body == nil {
		opened, now, err := h.openRep(rp)
		if err != nil {
			h.failErr(w, rq, rp.name, err)
			return
		}
		defer opened.Close()
		f, rp = opened, now
	}
	switch preconditions(rq, rp) {
	case 304:
		h.validators(w.Header(), e, rp)
		w.WriteHeader(304)
		return
	case 412:
		h.fail(w, rq, 412)
		return
	}
	if rq.rng != nil && !rp.stream && rangeable(rp, f) && (rq.ifRange == nil || ifRangeHolds(rq.ifRange, rp)) {
		var buf [4]byteRange
		size := rp.size()
		ranges, outcome := parseRange(rq.rng, size, buf[:0])
		switch outcome {
		case rangeUnsatisfiable:
			var b [40]byte
			w.Header().AddBytes("Content-Range", strconv.AppendInt(append(b[:0], "bytes */"...), size, 10))
			h.fail(w, rq, 416)
			return
		case rangeOK:
			if len(ranges) == 1 {
				h.sendRange(w, rq, e, rp, f, ranges[0])
			} else {
				h.sendMultipart(w, rq, e, rp, f, ranges)
			}
			return
		}
	}
	h.sendWhole(w, rq, e, rp, f)
}

// size is the length of rp's bytes.
func (rp *rep) size() int64 {
	if rp.body != nil {
		return int64(len(rp.body))
	}
	return rp.id.size
}

// rangeable reports whether ranges of rp can be sent: from memory, or
// from a file that can seek and read at an offset (every *os.File and
// embedded file can).
func rangeable(rp *rep, f fs.File) bool {
	if rp.body != nil {
		return true
	}
	_, seeks := f.(io.Seeker)
	_, readsAt := f.(io.ReaderAt)
	return seeks && readsAt
}

// representation adds the fields that describe rp's bytes.
func (h *Handler) representation(hd *web.Header, e *entry, rp *rep) {
	if rp.coding != identity {
		hd.Add("Content-Encoding", codingNames[rp.coding])
	}
	h.validators(hd, e, rp)
	hd.Add("Accept-Ranges", "bytes")
	hd.Add("X-Content-Type-Options", "nosniff")
}

// validators adds the fields a 304 must repeat (RFC 9110 §15.4.5), and
// Last-Modified, as nginx does.
func (h *Handler) validators(hd *web.Header, e *entry, rp *rep) {
	if rp.lastMod != "" {
		hd.Add("Last-Modified", rp.lastMod)
	}
	if rp.etag != "" {
		hd.Add("ETag", rp.etag)
	}
	if e.vary {
		hd.Add("Vary", "Accept-Encoding")
	}
	if h.cacheControl != "" {
		hd.Add("Cache-Control", h.cacheControl)
	}
}

// sendWhole sends all of rp with 200: from memory (head and a small body
// leave in one write), compressed on the way, or from the file with
// sendfile. A file that shrinks meanwhile leaves the body short of its
// Content-Length, and the ResponseWriter then closes the connection; one
// that grows is cut at the length declared.
func (h *Handler) sendWhole(w *web.ResponseWriter, rq *reqInfo, e *entry, rp *rep, f fs.File) {
	hd := w.Header()
	hd.AddAll(&rp.head)
	if rp.clen != "" {
		hd.Add("Content-Length", rp.clen)
	}
	w.WriteHeader(200)
	if rq.head {
		return
	}
	switch {
	case rp.body != nil:
		w.Write(rp.body)
	case rp.stream:
		if err := h.gz.stream(w, f); err != nil {
			h.log.Debug("static: compressed response incomplete", "name", rp.name, "err", err)
		}
	default:
		w.ReadFrom(f)
	}
}

// sendRange sends one range of rp with 206.
func (h *Handler) sendRange(w *web.ResponseWriter, rq *reqInfo, e *entry, rp *rep, f fs.File, r byteRange) {
	if rp.body == nil && !rq.head {
		if _, err := f.(io.Seeker).Seek(r.start, io.SeekStart); err != nil {
			h.failErr(w, rq, rp.name, err)
			return
		}
	}
	hd := w.Header()
	hd.AddAll(&rp.head)
	var b [64]byte
	hd.AddBytes("Content-Range", appendContentRange(b[:0], r, rp.size()))
	hd.AddBytes("Content-Length", strconv.AppendInt(b[:0], r.length, 10))
	w.WriteHeader(206)
	switch {
	case rq.head:
	case rp.body != nil:
		w.Write(rp.body[r.start : r.start+r.length])
	default:
		w.ReadFrom(f)
	}
}

// sendMultipart sends several ranges of rp as multipart/byteranges with
// 206 (RFC 9110 §14.6), with an exact Content-Length. A range that comes
// up short (the file shrank) ends the body there: the ResponseWriter
// closes the connection, and no later part is misframed.
func (h *Handler) sendMultipart(w *web.ResponseWriter, rq *reqInfo, e *entry, rp *rep, f fs.File, ranges []byteRange) {
	size := rp.size()
	hd := w.Header()
	hd.Add("Content-Type", h.rangesType)
	h.representation(hd, e, rp)
	hd.Add("Content-Length", strconv.FormatInt(multipartLength(ranges, h.boundary, e.ctype, size), 10))
	w.WriteHeader(206)
	if rq.head {
		return
	}
	var scratch [256]byte
	for i, r := range ranges {
		w.Write(appendPartHead(scratch[:0], i == 0, h.boundary, e.ctype, r, size))
		if rp.body != nil {
			w.Write(rp.body[r.start : r.start+r.length])
			continue
		}
		n, err := w.ReadFrom(io.NewSectionReader(f.(io.ReaderAt), r.start, r.length))
		if err != nil || n < r.length {
			return
		}
	}
	w.Write(appendClosing(scratch[:0], h.boundary))
}

// fail answers with an error (or redirect) status: the configured error
// page for it if there is one, else a small built-in HTML page. Fields
// already set (Allow, Location, Content-Range) are kept.
func (h *Handler) fail(w *web.ResponseWriter, rq *reqInfo, status int) {
	if len(h.errorPages) > 0 {
		if key, ok := h.errorPages[status]; ok && h.sendErrorPage(w, rq, status, key) {
			return
		}
	}
	hd := w.Header()
	hd.Add("Content-Type", "text/html; charset=utf-8")
	hd.Add("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.WriteString(builtinPage(status))
}

// sendErrorPage sends the file at key with status, through the cache
// like any file, but without validators, ranges or codings: it stands in
// for a resource that has none. It reports false if the file is gone, so
// that the built-in page is sent instead.
func (h *Handler) sendErrorPage(w *web.ResponseWriter, rq *reqInfo, status int, key []byte) bool {
	none := reqInfo{now: rq.now} // none of the request's conditions or codings apply
	var rp *rep
	e := h.cache.get(key)
	if e != nil {
		rp = h.current(e, &none)
	}
	if rp == nil {
		var err error
		if e, err = h.fill(string(key), string(key), nil, false); err != nil {
			h.log.Warn("static: error page unavailable", "status", status, "name", string(key), "err", err)
			return false
		}
		h.keep(e)
		rp = &e.ident
	}
	var f fs.File
	if rp.body == nil {
		opened, now, err := h.openRep(rp)
		if err != nil {
			return false
		}
		defer opened.Close()
		f, rp = opened, now
	}
	hd := w.Header()
	hd.Add("Content-Type", e.ctype)
	hd.Add("X-Content-Type-Options", "nosniff")
	hd.Add("Content-Length", rp.clen)
	w.WriteHeader(status)
	switch {
	case rq.head:
	case rp.body != nil:
		w.Write(rp.body)
	default:
		w.ReadFrom(f)
	}
	return true
}

// builtinPage is the body of the built-in page for status. The common
// ones are constants, so that sending them allocates nothing.
func builtinPage(status int) string {
	switch status {
	case 301:
		return page301
	case 400:
		return page400
	case 403:
		return page403
	case 404:
		return page404
	case 405:
		return page405
	case 412:
		return page412
	case 416:
		return page416
	case 500:
		return page500
	}
	line := strconv.Itoa(status) + " " + web.StatusText(status)
	return pageHead + line + pageMid + line + pageTail
}

const (
	pageHead = "<!doctype html>\n<html lang=\"en\">\n<meta charset=\"utf-8\">\n<title>"
	pageMid  = "</title>\n<style>body{font:16px/1.5 system-ui,sans-serif;margin:4em auto;max-width:40em;padding:0 1em;color:#333}</style>\n<h1>"
	pageTail = "</h1>\n<p><small>nave</small></p>\n"

	page301 = pageHead + "301 Moved Permanently" + pageMid + "301 Moved Permanently" + pageTail
	page400 = pageHead + "400 Bad Request" + pageMid + "400 Bad Request" + pageTail
	page403 = pageHead + "403 Forbidden" + pageMid + "403 Forbidden" + pageTail
	page404 = pageHead + "404 Not Found" + pageMid + "404 Not Found" + pageTail
	page405 = pageHead + "405 Method Not Allowed" + pageMid + "405 Method Not Allowed" + pageTail
	page412 = pageHead + "412 Precondition Failed" + pageMid + "412 Precondition Failed" + pageTail
	page416 = pageHead + "416 Range Not Satisfiable" + pageMid + "416 Range Not Satisfiable" + pageTail
	page500 = pageHead + "500 Internal Server Error" + pageMid + "500 Internal Server Error" + pageTail
)
