package http1

import (
	"io"
	"testing"
	"time"
)

// browserGET is a typical request from a current Chrome, about 500 bytes.
const browserGET = "GET /articles/http-1-1-in-practice?ref=home HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"Connection: keep-alive\r\n" +
	"sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\"\r\n" +
	"sec-ch-ua-mobile: ?0\r\n" +
	"Upgrade-Insecure-Requests: 1\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Accept-Language: en-GB,en;q=0.9\r\n" +
	"Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark\r\n" +
	"\r\n"

// replay returns the same request on every Read, as a keep-alive client
// sending one request after another would.
type replay struct{ b []byte }

func (r *replay) Read(p []byte) (int, error) { return copy(p, r.b), nil }

func BenchmarkServeRequest(b *testing.B) {
	in := &Input{Src: &replay{[]byte(browserGET)}}
	var (
		r   Request
		tr  testResponse
		lim Limits
	)
	body := []byte("Hello, world!\n")
	now := time.Date(2024, 3, 9, 12, 30, 45, 0, time.UTC)
	serve := func() {
		if err := ReadRequest(in, &r, &lim); err != nil {
			b.Fatal(err)
		}
		w := tr.Reset(io.Discard, &r, now)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if _, err := w.Write(body); err != nil {
			b.Fatal(err)
		}
		if err := tr.Finish(); err != nil {
			b.Fatal(err)
		}
		if err := r.Body.Discard(1 << 20); err != nil {
			b.Fatal(err)
		}
	}
	serve() // grow the buffers once
	b.SetBytes(int64(len(browserGET)))
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}

func BenchmarkParseHead(b *testing.B) {
	raw := []byte(browserGET)
	var (
		r   Request
		lim Limits
	)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset()
		if n, err := r.ParseHead(raw, &lim); n != len(raw) || err != nil {
			b.Fatalf("ParseHead: %d, %v", n, err)
		}
	}
}
