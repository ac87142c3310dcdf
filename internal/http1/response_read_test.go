package http1

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		head     bool // the request was HEAD
		status   int
		reason   string
		body     string
		trailer  string // "Name: value" of the first trailer field
		close    bool
		wantErr  error
		wantNext bool // a second response follows on the connection
	}{
		{name: "length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 204 No Content\r\n\r\n", status: 200, reason: "OK", body: "hello", wantNext: true},
		{name: "chunked", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;x=y\r\n!\r\n0\r\nX-Sum: 1\r\n\r\n", status: 200, body: "hello!", reason: "OK", trailer: "X-Sum: 1"},
		{name: "until_close", raw: "HTTP/1.1 200 OK\r\n\r\nall of it", status: 200, reason: "OK", body: "all of it", close: true},
		{name: "http10", raw: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200, reason: "OK", body: "ok", close: true},
		{name: "http10_keepalive", raw: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", status: 200, reason: "OK", body: "ok"},
		{name: "close", raw: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", status: 200, reason: "OK", body: "ok", close: true},
		{name: "head", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", head: true, status: 200, reason: "OK"},
		{name: "no_content", raw: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", status: 204, reason: "No Content"},
		{name: "not_modified", raw: "HTTP/1.1 304 Not Modified\r\n\r\n", status: 304, reason: "Not Modified"},
		{name: "interim", raw: "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", status: 103, reason: "Early Hints", wantNext: true},
		{name: "bare_lf", raw: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", status: 200, reason: "OK", body: "ok"},
		{name: "no_reason", raw: "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", status: 404},
		{name: "custom_reason", raw: "HTTP/1.1 299 Fine Thanks\r\nContent-Length: 0\r\n\r\n", status: 299, reason: "Fine Thanks"},
		{name: "same_lengths", raw: "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok", status: 200, reason: "OK", body: "ok"},

		{name: "smuggle_cl_te", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", wantErr: ErrResponseFraming},
		{name: "smuggle_cl_cl", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", wantErr: ErrResponseFraming},
		{name: "bad_length", raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", wantErr: ErrResponseFraming},
		{name: "te_not_chunked_last", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", wantErr: ErrResponseFraming},
		{name: "not_http", raw: "SSH-2.0-OpenSSH\r\n\r\n", wantErr: ErrBadStatusLine},
		{name: "http2_status", raw: "HTTP/2 200\r\n\r\n", wantErr: ErrBadStatusLine},
		{name: "short_status", raw: "HTTP/1.1 20 OK\r\n\r\n", wantErr: ErrBadStatusLine},
		{name: "obs_fold", raw: "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n", wantErr: ErrBadResponseHeader},
		{name: "bad_field", raw: "HTTP/1.1 200 OK\r\nX A: 1\r\n\r\n", wantErr: ErrBadResponseHeader},
		{name: "ctl_in_reason", raw: "HTTP/1.1 200 O\x00K\r\n\r\n", wantErr: ErrBadStatusLine},
		{name: "bad_chunk", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", status: 200, reason: "OK", wantErr: ErrBadChunk},
		{name: "cut_body", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", status: 200, reason: "OK", wantErr: io.ErrUnexpectedEOF},
		{name: "cut_head", raw: "HTTP/1.1 200 OK\r\nContent-", wantErr: io.ErrUnexpectedEOF},
		{name: "empty", raw: "", wantErr: io.EOF},
	}
	for _, tt := range tests {
		for _, feed := range []struct {
			name string
			src  func(string) io.Reader
		}{
			{"whole", func(s string) io.Reader { return strings.NewReader(s) }},
			{"bytes", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
		} {
			t.Run(tt.name+"/"+feed.name, func(t *testing.T) {
				in := &Input{Src: feed.src(tt.raw)}
				var p Response
				err := ReadResponse(in, &p, tt.head, &Limits{})
				var body []byte
				if err == nil {
					body, err = io.ReadAll(&p.Body)
				}
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got error %v, want %v", err, tt.wantErr)
				}
				if (tt.wantErr == nil || tt.status != 0) && (p.Status != tt.status || string(p.Reason) != tt.reason) {
					t.Errorf("got status %d %q, want %d %q", p.Status, p.Reason, tt.status, tt.reason)
				}
				if err != nil {
					return
				}
				if string(body) != tt.body || p.Close != tt.close {
					t.Errorf("got body %q close %v, want %q close %v", body, p.Close, tt.body, tt.close)
				}
				if tt.trailer != "" {
					n, v := p.Trailer.At(0)
					if got := string(n) + ": " + string(v); got != tt.trailer {
						t.Errorf("got trailer %q, want %q", got, tt.trailer)
					}
				}
				var next Response
				err = ReadResponse(in, &next, false, &Limits{})
				if tt.wantNext != (err == nil) {
					t.Errorf("second response: got error %v, want one: %v", err, tt.wantNext)
				}
			})
		}
	}
}

func TestReadResponseLimits(t *testing.T) {
	raw := "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Long: "+strings.Repeat("a", 100)+"\r\n", 100) + "\r\n"
	in := &Input{Src: strings.NewReader(raw)}
	var p Response
	if err := ReadResponse(in, &p, false, &Limits{MaxHeaderBytes: 1024}); err != ErrResponseTooLarge {
		t.Errorf("header bytes: got %v, want %v", err, ErrResponseTooLarge)
	}
	in = &Input{Src: strings.NewReader(raw)}
	if err := ReadResponse(in, &p, false, &Limits{MaxHeaderCount: 10}); err != ErrResponseTooLarge {
		t.Errorf("header count: got %v, want %v", err, ErrResponseTooLarge)
	}
}
