package acme

import "errors"

// Errors returned by New for a configuration it cannot run, and
// ErrNoChallenge, which Status reports for a name whose authorization
// offers none of the configured challenge types. They are wrapped with the
// offending value, so test with errors.Is.
var (
	ErrNoNames       = errors.New("acme: no names configured")
	ErrBadName       = errors.New("acme: bad name")
	ErrDuplicateName = errors.New("acme: duplicate name")
	ErrBadChallenge  = errors.New("acme: unknown challenge type")
	ErrBadCA         = errors.New("acme: bad CA directory URL")
	ErrBadEmail      = errors.New("acme: bad contact email")
	ErrNoDir         = errors.New("acme: no storage directory")
	ErrRenewBefore   = errors.New("acme: negative RenewBefore")
	ErrNoChallenge   = errors.New("acme: CA offers none of the configured challenge types")
)
