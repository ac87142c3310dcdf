package certs

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
)

// maxTicketKeys bounds a ticket key file (format: Options.TicketKeyFile).
const maxTicketKeys = 16

// ticketTarget is a config whose ticket keys come from file.
type ticketTarget struct {
	file string
	cfg  *tls.Config
}

func readTicketKeys(path string) ([][32]byte, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	var keys [][32]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		t := bytes.TrimSpace(sc.Bytes())
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		var k [32]byte
		if len(t) != 2*len(k) {
			return nil, &FileError{Path: path,
				Err: fmt.Errorf("%w: line %d: want 64 hex digits, have %d characters", ErrTicketKeys, line, len(t))}
		}
		if _, err := hex.Decode(k[:], t); err != nil {
			return nil, &FileError{Path: path, Err: fmt.Errorf("%w: line %d: not hex", ErrTicketKeys, line)}
		}
		if len(keys) == maxTicketKeys {
			return nil, &FileError{Path: path, Err: fmt.Errorf("%w: more than %d keys", ErrTicketKeys, maxTicketKeys)}
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, &FileError{Path: path, Err: fmt.Errorf("%w: %v", ErrTicketKeys, err)}
	}
	if len(keys) == 0 {
		return nil, &FileError{Path: path, Err: fmt.Errorf("%w: no keys", ErrTicketKeys)}
	}
	return keys, nil
}

// reloadTicketsLocked re-reads every ticket key file. A config whose file
// is bad keeps its keys. Guarded by mu.
func (s *Store) reloadTicketsLocked() error {
	var errs []error
	for _, t := range s.tickets {
		keys, err := readTicketKeys(t.file)
		if err != nil {
			s.log.Error("certs: session ticket keys not reloaded, keeping the keys in use", "err", err)
			errs = append(errs, err)
			continue
		}
		t.cfg.SetSessionTicketKeys(keys)
		s.log.Info("certs: loaded session ticket keys", "file", t.file, "keys", len(keys))
	}
	return errors.Join(errs...)
}
