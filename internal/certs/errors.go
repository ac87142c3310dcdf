package certs

import (
	"errors"
	"io/fs"
	"strings"
)

// The problems a certificate or key file can have. LoadFiles and Reload
// return them inside a *FileError that names the file.
var (
	// ErrNoCertificate: the certificate file holds no PEM CERTIFICATE block.
	ErrNoCertificate = errors.New("certs: no PEM certificate")
	// ErrBadCertificate: a CERTIFICATE block does not parse.
	ErrBadCertificate = errors.New("certs: malformed certificate")
	// ErrNoPrivateKey: the key file holds no PEM private key block.
	ErrNoPrivateKey = errors.New("certs: no PEM private key")
	// ErrUnsupportedKey: the private key does not parse or is not ECDSA, RSA or Ed25519.
	ErrUnsupportedKey = errors.New("certs: unsupported private key")
	// ErrKeyMismatch: the private key is not the leaf certificate's key.
	ErrKeyMismatch = errors.New("certs: key does not match certificate")
	// ErrExpired: the leaf certificate's NotAfter has passed.
	ErrExpired = errors.New("certs: certificate expired")
	// ErrNoHostMatch: a certificate covers none of the host names served (CheckNames).
	ErrNoHostMatch = errors.New("certs: certificate matches none of the host names")
	// ErrTicketKeys: the session ticket key file is malformed.
	ErrTicketKeys = errors.New("certs: malformed session ticket key file")
	// ErrNotCA: the local CA's certificate is not a CA certificate.
	ErrNotCA = errors.New("certs: not a CA certificate")
)

// ErrNoCertificateForName is what GetCertificate returns when the store is
// empty, so there is neither a match nor a default.
var ErrNoCertificateForName = errors.New("certs: no certificate for this connection")

// FileError is a problem with one file. Path is the file as the user gave it;
// Err is one of the errors above (possibly wrapped with detail) or the
// operating system's error. For ErrKeyMismatch, Path is the key file and
// Cert the certificate file.
type FileError struct {
	Path string
	Cert string
	Err  error
}

func (e *FileError) Error() string {
	if errors.Is(e.Err, ErrKeyMismatch) {
		return "certs: " + e.Path + " does not match " + e.Cert
	}
	// Every message reads "certs: FILE: reason". The sentinels carry the
	// package prefix and an os error carries the path: drop both.
	reason := e.Err
	var pe *fs.PathError
	if errors.As(reason, &pe) {
		reason = pe.Err
	}
	return "certs: " + e.Path + ": " + strings.TrimPrefix(reason.Error(), "certs: ")
}

func (e *FileError) Unwrap() error { return e.Err }
