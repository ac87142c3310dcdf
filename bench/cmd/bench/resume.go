package main

import (
	"crypto/tls"
	"fmt"

	"nave/bench/internal/servers"
)

// resumeProbes is how many new connections after the first the resumption
// probe opens.
const resumeProbes = 4

// probeResumption counts, after a run of w, how many new connections the
// server lets resume, and adds the count to r.
func (b *bench) probeResumption(r *row, addr string, w workload) {
	n, err := resumption(addr, w, b.tls.Client, resumeProbes)
	if err != nil {
		b.logf("%s on %s: %v", r.Server, w.Name, err)
		r.fail(err.Error())
		return
	}
	if r.Resumption == nil {
		r.Resumption = &resumeCount{}
	}
	r.Resumption.Resumed += n
	r.Resumption.Of += resumeProbes
	b.logf("%-9s %-17s TLS session resumed on %d of %d new connections", w.Name, r.Server, n, resumeProbes)
}

// resumption opens 1+n connections to addr one after another, each for one
// request of w, and counts those after the first that resumed the TLS
// session. Like one of wrk's connections, the client offers the session
// of its last connection, and a TLS 1.3 ticket once only (RFC 8446 §C.4):
// a server that sends no new ticket on a resumed connection makes the next
// handshake a full one.
func resumption(addr string, w workload, conf *tls.Config, n int) (int, error) {
	conf = conf.Clone()
	conf.ClientSessionCache = singleUse{tls.NewLRUClientSessionCache(1)}
	resumed := 0
	for i := 0; i <= n; i++ {
		resp, err := servers.Get(addr, w.Path, w.Header, conf)
		if err != nil {
			return 0, fmt.Errorf("resumption probe: %w", err)
		}
		if i > 0 && resp.TLS.DidResume {
			resumed++
		}
	}
	return resumed, nil
}

// singleUse is a session cache that forgets a session once it is offered.
type singleUse struct{ tls.ClientSessionCache }

func (c singleUse) Get(key string) (*tls.ClientSessionState, bool) {
	s, ok := c.ClientSessionCache.Get(key)
	if ok {
		c.ClientSessionCache.Put(key, nil) // the LRU cache's way to delete
	}
	return s, ok
}
