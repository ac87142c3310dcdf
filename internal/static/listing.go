package static

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"nave/internal/web"
)

//go:embed listing.html
var listingHTML string

// listEntry is one row of a listing, and one object of its JSON form.
type listEntry struct {
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	IsDir     bool      `json:"is_dir"`
	IsSymlink bool      `json:"is_symlink"`
	Size      int64     `json:"size"`
	ModTime   time.Time `json:"mod_time"`

	lower string // Name in lower case, for sorting
}

// listing is what the HTML template renders.
type listing struct {
	Path    string // the folder's path, as shown
	Crumbs  []crumb
	Parent  bool // not the root: offer ".."
	Entries []listRow
	Summary string
	Columns []column
}

type crumb struct{ Name, URL string }

type listRow struct {
	Name, URL, Size, SizeTitle, Time, TimeISO string
	IsDir                                     bool
}

// column is a sortable column header: a link that sorts by it, ascending
// first, or descending when it is already the ascending sort.
type column struct {
	Label, URL, Arrow, Class string
}

// Sort keys and orders, as in the query: ?sort=size&order=desc.
const (
	sortName = "name"
	sortSize = "size"
	sortTime = "time"
)

// serveListing answers for a folder without an index under Browse: an
// HTML page sortable through links (no script needed), or JSON for a
// client whose Accept prefers application/json. Hidden names are left
// out unless shown; symlinks are listed as what they point to, and left
// out when that cannot be served (broken, or outside the root).
func (h *Handler) serveListing(w *web.ResponseWriter, r *web.Request, rq *reqInfo, key, name string) {
	dirents, err := h.src.readDir(name)
	if err != nil {
		h.failErr(w, rq, name, err)
		return
	}
	entries := make([]listEntry, 0, len(dirents))
	for _, d := range dirents {
		if le, ok := h.listEntry(name, d); ok {
			entries = append(entries, le)
		}
	}
	by, desc := sortQuery(r.Query)
	sortEntries(entries, by, desc)

	var body bytes.Buffer
	hd := w.Header()
	if prefersJSON(rq.accept) {
		hd.Add("Content-Type", "application/json")
		enc := json.NewEncoder(&body)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(entries); err != nil {
			h.failErr(w, rq, name, err)
			return
		}
	} else {
		hd.Add("Content-Type", "text/html; charset=utf-8")
		if err := h.listing.Execute(&body, h.listingPage(string(r.Prefix()), key, entries, by, desc)); err != nil {
			h.failErr(w, rq, name, err)
			return
		}
	}
	hd.Add("Vary", "Accept")
	hd.Add("X-Content-Type-Options", "nosniff")
	hd.Add("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(200)
	if !rq.head {
		w.Write(body.Bytes())
	}
}

// listEntry describes d, in folder dir, or reports it is not to be listed.
func (h *Handler) listEntry(dir string, d fs.DirEntry) (listEntry, bool) {
	n := d.Name()
	if !h.showHidden && strings.HasPrefix(n, ".") {
		return listEntry{}, false
	}
	full := n
	if dir != "." {
		full = dir + "/" + n
	}
	le := listEntry{Name: n, lower: strings.ToLower(n)}
	var id fileID
	if d.Type()&fs.ModeSymlink != 0 {
		var err error
		if id, err = h.src.stat(full); err != nil {
			return listEntry{}, false
		}
		le.IsSymlink = true
	} else {
		info, err := d.Info()
		if err != nil {
			return listEntry{}, false
		}
		id = idOf(info)
	}
	switch id.kind {
	case kindDir:
		le.IsDir = true
		le.URL = "./" + escapePath(n) + "/"
	case kindFile:
		le.Size = id.size
		le.URL = "./" + escapePath(n)
	default:
		return listEntry{}, false
	}
	if id.mtime != 0 {
		le.ModTime = time.Unix(0, id.mtime).UTC()
	}
	return le, true
}

// sortQuery reads ?sort= and ?order= from a raw query; anything unknown
// means by name, ascending.
func sortQuery(q []byte) (by string, desc bool) {
	by = sortName
	for len(q) > 0 {
		var kv []byte
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			kv, q = q[:i], q[i+1:]
		} else {
			kv, q = q, nil
		}
		k, v, _ := bytes.Cut(kv, []byte("="))
		switch string(k) {
		case "sort":
			if s := string(v); s == sortSize || s == sortTime {
				by = s
			}
		case "order":
			desc = string(v) == "desc"
		}
	}
	return by, desc
}

// sortEntries orders folders first, then by the key, reversed for desc;
// ties go by name, ascending, whatever the order.
func sortEntries(entries []listEntry, by string, desc bool) {
	byName := func(a, b listEntry) int {
		if c := strings.Compare(a.lower, b.lower); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	}
	slices.SortStableFunc(entries, func(a, b listEntry) int {
		if a.IsDir != b.IsDir {
			if a.IsDir {
				return -1
			}
			return 1
		}
		var c int
		switch by {
		case sortSize:
			c = cmpInt(a.Size, b.Size)
		case sortTime:
			c = a.ModTime.Compare(b.ModTime)
		default:
			c = byName(a, b)
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = byName(a, b)
		}
		return c
	})
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// prefersJSON reports whether an Accept value rates application/json
// above text/html (an absent or wildcard-only Accept gets HTML).
func prefersJSON(accept []byte) bool {
	var qJSON, qHTML uint16
	for len(accept) > 0 {
		var m []byte
		m, accept = nextMember(accept)
		typ, q, ok := splitWeight(m)
		if !ok {
			continue
		}
		switch {
		case asciiEqualFold(typ, "application/json"):
			qJSON = q
		case asciiEqualFold(typ, "text/html"):
			qHTML = q
		}
	}
	return qJSON > 0 && qJSON > qHTML
}

// listingPage prepares the template's data.
func (h *Handler) listingPage(prefix, key string, entries []listEntry, by string, desc bool) *listing {
	p := &listing{Path: prefix + "/" + key, Parent: key != ""}
	url := prefix + "/"
	p.Crumbs = append(p.Crumbs, crumb{"/", url})
	for _, seg := range strings.Split(strings.TrimSuffix(key, "/"), "/") {
		if seg == "" {
			continue
		}
		url += escapePath(seg) + "/"
		p.Crumbs = append(p.Crumbs, crumb{seg + "/", url})
	}
	var dirs, files int
	var total int64
	for _, le := range entries {
		row := listRow{Name: le.Name, URL: le.URL, IsDir: le.IsDir, Size: "—"}
		if le.IsDir {
			dirs++
			row.Name += "/"
		} else {
			files++
			total += le.Size
			row.Size = humanSize(le.Size)
			row.SizeTitle = strconv.FormatInt(le.Size, 10) + " bytes"
		}
		if !le.ModTime.IsZero() {
			row.Time = le.ModTime.Format("2006-01-02 15:04")
			row.TimeISO = le.ModTime.Format(time.RFC3339)
		}
		p.Entries = append(p.Entries, row)
	}
	p.Summary = plural(dirs, "folder") + ", " + plural(files, "file")
	if files > 0 {
		p.Summary += ", " + humanSize(total)
	}
	for _, c := range [...]struct{ key, label, class string }{
		{sortName, "Name", "name"}, {sortSize, "Size", "size"}, {sortTime, "Modified", "time"},
	} {
		col := column{Label: c.label, Class: c.class, URL: "?sort=" + c.key + "&order=asc"}
		if by == c.key {
			col.Arrow = "↑"
			if desc {
				col.Arrow = "↓"
			} else {
				col.URL = "?sort=" + c.key + "&order=desc"
			}
		}
		p.Columns = append(p.Columns, col)
	}
	return p
}

func plural(n int, noun string) string {
	s := strconv.Itoa(n) + " " + noun
	if n != 1 {
		s += "s"
	}
	return s
}

// humanSize formats a byte count in binary units: "512 B", "1.5 KiB".
func humanSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, unit := range [...]string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		v /= 1024
		if v < 1024 || unit == "PiB" {
			prec := 1
			if v >= 100 {
				prec = 0
			}
			return strconv.FormatFloat(v, 'f', prec, 64) + " " + unit
		}
	}
	return ""
}
