package servers

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"nave/bench/internal/proc"
)

// WaitReady polls addr with GET path until the server answers with any HTTP
// response, the process exits, or timeout passes.
func WaitReady(ctx context.Context, p *proc.Proc, addr, path string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := Get(addr, path, nil); err == nil {
			return nil
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("%w: %v", proc.ErrExited, p.ExitErr())
		case <-ctx.Done():
			return fmt.Errorf("servers: not ready at %s after %v", addr, timeout)
		case <-tick.C:
		}
	}
}

// Response is what a check needs from one answer.
type Response struct {
	Status  int
	BodyLen int
	Header  http.Header
}

// Get sends one GET on a new connection, with the extra header fields given,
// and reads the whole answer (at most 2 s).
func Get(addr, path string, header map[string]string) (Response, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return Response{}, err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return Response{}, err
	}
	req, err := http.NewRequest("GET", "http://"+addr+path, nil)
	if err != nil {
		return Response{}, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if err := req.Write(c); err != nil {
		return Response{}, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: resp.StatusCode, BodyLen: int(n), Header: resp.Header}, nil
}
