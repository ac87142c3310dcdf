package robust

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// clientTimeout bounds every exchange a test client makes, so that a server
// that fails to answer fails the test instead of hanging it.
const clientTimeout = 5 * time.Second

// response is one response read off the wire, with its whole body.
type response struct {
	status int
	header http.Header
	body   []byte
	close  bool // the server announced it closes after this response
}

// readResponse reads the next final response to a request with the given
// method, skipping interim (1xx) responses.
func readResponse(br *bufio.Reader, method string) (response, error) {
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return response{}, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 {
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return response{}, fmt.Errorf("body after %d bytes: %w", len(body), err)
		}
		return response{status: resp.StatusCode, header: resp.Header, body: body, close: resp.Close}, nil
	}
}

// readToEOF reads what is left on the connection until the server closes
// it. A reset counts as a close: a server may close with request bytes
// still unread. It returns the bytes read and any other error.
func readToEOF(br *bufio.Reader) ([]byte, error) {
	b, err := io.ReadAll(br)
	if err != nil && errors.Is(err, syscall.ECONNRESET) {
		err = nil
	}
	return b, err
}

// get sends one GET on a new connection and returns the response.
func get(addr, path string) (response, error) {
	nc, err := net.DialTimeout("tcp", addr, clientTimeout)
	if err != nil {
		return response{}, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(clientTimeout))
	if _, err := fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path); err != nil {
		return response{}, err
	}
	return readResponse(bufio.NewReader(nc), "GET")
}
