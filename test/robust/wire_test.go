package robust

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"time"

	"nave/internal/wiretest"
)

// clientTimeout bounds every exchange a test client makes, so that a server
// that fails to answer fails the test instead of hanging it.
const clientTimeout = 5 * time.Second

// readResponse reads the next final response to a request with the given
// method, skipping interim (1xx) responses. A body cut short is an error
// here: these clients count a response as served only when it is whole.
// It returns a non-nil response, empty when nothing was read.
func readResponse(br *bufio.Reader, method string) (*wiretest.Response, error) {
	for {
		r, err := wiretest.ReadResponse(br, method)
		switch {
		case err != nil:
			return r, err
		case r.Closed:
			return r, fmt.Errorf("body after %d bytes: %w", len(r.Body), io.ErrUnexpectedEOF)
		case r.Status >= 200:
			return r, nil
		}
	}
}

// get sends one GET on a new connection and returns the response. It
// reports errors rather than failing the test, for load clients that run
// on their own goroutines.
func get(addr, path string) (*wiretest.Response, error) {
	nc, err := net.DialTimeout("tcp", addr, clientTimeout)
	if err != nil {
		return &wiretest.Response{}, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(clientTimeout))
	if _, err := fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path); err != nil {
		return &wiretest.Response{}, err
	}
	return readResponse(bufio.NewReader(nc), "GET")
}
