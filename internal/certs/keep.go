package certs

import (
	"context"
	"crypto/x509"
	"log/slog"
	"strings"
	"time"
)

// LocalKey is the Store key under which Keep files its certificate.
const LocalKey = "local"

// retryDelay is how long Keep waits after a failed issuance.
const retryDelay = time.Minute

// Keep issues a leaf for names (see Issue), puts it in s under LocalKey,
// and returns; an error means nothing was put. Until ctx ends, a goroutine
// then replaces the leaf each time renewAt says so, logging each issuance
// to log (nil discards); a failed renewal is logged and retried after
// retryDelay while the old leaf serves on.
func (ca *LocalCA) Keep(ctx context.Context, s *Store, names []string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	leaf, err := ca.issueInto(s, names, log)
	if err != nil {
		return err
	}
	after := ca.after
	if after == nil {
		after = time.After
	}
	go func() {
		due := renewAt(leaf)
		for {
			select {
			case <-ctx.Done():
				return
			case <-after(due.Sub(ca.now())):
			}
			leaf, err := ca.issueInto(s, names, log)
			if err != nil {
				log.Error("certs: local certificate not renewed, retrying", "err", err, "retry_in", retryDelay)
				due = ca.now().Add(retryDelay)
				continue
			}
			due = renewAt(leaf)
		}
	}()
	return nil
}

func (ca *LocalCA) issueInto(s *Store, names []string, log *slog.Logger) (*x509.Certificate, error) {
	c, err := ca.Issue(names)
	if err != nil {
		return nil, err
	}
	if err := s.Put(LocalKey, c); err != nil {
		return nil, err
	}
	log.Info("certs: issued local certificate", "names", strings.Join(leafNames(c.Leaf), ","),
		"not_after", c.Leaf.NotAfter.UTC(), "renew_at", renewAt(c.Leaf).UTC())
	return c.Leaf, nil
}

// renewAt is when a leaf should be replaced: once two thirds of its
// lifetime have passed, which leaves a third (over two days for a local
// leaf) to retry a failed renewal before it expires.
func renewAt(leaf *x509.Certificate) time.Time {
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	return leaf.NotBefore.Add(life - life/3)
}
