package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Pair names a PEM certificate chain file (leaf first, then intermediates)
// and its PEM private key file.
type Pair struct{ CertFile, KeyFile string }

// maxPEMFile bounds what is read from a certificate or key file. A long
// chain is a few tens of KiB; anything larger is not a certificate file.
const maxPEMFile = 1 << 20

// loadPair reads and checks one pair. It reports every problem it finds,
// one error per problem, each a *FileError naming the file at fault.
func loadPair(p Pair, now time.Time) (*tls.Certificate, error) {
	chain, leaf, certErr := readChain(p.CertFile)
	key, keyErr := readKey(p.KeyFile)
	if err := errors.Join(certErr, keyErr); err != nil {
		return nil, err
	}
	if !publicKeyMatches(leaf.PublicKey, key) {
		return nil, &FileError{Path: p.KeyFile, Cert: p.CertFile, Err: ErrKeyMismatch}
	}
	if now.After(leaf.NotAfter) {
		return nil, &FileError{Path: p.CertFile,
			Err: fmt.Errorf("%w on %s", ErrExpired, leaf.NotAfter.UTC().Format(time.RFC3339))}
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// readChain returns the DER of every CERTIFICATE block in the file, in
// order, and the parsed first one (the leaf). Other block types are skipped.
func readChain(path string) (chain [][]byte, leaf *x509.Certificate, err error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, nil, &FileError{Path: path, Err: err}
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return nil, nil, &FileError{Path: path, Err: ErrNoCertificate}
	}
	for i, der := range chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, &FileError{Path: path,
				Err: fmt.Errorf("%w (block %d): %v", ErrBadCertificate, i+1, err)}
		}
		if i == 0 {
			leaf = c
		}
	}
	return chain, leaf, nil
}

// readKey returns the first private key in the file: PKCS #8 "PRIVATE KEY",
// SEC 1 "EC PRIVATE KEY" or PKCS #1 "RSA PRIVATE KEY".
func readKey(path string) (crypto.Signer, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, &FileError{Path: path, Err: ErrNoPrivateKey}
		}
		var k any
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, &FileError{Path: path, Err: fmt.Errorf("%w: %v", ErrUnsupportedKey, err)}
		}
		switch k := k.(type) {
		case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
			return k.(crypto.Signer), nil
		}
		return nil, &FileError{Path: path, Err: fmt.Errorf("%w: %T", ErrUnsupportedKey, k)}
	}
}

func publicKeyMatches(pub crypto.PublicKey, key crypto.Signer) bool {
	p, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && p.Equal(pub)
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPEMFile {
		return nil, fmt.Errorf("larger than %d bytes", maxPEMFile)
	}
	return data, nil
}
