package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// files are what the load asks for and checks, byte for byte.
var files = map[string][]byte{
	"small.txt": []byte("hello from the fleet\n"),
	"big.bin":   bytes.Repeat([]byte("0123456789abcdef"), 16<<10), // 256 KiB
}

// load sends requests through the load balancer until stopped and counts
// the outcomes by phase.
type load struct {
	phase atomic.Pointer[string]
	mu    sync.Mutex
	ok    map[string]int      // guarded by mu
	fail  map[string]int      // guarded by mu
	errs  map[string][]string // first few failures per phase; guarded by mu
}

func newLoad() *load {
	l := &load{ok: map[string]int{}, fail: map[string]int{}, errs: map[string][]string{}}
	l.setPhase("start")
	return l
}

func (l *load) setPhase(p string) { l.phase.Store(&p) }

func (l *load) record(err error) {
	p := *l.phase.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.ok[p]++
		return
	}
	l.fail[p]++
	if len(l.errs[p]) < 5 {
		l.errs[p] = append(l.errs[p], err.Error())
	}
}

// run starts n clients against base; the returned func stops them and
// waits for them.
func (l *load) run(base string, n int) func() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			names := []string{"small.txt", "big.bin"}
			for k := i; ctx.Err() == nil; k++ {
				name := names[k%2]
				err := get(ctx, client, base+"/"+name, files[name])
				if ctx.Err() != nil {
					return // stopped mid-request: not the fleet's failure
				}
				l.record(err)
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

// get fetches url and checks the answer is 200 with body want.
func get(ctx context.Context, c *http.Client, url string, want []byte) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(len(want))+1))
	switch {
	case err != nil:
		return fmt.Errorf("%s: body: %w", url, err)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s: status %d", url, resp.StatusCode)
	case !bytes.Equal(body, want):
		return fmt.Errorf("%s: %d bytes that differ from the file's %d", url, len(body), len(want))
	}
	return nil
}
