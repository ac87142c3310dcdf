package static

import (
	"errors"
	"hash/fnv"
	"io/fs"
	"path"
	"strconv"
	"sync/atomic"
	"time"

	"nave/internal/web"
)

// rep is one representation of a file: its own bytes, or a
// content-coded variant of them (a precompressed sidecar, or gzip made by
// nave). Its header values are rendered once, when it is built.
type rep struct {
	name   string // the file holding the bytes (the source file for generated gzip)
	id     fileID // name's identity when this rep was built
	coding coding
	// body is the whole content when held in memory, else nil: the bytes
	// are then read from name for each response.
	body []byte
	// generated: gzip made by nave, cached in body or (stream) compressed
	// while sent. Its ETag is weak, and it is never used for ranges.
	generated, stream bool
	etag              string // `"…"` or `W/"…"`; "" when nothing identifies the version
	lastMod           string // an IMF-fixdate; "" when the time is unknown
	modSec            int64  // lastMod as Unix seconds
	clen              string // the length in decimal; "" for a stream
	// head holds Content-Type and the representation's fields, rendered
	// when the entry is built; read-only after.
	head web.Header
}

// entry is what the cache keeps for a request key: the file it resolves
// to, its representations, and what must be re-stat'ed to trust them.
type entry struct {
	key   string // the cache key (cleanPath's form)
	ident rep
	enc   [numCodings]*rep // by coding; enc[identity] is unused
	ctype string
	vary  bool // responses carry Vary: Accept-Encoding
	// compressible files look for sidecars; a client that accepts a
	// coding the entry lacks makes the folder be re-stat'ed, since a new
	// sidecar changes it.
	compressible bool
	have         accepted // 1 for each coding in enc
	// fallbackIndex: the key is a folder whose first index name was
	// missing; the folder is re-stat'ed each time so that a new one is
	// seen at once.
	fallbackIndex bool
	dirName       string
	dirID         fileID
	racy          bool // some bytes were read too soon after a change: use once, never cache
	// missing: the key named nothing when checked; the entry has no
	// representation. Kept only with CacheValid.
	missing bool
	cost    int64 // bytes held, for the cache's bound

	// checked is when the last check that found the entry unchanged
	// began (no later than its first stat), in nanoseconds since the
	// Handler's epoch plus one; 0 is never. Used with CacheValid and for
	// requests that carry web.Request.Arrived.
	checked atomic.Int64

	ref  atomic.Bool // set on a hit: the CLOCK's second chance
	slot int         // index in cache.ring; guarded by cache.mu
}

// entryOverhead is what an entry costs beyond its bodies, roughly: the
// struct, its strings and the map slot.
const entryOverhead = 512

// choose returns the representation to send to a client that accepts
// acc: the coding it rates highest among those present (ties going to
// the smaller output), or the identity. Generated gzip is not used for a
// range request, so that ranges are always of stable bytes.
func (e *entry) choose(acc *accepted, ranged bool) *rep {
	best, bestQ := &e.ident, uint16(0)
	for c := br; c < numCodings; c++ {
		rp := e.enc[c]
		if rp == nil || ranged && rp.generated {
			continue
		}
		if q := acc[c]; q > bestQ {
			best, bestQ = rp, q
		}
	}
	return best
}

// needsDir reports whether serving e to a client that accepts acc needs
// the folder re-stat'ed first.
func (e *entry) needsDir(acc *accepted) bool {
	if e.fallbackIndex {
		return true
	}
	if !e.compressible {
		return false
	}
	for c := br; c < numCodings; c++ {
		if acc[c] > 0 && e.have[c] == 0 {
			return true
		}
	}
	return false
}

// fillAttempts bounds re-reading a small file that keeps changing while it
// is read (a log being appended to, say). After that it is sent from the
// file like a large one: the length declared is the one fstat gave, and
// the ResponseWriter keeps the body to it.
const fillAttempts = 3

// fill builds the entry for key, whose bytes are in the regular file
// name. dir, when non-nil, is the folder's identity taken before the file
// was looked up (index resolution); otherwise fill takes it itself when
// it needs it.
func (h *Handler) fill(key, name string, dir *fileID, fallbackIndex bool) (*entry, error) {
	mt := typeOf(h.types, name)
	e := &entry{key: key, ctype: mt.value, compressible: mt.compressible, fallbackIndex: fallbackIndex}
	now := time.Now()
	e.checked.Store(h.clock(now)) // what fill stats below is checked as of now
	if mt.compressible || fallbackIndex {
		e.dirName = path.Dir(name)
		if dir != nil {
			e.dirID = *dir
		} else {
			id, err := h.src.stat(e.dirName)
			if err != nil {
				return nil, err
			}
			e.dirID = id
		}
		e.racy = racy(e.dirID, now, h.racyWindow)
	}
	if err := h.load(&e.ident, name, identity, now, &e.racy); err != nil {
		return nil, err
	}
	e.cost = entryOverhead + int64(len(e.ident.body))
	if mt.compressible {
		h.findSidecars(e, now)
	}
	for c := br; c < numCodings; c++ {
		if e.enc[c] != nil {
			e.have[c] = 1
			e.cost += int64(len(e.enc[c].body))
		}
	}
	e.vary = e.compressible && (e.have.any() || h.gzip && e.ident.id.size >= h.gzipMinSize)
	h.describe(e, &e.ident)
	for _, rp := range e.enc {
		if rp != nil {
			h.describe(e, rp)
		}
	}
	return e, nil
}

// describe renders the fields that describe rp's bytes (Content-Type and
// representation's) once, into rp.head, for every response that sends
// them.
func (h *Handler) describe(e *entry, rp *rep) {
	rp.head.Reset()
	rp.head.Add("Content-Type", e.ctype)
	h.representation(&rp.head, e, rp)
}

// findSidecars looks for name.br, name.zst and name.gz, and makes a gzip
// variant when --gzip asks for one and there is no .gz.
func (h *Handler) findSidecars(e *entry, now time.Time) {
	for c := br; c < numCodings; c++ {
		sname := e.ident.name + sidecarExts[c]
		if id, err := h.src.stat(sname); err != nil || id.kind != kindFile {
			continue
		}
		rp := new(rep)
		if h.load(rp, sname, c, now, &e.racy) == nil {
			e.enc[c] = rp
		}
	}
	if !h.gzip || e.enc[gz] != nil || e.ident.id.size < h.gzipMinSize {
		return
	}
	g := &rep{name: e.ident.name, coding: gz, generated: true}
	if e.ident.body == nil {
		g.stream = true
	} else if g.body = h.gz.compress(e.ident.body); g.body == nil {
		return
	}
	g.setID(e.ident.id)
	if e.ident.etag != "" && e.ident.id.mtime == 0 {
		g.etag = "W/" + e.ident.etag
	}
	e.enc[gz] = g
}

// load fills rp from the regular file name: identity, header values and,
// for a small file, its bytes. A file that changes while it is read is
// read again, and after fillAttempts left to be sent from the file; one
// read too soon after a change, or left so, sets *racy.
func (h *Handler) load(rp *rep, name string, c coding, now time.Time, racyOut *bool) error {
	for attempt := 1; attempt <= fillAttempts; attempt++ {
		err := h.loadOnce(rp, name, c, true)
		if err == nil {
			if rp.body != nil && racy(rp.id, now, h.racyWindow) {
				*racyOut = true
			}
			return nil
		}
		if !errors.Is(err, errChanged) {
			return err
		}
	}
	*racyOut = true
	return h.loadOnce(rp, name, c, false)
}

// loadOnce opens name and fills rp; with readBody, a small file's bytes
// too, checking that the file did not change while they were read.
func (h *Handler) loadOnce(rp *rep, name string, c coding, readBody bool) error {
	f, id, err := h.src.open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if id.kind != kindFile {
		return errNotFile
	}
	*rp = rep{name: name, coding: c}
	if readBody && id.size <= h.maxFileSize {
		body, err := readAll(f, id.size)
		if err != nil {
			return err
		}
		after, err := fstat(f)
		if err != nil {
			return err
		}
		if after != id {
			return errChanged
		}
		rp.body = body
	}
	rp.setID(id)
	return nil
}

// setID sets rp's identity and renders the header values it implies.
// Generated gzip gets a weak tag derived from its source's (RFC 9110
// §8.8.1: the same content, differently encoded, as nginx marks it).
func (rp *rep) setID(id fileID) {
	rp.id = id
	switch {
	case rp.stream:
		rp.clen = ""
	case rp.body != nil:
		rp.clen = strconv.Itoa(len(rp.body))
	default:
		rp.clen = strconv.FormatInt(id.size, 10)
	}
	rp.etag, rp.lastMod, rp.modSec = "", "", 0
	if id.mtime == 0 {
		if rp.body != nil && !rp.generated {
			// An embedded file has no time; its content names its version.
			hash := fnv.New64a()
			hash.Write(rp.body)
			rp.etag = `"` + strconv.FormatUint(hash.Sum64(), 16) + `"`
		}
		return
	}
	if rp.generated {
		rp.etag = "W/" + mtimeETag(id, identity)
	} else {
		rp.etag = mtimeETag(id, rp.coding)
	}
	t := time.Unix(0, id.mtime).UTC()
	rp.modSec = t.Unix()
	rp.lastMod = string(t.AppendFormat(make([]byte, 0, len(httpDateLayout)), httpDateLayout))
}

// mtimeETag is a strong entity-tag from size and mtime (in ns), as nginx
// and Caddy derive theirs (nginx with whole seconds): the same for the
// same file across restarts, and across servers holding copies made with
// times preserved (rsync -t, cp -p), which an inode number would not be.
// A sidecar's tag names its coding, so that no two representations share
// a tag even where a build stamps every file with one time.
func mtimeETag(id fileID, c coding) string {
	b := make([]byte, 0, 40)
	b = append(b, '"')
	b = strconv.AppendUint(b, uint64(id.mtime), 16)
	b = append(b, '-')
	b = strconv.AppendUint(b, uint64(id.size), 16)
	if c != identity {
		b = append(b, '-')
		b = append(b, codingNames[c]...)
	}
	return string(append(b, '"'))
}

var errNotFile = errors.New("static: not a regular file")

// fstat returns an open file's identity.
func fstat(f fs.File) (fileID, error) {
	info, err := f.Stat()
	if err != nil {
		return fileID{}, err
	}
	return idOf(info), nil
}

// openRep opens rp's file for sending, and returns rp, or a copy updated
// to the file as now opened if it changed since rp was built (the
// response then describes the bytes it carries).
func (h *Handler) openRep(rp *rep) (fs.File, *rep, error) {
	f, id, err := h.src.open(rp.name)
	if err != nil {
		return nil, nil, err
	}
	if id.kind != kindFile {
		f.Close()
		return nil, nil, errNotFile
	}
	if id != rp.id {
		cp := *rp
		cp.setID(id)
		rp = &cp
	}
	return f, rp, nil
}
