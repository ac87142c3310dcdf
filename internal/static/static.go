// Package static is a Handler that serves a document root (RFC 9110):
// index files, redirects for folders named without their slash, error
// pages, content types, validators and conditional requests (§13),
// ranges (§14) including multipart/byteranges, precompressed sidecars and
// optional gzip, Cache-Control, and directory listings as HTML or JSON.
//
// A folder is served through os.Root, so that no request reads outside it;
// an fs.FS (the embedded demo site) through the same code. Small files and
// every file's metadata live in a bounded cache that is revalidated with
// one fstatat(2) per request (requests that had arrived before a check
// began share it: web.Request.Arrived), so it never serves a changed
// file's old bytes to a request that arrived after the change (unless
// Config.CacheValid trusts it for a while, as nginx's
// open_file_cache_valid); a cached small file is answered without
// allocating. Large files go out with sendfile(2) through the
// ResponseWriter's ReadFrom.
//
// It imports internal/web and the standard library only: never
// internal/server or another handler.
package static

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"strings"
	"syscall"
	"time"

	"nave/internal/web"
)

// Defaults for Config.
const (
	// DefaultIndex is the index name tried for a folder.
	DefaultIndex = "index.html"
	// DefaultCacheBytes bounds the file content the cache holds.
	DefaultCacheBytes = 64 << 20
	// DefaultCacheEntries bounds the files (and folders) the cache knows,
	// as nginx's open_file_cache max.
	DefaultCacheEntries = 10000
	// DefaultMaxFileSize is the largest file whose bytes are held in
	// memory; larger ones are sent from the file with sendfile.
	DefaultMaxFileSize = 64 << 10
	// GzipMinSize is the smallest file --gzip compresses: below it the
	// gzip framing eats most of the saving (nginx's gzip_min_length is
	// 20 bytes, Caddy's 512; a kilobyte is two TCP segments' worth of
	// round trips saved at best).
	GzipMinSize = 1 << 10
)

// racyWindow is how long after a file's last change its content is not
// cached (see racy): two seconds covers every common file system's
// timestamp granularity, FAT's included.
const racyWindow = 2 * time.Second

// Allowed is the Allow field of 405 and OPTIONS responses.
const Allowed = "GET, HEAD, OPTIONS"

// Config configures a Handler. Its zero value serves nothing (New
// requires Dir or FS); every other zero field means its default.
type Config struct {
	// Dir is the folder to serve, through an os.Root. When empty, FS is
	// served instead.
	Dir string
	// FS is served when Dir is empty, such as the embedded demo site. Its
	// files are revalidated with fs.Stat, which allocates.
	FS fs.FS
	// Index is the list of names tried, in order, for a request that names
	// a folder; nil means DefaultIndex. A name holds no "/".
	Index []string
	// Browse lists a folder that has no index file (HTML, or JSON for a
	// client that asks for application/json). Off, such a folder is 404.
	Browse bool
	// ShowHidden serves and lists files and folders whose name starts with
	// "."; off, they are 404 (except .well-known, RFC 8615) and unlisted.
	ShowHidden bool
	// FollowSymlinks lets symlinks point outside Dir. Off, os.Root refuses
	// them (404); symlinks that stay inside Dir are always followed.
	FollowSymlinks bool
	// ErrorPages maps a status (400-599) to a path under the root, as
	// "/errors/404.html", whose file is sent with that status instead of
	// the built-in page. New checks that each names a file.
	ErrorPages map[int]string
	// CacheControl, when set, is sent as Cache-Control with every file
	// (200, 206, 304); unset, only validators guide caches.
	CacheControl string
	// Gzip compresses compressible files of GzipMinSize bytes or more for
	// clients that accept gzip and when no .gz sidecar exists: cached
	// small files once, larger ones while they are sent.
	Gzip bool
	// CacheBytes bounds the file content held in memory; 0 means
	// DefaultCacheBytes, and a negative value turns the cache off.
	CacheBytes int64
	// CacheEntries bounds the number of cached files and folders; 0 means
	// DefaultCacheEntries.
	CacheEntries int
	// CacheValid is how long what the cache knows of a file is trusted
	// without stat'ing it again, as nginx's open_file_cache_valid: a
	// change may then go unseen for up to that long. 0 checks on every
	// request, so that the next request sees any change.
	CacheValid time.Duration
	// MaxFileSize is the largest file held in memory; 0 means
	// DefaultMaxFileSize.
	MaxFileSize int64
	// Logger receives server-side failures (I/O errors behind a 500);
	// nil discards them.
	Logger *slog.Logger
}

func (c *Config) index() []string {
	if c.Index == nil {
		return []string{DefaultIndex}
	}
	return c.Index
}

func (c *Config) cacheBytes() int64 {
	if c.CacheBytes == 0 {
		return DefaultCacheBytes
	}
	return max(c.CacheBytes, 0)
}

func (c *Config) cacheEntries() int {
	if c.CacheBytes < 0 {
		return 0
	}
	if c.CacheEntries <= 0 {
		return DefaultCacheEntries
	}
	return c.CacheEntries
}

func (c *Config) maxFileSize() int64 {
	if c.MaxFileSize <= 0 {
		return DefaultMaxFileSize
	}
	return c.MaxFileSize
}

func (c *Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Handler serves a document root. It is safe for concurrent use.
type Handler struct {
	src source
	// dir is src when serving a folder, for the allocation-free statAt;
	// nil for an fs.FS.
	dir          *dirSource
	index        []string
	browse       bool
	showHidden   bool
	gzip         bool
	gzipMinSize  int64
	cacheControl string
	errorPages   map[int][]byte // status → cache key
	cache        *cache
	maxFileSize  int64
	cacheValid   time.Duration
	epoch        time.Time // the zero of entry.checked
	racyWindow   time.Duration
	types        map[string]mediaType
	boundary     string // multipart/byteranges boundary, random per Handler
	rangesType   string // the Content-Type of a multipart/byteranges response
	gz           gzipper
	listing      *template.Template
	log          *slog.Logger
}

// New returns a Handler for cfg. It opens Dir (Close releases it), and
// checks the index names, error pages and Cache-Control value.
func New(cfg Config) (*Handler, error) {
	h := &Handler{
		index:        cfg.index(),
		browse:       cfg.Browse,
		showHidden:   cfg.ShowHidden,
		gzip:         cfg.Gzip,
		gzipMinSize:  GzipMinSize,
		cacheControl: cfg.CacheControl,
		cache:        newCache(cfg.cacheEntries(), cfg.cacheBytes()),
		maxFileSize:  cfg.maxFileSize(),
		cacheValid:   max(cfg.CacheValid, 0),
		epoch:        time.Now(),
		racyWindow:   racyWindow,
		types:        mediaTypes(),
		log:          cfg.logger(),
		listing:      template.Must(template.New("listing").Parse(listingHTML)),
	}
	for _, name := range h.index {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
			return nil, fmt.Errorf("static: index name %q: want a file name without slashes", name)
		}
	}
	if !web.ValidFieldValue(cfg.CacheControl) {
		return nil, fmt.Errorf("static: Cache-Control %q holds a control character", cfg.CacheControl)
	}
	var rnd [12]byte
	rand.Read(rnd[:])
	h.boundary = hex.EncodeToString(rnd[:])
	h.rangesType = "multipart/byteranges; boundary=" + h.boundary
	switch {
	case cfg.Dir != "":
		d, err := openDirSource(cfg.Dir, cfg.FollowSymlinks)
		if err != nil {
			return nil, fmt.Errorf("static: %w", err)
		}
		h.src, h.dir = d, d
	case cfg.FS != nil:
		h.src = fsSource{cfg.FS}
	default:
		return nil, errors.New("static: Config needs Dir or FS")
	}
	if err := h.setErrorPages(cfg.ErrorPages); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

func (h *Handler) setErrorPages(pages map[int]string) error {
	h.errorPages = make(map[int][]byte, len(pages))
	for status, p := range pages {
		if status < 400 || status > 599 {
			return fmt.Errorf("static: error page for %d: only 4xx and 5xx statuses have error pages", status)
		}
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		key, _, st := cleanPath([]byte(p), nil)
		if st != pathOK || len(key) == 0 || key[len(key)-1] == '/' {
			return fmt.Errorf("static: error page for %d: %q is not a file path", status, p)
		}
		id, err := h.src.stat(string(key))
		if err != nil || id.kind != kindFile {
			return fmt.Errorf("static: error page for %d: %s is not a file in the root", status, p)
		}
		h.errorPages[status] = key
	}
	return nil
}

// Close releases the folder. Requests in flight may fail after it.
func (h *Handler) Close() error {
	if h.src == nil {
		return nil
	}
	return h.src.close()
}

// Serve answers GET and HEAD with the file, folder index or listing that
// r's path names, OPTIONS with 204 and Allow, and anything else with 405.
func (h *Handler) Serve(w *web.ResponseWriter, r *web.Request) {
	rq := reqInfo{now: w.Now(), arrived: r.Arrived}
	switch string(r.Method) {
	case "GET":
	case "HEAD":
		rq.head = true
	case "OPTIONS":
		w.Header().Add("Allow", Allowed)
		w.WriteHeader(204)
		return
	default:
		w.Header().Add("Allow", Allowed)
		h.fail(w, &rq, 405)
		return
	}
	var buf [pathBufSize]byte
	key, hidden, status := cleanPath(r.PathInfo(), buf[:])
	if status == pathOK && hidden && !h.showHidden {
		status = pathNotFound
	}
	if status != pathOK {
		h.fail(w, &rq, status)
		return
	}
	rq.read(&r.Header)
	e := h.cache.get(key)
	switch {
	case e == nil:
	case e.missing:
		if h.fresh(e, &rq) {
			h.fail(w, &rq, 404)
			return
		}
	default:
		if rp := h.current(e, &rq); rp != nil {
			h.serveRep(w, &rq, e, rp)
			return
		}
	}
	h.miss(w, r, &rq, key, e)
}

// reqInfo is what the handler reads from a request's header, gathered in
// one pass. The slices alias the request and live as long as it does.
type reqInfo struct {
	now          time.Time // when the request began (the ResponseWriter's clock)
	arrived      time.Time // web.Request.Arrived
	head         bool      // HEAD rather than GET
	ifMatch      []byte
	ifNoneMatch  []byte
	ifModSince   []byte
	ifUnmodSince []byte
	ifRange      []byte
	rng          []byte
	accept       []byte
	enc          accepted
}

// read gathers the fields the handler uses from hd in one pass. For the
// list-valued fields a repeated line is joined to the first (RFC 9110
// §5.3), which allocates; the others keep their first line.
func (rq *reqInfo) read(hd *web.Header) {
	var acceptEnc []byte
	for i := range hd.Len() {
		name, v := hd.At(i)
		switch {
		case len(name) < 5:
		case asciiEqualFold(name, "Accept-Encoding"):
			acceptEnc = joinField(acceptEnc, v)
		case asciiEqualFold(name, "If-None-Match"):
			rq.ifNoneMatch = joinField(rq.ifNoneMatch, v)
		case asciiEqualFold(name, "If-Match"):
			rq.ifMatch = joinField(rq.ifMatch, v)
		case asciiEqualFold(name, "If-Modified-Since"):
			rq.ifModSince = first(rq.ifModSince, v)
		case asciiEqualFold(name, "If-Unmodified-Since"):
			rq.ifUnmodSince = first(rq.ifUnmodSince, v)
		case asciiEqualFold(name, "If-Range"):
			rq.ifRange = first(rq.ifRange, v)
		case asciiEqualFold(name, "Range"):
			rq.rng = first(rq.rng, v)
		case asciiEqualFold(name, "Accept"):
			rq.accept = joinField(rq.accept, v)
		}
	}
	if acceptEnc != nil {
		rq.enc = parseAcceptEncoding(acceptEnc)
	}
}

func first(have, v []byte) []byte {
	if have != nil {
		return have
	}
	return v
}

func joinField(have, v []byte) []byte {
	if have == nil {
		return v
	}
	j := make([]byte, 0, len(have)+2+len(v))
	return append(append(append(j, have...), ", "...), v...)
}

// current returns the representation of e to send, or nil when e is
// stale: its file (and the folder, or the chosen sidecar, when they
// matter) must stat exactly as when e was filled. With CacheValid, e is
// trusted without a stat for that long after a check of all of it; and
// a request that arrived before e's last full check began is answered
// from that check (see currentChecked).
func (h *Handler) current(e *entry, rq *reqInfo) *rep {
	if e.missing {
		return nil
	}
	if h.cacheValid > 0 || !rq.arrived.IsZero() {
		return h.currentChecked(e, rq)
	}
	if !h.unchanged(e.ident.name, &e.ident.id) {
		return nil
	}
	if e.needsDir(&rq.enc) && !h.unchanged(e.dirName, &e.dirID) {
		return nil
	}
	rp := e.choose(&rq.enc, rq.rng != nil)
	if rp != &e.ident && !rp.generated && !h.unchanged(rp.name, &rp.id) {
		return nil
	}
	return rp
}

// currentChecked is current for an entry whose last full check can stand
// for this request: one that began after the request had arrived (the
// state it saw is one the request could have been answered with: HTTP/2
// requests read together share one check), or, with CacheValid, one less
// than CacheValid old. Otherwise everything the entry depends on is
// stat'ed again (the file, the folder when a new sidecar or index file
// would change the answer, every sidecar) and the check's start recorded.
func (h *Handler) currentChecked(e *entry, rq *reqInfo) *rep {
	if !h.fresh(e, rq) {
		began := h.clock(time.Now())
		if !h.unchangedAll(e) {
			return nil
		}
		e.checked.Store(began)
	}
	return e.choose(&rq.enc, rq.rng != nil)
}

// fresh reports whether e's last check stands for rq: it began no earlier
// than rq arrived, or, with CacheValid, less than CacheValid before rq
// began.
func (h *Handler) fresh(e *entry, rq *reqInfo) bool {
	checked := e.checked.Load()
	switch {
	case checked == 0:
		return false
	case !rq.arrived.IsZero() && checked >= h.clock(rq.arrived):
		return true
	default:
		return h.cacheValid > 0 && h.clock(rq.now)-checked < int64(h.cacheValid)
	}
}

// clock is t on entry.checked's scale: monotonic nanoseconds since the
// Handler's epoch, plus one, since 0 is "never".
func (h *Handler) clock(t time.Time) int64 { return int64(t.Sub(h.epoch)) + 1 }

// unchangedAll reports whether everything e was built from stats as it
// did then.
func (h *Handler) unchangedAll(e *entry) bool {
	if !h.unchanged(e.ident.name, &e.ident.id) {
		return false
	}
	if (e.fallbackIndex || e.compressible) && !h.unchanged(e.dirName, &e.dirID) {
		return false
	}
	for _, rp := range e.enc {
		if rp != nil && !rp.generated && !h.unchanged(rp.name, &rp.id) {
			return false
		}
	}
	return true
}

// unchanged reports whether name still stats as want.
func (h *Handler) unchanged(name string, want *fileID) bool {
	var id fileID
	if h.dir != nil {
		if statAt(h.dir, name, &id) != nil {
			return false
		}
	} else {
		var err error
		if id, err = h.src.stat(name); err != nil {
			return false
		}
	}
	return id == *want
}

// miss answers a request the cache could not: a missing name is answered
// at once (without allocating, for a folder); anything else goes the slow
// way. stale is the entry found out of date, if any.
func (h *Handler) miss(w *web.ResponseWriter, r *web.Request, rq *reqInfo, key []byte, stale *entry) {
	if h.dir != nil {
		name := key
		if n := len(name); n > 0 && name[n-1] == '/' {
			name = name[:n-1]
		}
		var id fileID
		var err error
		if len(name) == 0 {
			err = statAt(h.dir, ".", &id)
		} else {
			err = statAt(h.dir, name, &id)
		}
		// Only a plain "no such file" is trusted here; anything else
		// (a permission error on the way, say) is for os.Root to judge.
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			h.missing(key, stale, rq.now)
			h.fail(w, rq, 404)
			return
		}
	}
	h.slow(w, r, rq, string(key), stale)
}

// missing records that key named nothing at now. With CacheValid the cache
// keeps that too, as nginx's open_file_cache_errors, so that a name asked
// for again is a 404 without a stat until CacheValid has passed; without
// it, only the stale entry goes.
func (h *Handler) missing(key []byte, stale *entry, now time.Time) {
	switch {
	case stale != nil && stale.missing:
		stale.checked.Store(h.clock(now))
	case h.cacheValid > 0:
		e := &entry{key: string(key), missing: true, cost: entryOverhead}
		e.checked.Store(h.clock(now))
		h.cache.put(e) // replaces stale
	case stale != nil:
		h.cache.remove(stale)
	}
}

// slow resolves key through the source (os.Root for a folder), builds and
// caches its entry, and answers.
func (h *Handler) slow(w *web.ResponseWriter, r *web.Request, rq *reqInfo, key string, stale *entry) {
	name := fsName(key)
	id, err := h.src.stat(name)
	if err != nil {
		if stale != nil {
			h.cache.remove(stale)
		}
		h.failErr(w, rq, name, err)
		return
	}
	if stale != nil && stale.missing {
		h.cache.remove(stale) // it exists now; a file's entry would replace it, a folder's redirect not
	}
	dirForm := key == "" || key[len(key)-1] == '/'
	switch {
	case id.kind == kindDir && !dirForm:
		loc := string(r.Prefix()) + "/" + escapePath(key) + "/"
		if r.Query != nil {
			loc += "?" + string(r.Query)
		}
		w.Header().Add("Location", loc)
		h.fail(w, rq, 301)
	case id.kind == kindDir:
		h.serveDir(w, r, rq, key, name, id)
	case id.kind == kindFile && !dirForm:
		e, err := h.fill(key, name, nil, false)
		if err != nil {
			h.failErr(w, rq, name, err)
			return
		}
		h.keep(e)
		h.serveRep(w, rq, e, e.choose(&rq.enc, rq.rng != nil))
	default:
		// A file named with a trailing slash (as nginx), or a device,
		// FIFO or socket.
		h.fail(w, rq, 404)
	}
}

// serveDir answers for a folder: its first index file, else a listing
// (with Browse), else 404.
func (h *Handler) serveDir(w *web.ResponseWriter, r *web.Request, rq *reqInfo, key, name string, dir fileID) {
	for i, idx := range h.index {
		iname := idx
		if name != "." {
			iname = name + "/" + idx
		}
		e, err := h.fill(key, iname, &dir, i > 0)
		if err == nil {
			h.keep(e)
			h.serveRep(w, rq, e, e.choose(&rq.enc, rq.rng != nil))
			return
		}
		if statusOf(err) != 404 {
			h.failErr(w, rq, iname, err)
			return
		}
	}
	if h.browse {
		h.serveListing(w, r, rq, key, name)
		return
	}
	h.fail(w, rq, 404)
}

// keep caches e unless some of its bytes were read too soon after a
// change.
func (h *Handler) keep(e *entry) {
	if !e.racy {
		h.cache.put(e)
	}
}

// failErr answers with the status err maps to, logging a server-side
// failure.
func (h *Handler) failErr(w *web.ResponseWriter, rq *reqInfo, name string, err error) {
	status := statusOf(err)
	if status == 500 {
		h.log.Error("static: cannot serve file", "name", name, "err", err)
	}
	h.fail(w, rq, status)
}
