package proxy

import (
	"context"
	"net"
	"strconv"
	"time"

	"nave/internal/http1"
)

// background starts the upstream's own goroutines: one active checker
// per server when checks are configured, and the idle sweeper.
func (h *Handler) background(ctx context.Context) {
	if h.set.health.Path != "" {
		for _, s := range h.servers {
			h.done.Add(1)
			go func() {
				defer h.done.Done()
				h.check(ctx, s)
			}()
		}
	}
	if h.set.idle > 0 && h.set.maxIdle > 0 {
		h.done.Add(1)
		go func() {
			defer h.done.Done()
			t := time.NewTicker(h.set.idle / 2)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-t.C:
					for _, s := range h.servers {
						s.sweep(now, h.set.idle)
					}
				}
			}
		}()
	}
}

// check probes s every interval; Fall failures in a row take it out,
// Rise passes in a row bring it back, eased in by slow start.
func (h *Handler) check(ctx context.Context, s *server) {
	hc := h.set.health
	t := time.NewTicker(hc.Interval)
	defer t.Stop()
	passes, fails := 0, 0
	for {
		err := h.probe(ctx, s)
		if err == nil {
			passes, fails = passes+1, 0
			if s.unhealthy.Load() && passes >= hc.Rise {
				s.upSince.Store(time.Now().UnixNano())
				s.unhealthy.Store(false)
				h.log.Info("upstream server is healthy again", "server", s.addr)
			}
		} else {
			passes, fails = 0, fails+1
			if !s.unhealthy.Load() && fails >= hc.Fall {
				s.unhealthy.Store(true)
				h.log.Warn("upstream server failed its health check", "server", s.addr, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// errHealthStatus: the check got an answer, with a status not expected.
type errHealthStatus int

func (e errHealthStatus) Error() string { return "health check: status " + strconv.Itoa(int(e)) }

// probe sends one check request on a fresh connection.
func (h *Handler) probe(ctx context.Context, s *server) error {
	hc := h.set.health
	ctx, cancel := context.WithTimeout(ctx, hc.Timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	dl, _ := ctx.Deadline()
	nc.SetDeadline(dl)
	host := h.cfg.Host
	if host == "" {
		host = s.addr
	}
	req := "GET " + hc.Path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: nave-health-check\r\nConnection: close\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		return err
	}
	in := http1.Input{Src: nc}
	var resp http1.Response
	for {
		if err := http1.ReadResponse(&in, &resp, false, &h.lim); err != nil {
			return err
		}
		if resp.Status >= 200 {
			break
		}
	}
	ok := resp.Status >= 200 && resp.Status < 400
	if hc.Status != 0 {
		ok = resp.Status == hc.Status
	}
	if !ok {
		return errHealthStatus(resp.Status)
	}
	return nil
}
