// Package action holds the small handlers a config's routes name beside
// files and apps: a redirect, a fixed response, and rules that set or
// remove response header fields whatever the handler beneath wrote. Their
// strings may hold placeholders ($request_uri, $host...) filled from the
// request (Template).
//
// None allocates per request once built. It imports web and the standard
// library only.
package action

import (
	"strconv"

	"nave/internal/web"
)

// Redirect answers every request with Status and a Location made from a
// Template (RFC 9110 §15.4).
type Redirect struct {
	Status   int
	Location Template
	body     string
}

// NewRedirect returns a redirect with status (300-308) to location.
func NewRedirect(status int, location Template) *Redirect {
	return &Redirect{Status: status, Location: location,
		body: strconv.Itoa(status) + " " + web.StatusText(status) + "\n"}
}

// Serve writes the redirect. A Location that would not be a valid field
// value (it cannot, from a request nave parsed) gets 400.
func (h *Redirect) Serve(w *web.ResponseWriter, r *web.Request) {
	var buf [512]byte
	loc := h.Location.Append(buf[:0], r)
	if !web.ValidFieldValue(loc) {
		web.Error(w, 400, "cannot redirect this request")
		return
	}
	hd := w.Header()
	hd.SetBytes("Location", loc)
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(h.Status)
	w.WriteString(h.body)
}

// Respond answers every request with a fixed status, content type and a
// body made from a Template.
type Respond struct {
	Status      int
	ContentType string
	Body        Template
}

// Serve writes the response.
func (h *Respond) Serve(w *web.ResponseWriter, r *web.Request) {
	w.Header().Set("Content-Type", h.ContentType)
	w.WriteHeader(h.Status)
	h.Body.WriteTo(w, r)
}

// Headers is a handler whose response fields are changed as its head goes
// out: Remove first, then Set (each replacing every field of its name).
type Headers struct {
	Next   web.Handler
	Set    []Field
	Remove []string
	apply  func(*web.Header) // h.applyTo, made once
}

// Field is a header field to set.
type Field struct{ Name, Value string }

// NewHeaders wraps next with the rules.
func NewHeaders(next web.Handler, set []Field, remove []string) *Headers {
	h := &Headers{Next: next, Set: set, Remove: remove}
	h.apply = h.applyTo
	return h
}

// Serve has the rules applied to next's response.
func (h *Headers) Serve(w *web.ResponseWriter, r *web.Request) {
	w.OnHead(h.apply)
	h.Next.Serve(w, r)
}

func (h *Headers) applyTo(hd *web.Header) {
	for _, name := range h.Remove {
		hd.Del(name)
	}
	for _, f := range h.Set {
		hd.Set(f.Name, f.Value)
	}
}
