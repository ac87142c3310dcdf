package wiretest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
)

// Response is one response as read off the wire.
type Response struct {
	Proto  string // "HTTP/1.1"
	Status int
	Reason string
	Head   string      // status line and field lines, raw, with the final empty line
	Header http.Header // field values with surrounding whitespace removed; keys canonical
	Body   []byte      // decoded: chunk framing removed

	Chunked bool        // the body came in the chunked transfer coding
	Trailer http.Header // trailer fields after the last chunk; nil when none
	Close   bool        // the server announced it closes after this response
	Closed  bool        // the connection ended before the body was complete
}

// Get returns the first value of the field name, case-insensitively, or "".
func (r *Response) Get(name string) string { return r.Header.Get(name) }

// Has reports whether the response has at least one field name,
// case-insensitively.
func (r *Response) Has(name string) bool { return len(r.Header.Values(name)) > 0 }

// ReadResponse reads one response to a request with the given method from
// br: a 1xx interim response is returned as it is, without a body.
//
// The error is io.EOF when the connection closed before the first byte of
// a head, io.ErrUnexpectedEOF when it closed inside one, and otherwise
// says what broke the framing. A body cut short by a close (or reset) is no
// error: Closed says so, and Body holds what arrived. The response read so
// far is returned with any error.
func ReadResponse(br *bufio.Reader, method string) (*Response, error) {
	r, err := readHead(br)
	if err != nil {
		return r, err
	}
	r.Close = announcesClose(r)
	// RFC 9112 §6.3: responses to HEAD, 1xx, 204 and 304 end at the head.
	if method == "HEAD" || r.Status < 200 || r.Status == 204 || r.Status == 304 {
		return r, nil
	}
	switch {
	case r.Has("Transfer-Encoding"):
		// §6.3 item 4: Transfer-Encoding overrides Content-Length; a final
		// coding other than chunked runs until the close.
		codings := strings.Split(strings.Join(r.Header.Values("Transfer-Encoding"), ","), ",")
		if strings.EqualFold(strings.TrimSpace(codings[len(codings)-1]), "chunked") {
			r.Chunked = true
			return r, readChunked(br, r)
		}
		return r, readToClose(br, r)
	case r.Has("Content-Length"):
		n, err := contentLength(r.Header.Values("Content-Length"))
		if err != nil {
			return r, err
		}
		r.Body = make([]byte, n)
		m, err := io.ReadFull(br, r.Body)
		r.Body = r.Body[:m]
		return r, cut(r, err)
	default:
		return r, readToClose(br, r)
	}
}

// readHead reads a status line and field lines. Every line must end in
// CRLF: nave never sends a bare LF, so one is a finding, not a tolerance.
func readHead(br *bufio.Reader) (*Response, error) {
	r := &Response{Header: http.Header{}}
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		head.WriteString(line)
		r.Head = head.String()
		if err != nil {
			if errors.Is(err, io.EOF) && r.Head != "" {
				err = io.ErrUnexpectedEOF
			}
			return r, err
		}
		if !strings.HasSuffix(line, "\r\n") {
			return r, fmt.Errorf("wiretest: head line %q does not end in CRLF", line)
		}
		line = line[:len(line)-2]
		switch {
		case r.Status == 0:
			if err := parseStatusLine(r, line); err != nil {
				return r, err
			}
		case line == "":
			return r, nil
		default:
			name, value, ok := strings.Cut(line, ":")
			if !ok || name == "" || strings.ContainsAny(name, " \t") {
				return r, fmt.Errorf("wiretest: malformed field line %q", line)
			}
			r.Header.Add(name, strings.Trim(value, " \t"))
		}
	}
}

// parseStatusLine parses RFC 9112 §4: HTTP-version SP 3DIGIT SP [reason].
func parseStatusLine(r *Response, line string) error {
	proto, rest, ok1 := strings.Cut(line, " ")
	code, reason, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if !ok1 || !strings.HasPrefix(proto, "HTTP/") || len(code) != 3 || err != nil || status < 100 {
		return fmt.Errorf("wiretest: malformed status line %q", line)
	}
	r.Proto, r.Status, r.Reason = proto, status, reason
	return nil
}

// announcesClose reports whether the response says the connection closes
// after it: "Connection: close", or HTTP/1.0 without keep-alive.
func announcesClose(r *Response) bool {
	var close, keepAlive bool
	for _, v := range r.Header.Values("Connection") {
		for _, opt := range strings.Split(v, ",") {
			switch strings.ToLower(strings.TrimSpace(opt)) {
			case "close":
				close = true
			case "keep-alive":
				keepAlive = true
			}
		}
	}
	return close || r.Proto == "HTTP/1.0" && !keepAlive
}

// contentLength parses Content-Length field values; several equal values
// count as one (RFC 9110 §8.6), differing ones are an error.
func contentLength(values []string) (int64, error) {
	var n int64 = -1
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			m, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil || m < 0 || n >= 0 && m != n {
				return 0, fmt.Errorf("wiretest: bad Content-Length %q", values)
			}
			n = m
		}
	}
	return n, nil
}

// readChunked decodes a chunked body and its trailer section (RFC 9112 §7.1).
func readChunked(br *bufio.Reader, r *Response) error {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return cut(r, err)
		}
		size, _, _ := strings.Cut(strings.TrimSuffix(line, "\r\n"), ";")
		n, perr := strconv.ParseInt(strings.TrimRight(size, " \t"), 16, 64)
		if !strings.HasSuffix(line, "\r\n") || perr != nil || n < 0 {
			return fmt.Errorf("wiretest: bad chunk-size line %q", line)
		}
		if n == 0 {
			return readTrailer(br, r)
		}
		chunk := make([]byte, n+2)
		m, err := io.ReadFull(br, chunk)
		r.Body = append(r.Body, chunk[:min(int64(m), n)]...)
		if err != nil {
			return cut(r, err)
		}
		if string(chunk[n:]) != "\r\n" {
			return fmt.Errorf("wiretest: chunk of %d bytes not followed by CRLF", n)
		}
	}
}

func readTrailer(br *bufio.Reader, r *Response) error {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return cut(r, err)
		}
		if line == "\r\n" {
			return nil
		}
		name, value, ok := strings.Cut(strings.TrimSuffix(line, "\r\n"), ":")
		if !strings.HasSuffix(line, "\r\n") || !ok || name == "" || strings.ContainsAny(name, " \t") {
			return fmt.Errorf("wiretest: malformed trailer line %q", line)
		}
		if r.Trailer == nil {
			r.Trailer = http.Header{}
		}
		r.Trailer.Add(name, strings.Trim(value, " \t"))
	}
}

// readToClose reads a body delimited by the end of the connection.
func readToClose(br *bufio.Reader, r *Response) error {
	b, err := io.ReadAll(br)
	r.Body = b
	if err != nil && !isClose(err) {
		return err
	}
	return nil
}

// cut turns a close inside a body into Closed; other errors (a timeout)
// pass through.
func cut(r *Response, err error) error {
	if err == nil {
		return nil
	}
	if isClose(err) {
		r.Closed = true
		return nil
	}
	return err
}

// isClose reports whether err means the peer ended the connection: EOF, or
// a reset, which a server may send when it closes with request bytes
// unread.
func isClose(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// Streamed reports whether the body comes without a declared length: in
// the chunked coding over HTTP/1.1; over HTTP/2, where DATA frames always
// frame the body, with neither content-length nor transfer-encoding (RFC
// 9113 §8.2.2 forbids the latter). It serves a head from ReadHead too.
func (r *Response) Streamed() bool {
	if r.Proto == "HTTP/2.0" {
		return !r.Has("Content-Length") && !r.Has("Transfer-Encoding")
	}
	return r.Chunked || strings.EqualFold(r.Get("Transfer-Encoding"), "chunked")
}
