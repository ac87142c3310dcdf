package wiretest

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// h2Echo is a net/http server speaking HTTP/2 in the clear and over TLS:
// the trusted peer the HTTP/2 mode is checked against.
func h2Echo(t *testing.T, useTLS bool) *Server {
	t.Helper()
	t.Setenv(H2Env, "1")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Trailer", "X-Sum")
		fmt.Fprintf(w, "%s %s %s host=%s te=%q len=%d body=%s trailer=%s",
			r.Proto, r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("Te"), r.ContentLength, body, r.Trailer.Get("X-T"))
		w.Header().Set("X-Sum", "42")
	})
	s := &http.Server{Handler: h, Protocols: new(http.Protocols)}
	s.Protocols.SetHTTP2(true)
	s.Protocols.SetUnencryptedHTTP2(true)
	return ServeMode(t, &netHTTP{s}, useTLS)
}

// netHTTP adapts an *http.Server to Servable.
type netHTTP struct{ *http.Server }

func (n *netHTTP) ServeTLS(ln net.Listener, cfg *tls.Config) error {
	return n.Server.Serve(tls.NewListener(ln, cfg))
}

func TestH2Mode(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprint("tls=", useTLS), func(t *testing.T) {
			srv := h2Echo(t, useTLS)
			c := srv.Dial(t)
			// Pipelined: a GET, a HEAD, a body sent in two writes, a
			// chunked body with a trailer, an absolute-form target.
			c.Send("GET /a?b HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nTE: trailers\r\n\r\n" +
				"HEAD /head HTTP/1.1\r\nHost: h\r\n\r\n" +
				"POST /cl HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello")
			c.Send("world" +
				"POST /chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3\r\nabc\r\n2;x=1\r\nde\r\n0\r\nX-T: t\r\n\r\n" +
				"GET http://abs/x HTTP/1.1\r\nHost: h\r\n\r\n")
			want := []struct{ method, body string }{
				{"GET", `HTTP/2.0 GET /a?b host=h te="trailers" len=0 body= trailer=`},
				{"HEAD", ""},
				{"POST", `HTTP/2.0 POST /cl host=h te="" len=10 body=helloworld trailer=`},
				{"POST", `HTTP/2.0 POST /chunked host=h te="" len=-1 body=abcde trailer=t`},
				{"GET", `HTTP/2.0 GET /x host=abs te="" len=0 body= trailer=`},
			}
			for _, w := range want {
				r := c.ReadWhole(w.method)
				if r.Proto != "HTTP/2.0" || r.Status != 200 || string(r.Body) != w.body || r.Chunked || r.Close || r.Reason != "" {
					t.Errorf("%s: got %s %d %q chunked=%v close=%v, want HTTP/2.0 200 %q", w.method, r.Proto, r.Status, r.Body, r.Chunked, r.Close, w.body)
				}
				if w.method == "GET" && r.Trailer.Get("X-Sum") != "42" {
					t.Errorf("%s: trailer %v, want X-Sum: 42", w.method, r.Trailer)
				}
				if !strings.HasPrefix(r.Head, ":status: 200\r\n") {
					t.Errorf("head %q", r.Head)
				}
			}
			// ReadHead leaves the body to Reader.
			c.Send("GET /r HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n")
			if r := c.ReadHead(); r.Status != 200 {
				t.Fatalf("head %q", r.Head)
			}
			first := make([]byte, 8)
			if _, err := io.ReadFull(c.Reader(), first); err != nil || string(first) != "HTTP/2.0" {
				t.Fatalf("got %q %v", first, err)
			}
			rest, err := io.ReadAll(c.Reader())
			if err != nil || !strings.HasPrefix(string(rest), " GET /r ") {
				t.Errorf("rest %q %v", rest, err)
			}
			if r := c.ReadWhole("GET"); !strings.Contains(string(r.Body), "GET /next ") {
				t.Errorf("next: %q", r.Body)
			}
		})
	}
}
