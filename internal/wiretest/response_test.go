package wiretest

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name, method, raw string
		status            int
		body              string
		chunked, closed   bool
		close             bool
		trailer           string // "Name: value" of the one trailer field wanted
		rest              string // what stays unread after the response
	}{
		{name: "content_length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloNEXT", status: 200, body: "hello", rest: "NEXT"},
		{name: "chunked", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\n\r\nNEXT", status: 200, body: "hello!", chunked: true, rest: "NEXT"},
		{name: "chunked_trailer", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nX-Sum: 42\r\n\r\n", status: 200, body: "hi", chunked: true, trailer: "X-Sum: 42"},
		{name: "te_overrides_cl", raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", status: 200, body: "hi", chunked: true},
		{name: "until_close", raw: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it", status: 200, body: "all of it", close: true},
		{name: "head", method: "HEAD", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nNEXT", status: 200, rest: "NEXT"},
		{name: "no_content", raw: "HTTP/1.1 204 No Content\r\n\r\nNEXT", status: 204, rest: "NEXT"},
		{name: "not_modified", raw: "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nNEXT", status: 304, rest: "NEXT"},
		{name: "interim", raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", status: 100, rest: "HTTP/1.1 200 OK\r\n"},
		{name: "http10_closes", raw: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", status: 200, close: true},
		{name: "http10_keep_alive", raw: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", status: 200},
		{name: "cut_content_length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", status: 200, body: "half", closed: true},
		{name: "cut_chunk", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", status: 200, body: "hel", chunked: true, closed: true},
		{name: "cut_before_last_chunk", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", status: 200, body: "hello", chunked: true, closed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			br := bufio.NewReader(strings.NewReader(tc.raw))
			r, err := ReadResponse(br, method)
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if r.Status != tc.status || string(r.Body) != tc.body || r.Chunked != tc.chunked || r.Closed != tc.closed || r.Close != tc.close {
				t.Errorf("got %d %q chunked=%v closed=%v close=%v, want %d %q chunked=%v closed=%v close=%v",
					r.Status, r.Body, r.Chunked, r.Closed, r.Close, tc.status, tc.body, tc.chunked, tc.closed, tc.close)
			}
			if tc.trailer != "" {
				name, value, _ := strings.Cut(tc.trailer, ": ")
				if got := r.Trailer.Get(name); got != value {
					t.Errorf("trailer %s: got %q, want %q", name, got, value)
				}
			}
			if rest, _ := io.ReadAll(br); string(rest) != tc.rest {
				t.Errorf("left unread %q, want %q", rest, tc.rest)
			}
		})
	}
}

func TestReadResponseHead(t *testing.T) {
	raw := "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nx-two: a\r\nX-Two:  b \r\n\r\n"
	r, err := ReadResponse(bufio.NewReader(strings.NewReader(raw)), "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if r.Head != raw || r.Proto != "HTTP/1.1" || r.Reason != "Not Found" {
		t.Errorf("got head %q proto %q reason %q, want %q HTTP/1.1 Not Found", r.Head, r.Proto, r.Reason, raw)
	}
	if !r.Has("content-type") || r.Get("CONTENT-TYPE") != "text/plain" || r.Has("Content-Length") {
		t.Errorf("field lookup is not case-insensitive: %v", r.Header)
	}
	if got := r.Header.Values("X-Two"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("X-Two: got %q, want [a b]", got)
	}
}

func TestReadResponseErrors(t *testing.T) {
	tests := []struct {
		name, raw string
		want      error // nil: any error
	}{
		{name: "nothing", raw: "", want: io.EOF},
		{name: "cut_head", raw: "HTTP/1.1 200 OK\r\nContent-Le", want: io.ErrUnexpectedEOF},
		{name: "bare_lf", raw: "HTTP/1.1 200 OK\nContent-Length: 0\n\n"},
		{name: "bad_status_line", raw: "HTTP/1.1 20 OK\r\n\r\n"},
		{name: "not_http", raw: "SSH-2.0-OpenSSH\r\n\r\n"},
		{name: "field_without_colon", raw: "HTTP/1.1 200 OK\r\nbroken\r\n\r\n"},
		{name: "space_before_colon", raw: "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"},
		{name: "differing_lengths", raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
		{name: "bad_chunk_size", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
		{name: "chunk_without_crlf", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiX\r\n0\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadResponse(bufio.NewReader(strings.NewReader(tc.raw)), "GET")
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got error %v, want %v", err, tc.want)
			}
		})
	}
}
