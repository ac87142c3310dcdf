package http1

// Handler answers one request. It reads r (and r.Body, if it wants the
// body) and writes the response to w, streaming if it likes. Both are valid
// only until Serve returns. A Handler that panics gets the client a 500 (if
// nothing was sent yet) and the connection closed.
type Handler interface {
	Serve(w *ResponseWriter, r *Request)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w *ResponseWriter, r *Request)

// Serve calls f(w, r).
func (f HandlerFunc) Serve(w *ResponseWriter, r *Request) { f(w, r) }
