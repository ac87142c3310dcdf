package static

import (
	"time"

	"nave/internal/web"
)

// httpDateLayout is the IMF-fixdate form of an HTTP-date (RFC 9110
// §5.6.7), the only one sent.
const httpDateLayout = "Mon, 02 Jan 2006 15:04:05 GMT"

// Obsolete HTTP-date forms a recipient must still accept (RFC 9110
// §5.6.7): RFC 850's and ANSI C's asctime().
const (
	rfc850Layout  = "Monday, 02-Jan-06 15:04:05 GMT"
	asctimeLayout = "Mon Jan _2 15:04:05 2006"
)

// parseHTTPDate parses an HTTP-date in any of its three forms and returns
// it as Unix seconds. IMF-fixdate, which every current client sends, is
// parsed by hand without allocating; the obsolete forms go through
// time.Parse.
func parseHTTPDate(b []byte) (int64, bool) {
	b = web.TrimOWS(b)
	if t, ok := parseIMFFixdate(b); ok {
		return t, true
	}
	s := string(b)
	for _, layout := range [...]string{rfc850Layout, asctimeLayout} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix(), true
		}
	}
	return 0, false
}

var monthNames = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parseIMFFixdate parses "Sun, 06 Nov 1994 08:49:37 GMT". The day name is
// checked for shape only, as RFC 9110 asks nothing more of a recipient.
func parseIMFFixdate(b []byte) (int64, bool) {
	if len(b) != len(httpDateLayout) || b[3] != ',' || b[4] != ' ' || b[7] != ' ' || b[11] != ' ' ||
		b[16] != ' ' || b[19] != ':' || b[22] != ':' || string(b[25:]) != " GMT" {
		return 0, false
	}
	num := func(p []byte) int {
		n := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	day, year, hh, mm, ss := num(b[5:7]), num(b[12:16]), num(b[17:19]), num(b[20:22]), num(b[23:25])
	month := -1
	for i, m := range monthNames {
		if string(b[8:11]) == m {
			month = i
		}
	}
	if day < 1 || day > 31 || year < 0 || month < 0 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60 {
		return 0, false
	}
	return time.Date(year, time.Month(month+1), day, hh, mm, ss, 0, time.UTC).Unix(), true
}

// preconditions evaluates a GET or HEAD request's conditional fields
// against rp in RFC 9110 §13.2.2's order and returns 0 to go on, or 304
// or 412.
func preconditions(rq *reqInfo, rp *rep) int {
	if rq.ifMatch != nil {
		if !etagMatch(rq.ifMatch, rp.etag, false) {
			return 412
		}
	} else if rq.ifUnmodSince != nil && rp.lastMod != "" {
		if t, ok := parseHTTPDate(rq.ifUnmodSince); ok && rp.modSec > t {
			return 412
		}
	}
	if rq.ifNoneMatch != nil {
		if etagMatch(rq.ifNoneMatch, rp.etag, true) {
			return 304 // §13.1.2: for GET and HEAD; nothing else gets here
		}
	} else if rq.ifModSince != nil && rp.lastMod != "" {
		// Clients echo Last-Modified back byte for byte; compare that
		// first, without parsing.
		if string(rq.ifModSince) == rp.lastMod {
			return 304
		}
		if t, ok := parseHTTPDate(rq.ifModSince); ok && rp.modSec <= t {
			return 304
		}
	}
	return 0
}

// ifRangeHolds evaluates If-Range (RFC 9110 §13.1.5): true when the
// Range may be honoured. An entity-tag must match strongly; a date must
// equal Last-Modified exactly.
func ifRangeHolds(v []byte, rp *rep) bool {
	v = web.TrimOWS(v)
	if len(v) > 0 && (v[0] == '"' || v[0] == 'W') {
		return rp.etag != "" && rp.etag[0] == '"' && string(v) == rp.etag
	}
	t, ok := parseHTTPDate(v)
	return ok && rp.lastMod != "" && t == rp.modSec
}

// etagMatch reports whether list, an If-Match or If-None-Match value,
// is "*" or names an entity-tag matching etag: strongly (both strong and
// equal) or, with weak, by opaque-tag alone (RFC 9110 §8.8.3.2). An
// empty etag (none known) matches only "*". A malformed list matches
// nothing from its first error on.
func etagMatch(list []byte, etag string, weak bool) bool {
	ourWeak, ourTag := splitETag(etag)
	for {
		for len(list) > 0 && (list[0] == ' ' || list[0] == '\t' || list[0] == ',') {
			list = list[1:]
		}
		if len(list) == 0 {
			return false
		}
		if list[0] == '*' {
			return true
		}
		theirWeak := false
		if len(list) >= 2 && list[0] == 'W' && list[1] == '/' {
			theirWeak, list = true, list[2:]
		}
		if len(list) < 2 || list[0] != '"' {
			return false
		}
		end := 1
		for end < len(list) && list[end] != '"' {
			end++
		}
		if end == len(list) {
			return false
		}
		tag := list[:end+1]
		list = list[end+1:]
		if ourTag != "" && string(tag) == ourTag && (weak || !theirWeak && !ourWeak) {
			return true
		}
	}
}

// splitETag splits `W/"x"` into true and `"x"`.
func splitETag(etag string) (weak bool, tag string) {
	if len(etag) > 2 && etag[0] == 'W' && etag[1] == '/' {
		return true, etag[2:]
	}
	return false, etag
}
