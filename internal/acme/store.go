package acme

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// store is the on-disk layout of one CA's state under Config.Dir:
//
//	<dir>/account.key      the account key, PEM "EC PRIVATE KEY"
//	<dir>/certs/<name>.crt the certificate chain, leaf first, PEM
//	<dir>/certs/<name>.key the certificate's key, PEM "EC PRIVATE KEY"
//
// Names are validated DNS names, so they are safe as file names; the
// account key sits outside certs/ so no name can collide with it. Each file
// is replaced atomically (temp file, fsync, rename). A certificate's key is
// written before its chain: after a crash between the two, the pair does
// not match, loadCert reports it, and the name is simply issued again.
type store struct {
	dir string
}

const (
	dirPerm  fs.FileMode = 0o700
	filePerm fs.FileMode = 0o600
)

func (s store) accountPath() string       { return filepath.Join(s.dir, "account.key") }
func (s store) chainPath(n string) string { return filepath.Join(s.dir, "certs", n+".crt") }
func (s store) keyPath(n string) string   { return filepath.Join(s.dir, "certs", n+".key") }

// accountKey loads the account key, or makes and stores a new ECDSA P-256
// one when there is none.
func (s store) accountKey() (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(s.accountPath())
	if errors.Is(err, fs.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("acme: generate account key: %w", err)
		}
		pemKey, err := encodeKey(key)
		if err != nil {
			return nil, err
		}
		if err := writeAtomic(s.accountPath(), pemKey); err != nil {
			return nil, err
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("acme: read account key: %w", err)
	}
	key, err := decodeKey(data)
	if err != nil {
		return nil, fmt.Errorf("acme: account key %s: %w", s.accountPath(), err)
	}
	return key, nil
}

// loadCert reads the stored certificate for name. It returns an error
// wrapping fs.ErrNotExist when none is stored. The caller checks validity.
func (s store) loadCert(name string) (*tls.Certificate, error) {
	chain, err := os.ReadFile(s.chainPath(name))
	if err != nil {
		return nil, fmt.Errorf("acme: read certificate: %w", err)
	}
	key, err := os.ReadFile(s.keyPath(name))
	if err != nil {
		return nil, fmt.Errorf("acme: read certificate key: %w", err)
	}
	cert, err := tls.X509KeyPair(chain, key)
	if err != nil {
		return nil, fmt.Errorf("acme: stored certificate for %s: %w", name, err)
	}
	if cert.Leaf == nil { // GODEBUG=x509keypairleaf=0
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("acme: stored certificate for %s: %w", name, err)
		}
	}
	return &cert, nil
}

// saveCert stores a certificate chain (DER, leaf first) and its key.
func (s store) saveCert(name string, chain [][]byte, key *ecdsa.PrivateKey) error {
	pemKey, err := encodeKey(key)
	if err != nil {
		return err
	}
	var pemChain bytes.Buffer
	for _, der := range chain {
		if err := pem.Encode(&pemChain, &pem.Block{Type: "CERTIFICATE", Bytes: der}); err != nil {
			return fmt.Errorf("acme: encode certificate: %w", err)
		}
	}
	if err := writeAtomic(s.keyPath(name), pemKey); err != nil {
		return err
	}
	return writeAtomic(s.chainPath(name), pemChain.Bytes())
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("acme: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func decodeKey(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "EC PRIVATE KEY" {
		return nil, errors.New("acme: no PEM \"EC PRIVATE KEY\" block")
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("acme: parse key: %w", err)
	}
	return key, nil
}

// writeAtomic replaces path with data, mode 0600, making missing folders
// 0700: a reader sees the old file or the new one, never a part.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return fmt.Errorf("acme: make folder: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("acme: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// CreateTemp makes 0600 files already; Chmod states it against a umask
	// or a platform that differs.
	if err := f.Chmod(filePerm); err != nil {
		return fmt.Errorf("acme: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("acme: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("acme: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("acme: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("acme: write %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("acme: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("acme: sync %s: %w", dir, err)
	}
	return nil
}
