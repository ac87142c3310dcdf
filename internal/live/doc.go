// Package live is the machinery of a live reconfiguration: a Handler
// whose target is swapped atomically while connections keep serving, a Set
// that carries resources (sockets, worker pools, file handlers) from one
// config generation to the next when their spec is unchanged and hands
// back the ones a new generation no longer uses, and a Guard that lets the
// requests already inside a retired app finish before its workers stop.
//
// A reload builds the next generation beside the running one; nothing of
// it serves until every part is built, and a failure drops what was built
// and leaves the running generation as it was. The swap is one atomic
// store per listener; a request costs one atomic load.
//
// It imports web and the standard library only; internal/cli knows what
// the resources are.
package live
