package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"nave/bench/internal/proc"
	"nave/bench/internal/servers"
)

const (
	path      = "/hello.txt"
	bodyLen   = 14
	dialBurst = 256 // connections being opened at once: under any listen backlog
)

// counts classifies the outcome of one round over every connection.
type counts struct {
	OK        int `json:"ok"`
	Refused   int `json:"refused"`    // connect: ECONNREFUSED
	Dropped   int `json:"dropped"`    // EOF or reset before the whole answer
	Timeout   int `json:"timeout"`    // no (whole) answer in time
	BadAnswer int `json:"bad_answer"` // not a 200 with the file
	Other     int `json:"other"`
}

func (c counts) failed() int { return c.Refused + c.Dropped + c.Timeout + c.BadAnswer + c.Other }

func (c *counts) add(err error) {
	var ne net.Error
	switch {
	case err == nil:
		c.OK++
	case errors.Is(err, syscall.ECONNREFUSED):
		c.Refused++
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		c.Dropped++
	case errors.As(err, &ne) && ne.Timeout():
		c.Timeout++
	case errors.Is(err, errBadAnswer):
		c.BadAnswer++
	default:
		c.Other++
	}
}

var errBadAnswer = errors.New("c10k: not a 200 with the file")

// report is one server's result in one protocol.
type report struct {
	Server        string  `json:"server"`
	Protocol      string  `json:"protocol"`
	Conns         int     `json:"conns"`
	BaselineKiB   int64   `json:"baseline_rss_kib"` // before any connection
	OpenedKiB     int64   `json:"opened_rss_kib"`   // right after the first round
	IdleKiB       int64   `json:"idle_rss_kib"`     // after --settle with all idle
	PerConnKiB    float64 `json:"kib_per_idle_conn"`
	First         counts  `json:"first_round"`
	Second        counts  `json:"second_round"`
	OpenSeconds   float64 `json:"open_seconds"`
	SecondSeconds float64 `json:"second_round_seconds"`
	Error         string  `json:"error,omitempty"`
}

func (r report) clean() bool {
	return r.Error == "" && r.First.OK == r.Conns && r.Second.OK == r.Conns
}

// conn is one client connection, kept open between rounds.
type conn interface {
	// roundTrip sends one GET and reads the whole answer by deadline.
	roundTrip(deadline time.Time) error
	close()
}

// measure starts the server, runs both rounds in protocol p, and stops it.
func measure(ctx context.Context, cfg config, env *servers.Env, name string, p protocol, log io.Writer) report {
	rep := report{Server: name, Protocol: p.Name, Conns: cfg.conns}
	fail := func(err error) report { rep.Error = err.Error(); return rep }
	srv, ok := servers.Lookup(name, p.Kind)
	if !ok {
		return fail(fmt.Errorf("%s does not speak %s here", name, p.Name))
	}
	if err := srv.Check(env); err != nil {
		return fail(err)
	}
	addr, err := servers.FreePort()
	if err != nil {
		return fail(err)
	}
	spec, err := srv.Spec(env, addr, filepath.Join(env.Tmp, "docroot"))
	if err != nil {
		return fail(err)
	}
	pr, err := proc.Start(spec)
	if err != nil {
		return fail(err)
	}
	defer pr.Stop(5 * time.Second)
	dial := p.dialer(addr)
	probe := func() error {
		c, err := dial(ctx, time.Now().Add(2*time.Second))
		if err == nil {
			c.close()
		}
		return err
	}
	if err := servers.WaitReadyFunc(ctx, pr, addr, probe, 20*time.Second); err != nil {
		return fail(fmt.Errorf("%v\n%s", err, pr.LogTail(10)))
	}
	time.Sleep(time.Second)
	rep.BaselineKiB = proc.RSS(pr.Tree())
	fmt.Fprintf(log, "c10k: %s %s: baseline %d KiB; opening %d connections\n", name, p.Name, rep.BaselineKiB, cfg.conns)

	start := time.Now()
	conns := openAll(ctx, dial, cfg.conns, cfg.timeout, &rep.First)
	defer closeAll(conns)
	rep.OpenSeconds = time.Since(start).Seconds()
	rep.OpenedKiB = proc.RSS(pr.Tree())
	fmt.Fprintf(log, "c10k: %s %s: %d served once in %.1fs; idle for %v\n", name, p.Name, rep.First.OK, rep.OpenSeconds, cfg.settle)
	select {
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-time.After(cfg.settle):
	}
	rep.IdleKiB = proc.RSS(pr.Tree())
	if rep.First.OK > 0 {
		rep.PerConnKiB = float64(rep.IdleKiB-rep.BaselineKiB) / float64(rep.First.OK)
	}

	start = time.Now()
	secondRound(ctx, conns, cfg.timeout, &rep.Second)
	rep.SecondSeconds = time.Since(start).Seconds()
	select {
	case <-pr.Exited():
		rep.Error = "server exited"
	default:
	}
	return rep
}

// openAll opens n connections with dial, at most dialBurst at a time,
// each served once; it returns those that were, and counts every outcome.
func openAll(ctx context.Context, dial dialFunc, n int, timeout time.Duration, cnt *counts) []conn {
	deadline := time.Now().Add(timeout)
	out := make([]conn, n)
	errs := make([]error, n)
	sem := make(chan struct{}, dialBurst)
	var wg sync.WaitGroup
	for i := 0; i < n && ctx.Err() == nil; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = dial(ctx, deadline)
		}()
	}
	wg.Wait()
	var kept []conn
	for i := range out {
		if ctx.Err() == nil {
			cnt.add(errs[i])
		}
		if out[i] != nil {
			kept = append(kept, out[i])
		}
	}
	return kept
}

// secondRound has every connection send a request at the same moment.
func secondRound(ctx context.Context, conns []conn, timeout time.Duration, cnt *counts) {
	deadline := time.Now().Add(timeout)
	errs := make([]error, len(conns))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, cn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = cn.roundTrip(deadline)
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if ctx.Err() == nil {
			cnt.add(err)
		}
	}
}

// closeAll closes every connection.
func closeAll(conns []conn) {
	for _, c := range conns {
		c.close()
	}
}

func printReports(w io.Writer, rs []report) {
	fmt.Fprintln(w)
	markdown(w, rs)
}

// markdown writes the reports as a table.
func markdown(w io.Writer, rs []report) {
	fmt.Fprintln(w, "| server | protocol | connections | RSS before | RSS idle | KiB per idle conn | 1st round ok | 2nd round ok | refused | dropped | timeouts | bad | 2nd round time |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rs {
		if r.Error != "" && r.First.OK == 0 {
			fmt.Fprintf(w, "| %s | %s | %d | failed: %s |||||||||| \n", r.Server, r.Protocol, r.Conns, firstLineOf(r.Error))
			continue
		}
		f, s := r.First, r.Second
		fmt.Fprintf(w, "| %s | %s | %d | %.1f MiB | %.1f MiB | %.2f | %d | %d | %d | %d | %d | %d | %.2f s |\n",
			r.Server, r.Protocol, r.Conns, float64(r.BaselineKiB)/1024, float64(r.IdleKiB)/1024, r.PerConnKiB,
			f.OK, s.OK, f.Refused+s.Refused, f.Dropped+s.Dropped, f.Timeout+s.Timeout,
			f.BadAnswer+s.BadAnswer+f.Other+s.Other, r.SecondSeconds)
		if r.Error != "" {
			fmt.Fprintf(w, "\n%s %s: %s\n\n", r.Server, r.Protocol, firstLineOf(r.Error))
		}
	}
}

func firstLineOf(s string) string {
	for i := range len(s) {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
