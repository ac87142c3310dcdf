package status

import (
	_ "embed"

	"nave/internal/web"
)

// page is the status page: HTML, CSS and a little JavaScript in one file,
// which fetches the JSON at "status" beside it.
//
//go:embed page.html
var page string

// pagePolicy lets the page run its own inline script and style and fetch
// from its own origin, and nothing else (CSP Level 3).
const pagePolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// ServePage writes the status page; the caller routes GET and HEAD here.
func ServePage(w *web.ResponseWriter, r *web.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pagePolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(200)
	w.WriteString(page)
}
