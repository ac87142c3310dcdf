package http1

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"nave/internal/web"
)

const upgradeRequest = "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"

// TestUpgrade: 101 with the handler's Upgrade and Connection fields, then
// the connection as a byte stream whose first bytes are those the client
// sent after the request; the connection is not reused.
func TestUpgrade(t *testing.T) {
	in := &Input{Src: strings.NewReader(upgradeRequest + "early bytes|then the rest")}
	var r Request
	if err := ReadRequest(in, &r, &Limits{}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var tr testResponse
	w := tr.Reset(&out, &r, testNow)
	w.Header().Set("Upgrade", "websocket")
	w.Header().Set("Connection", "Upgrade")
	rw, err := w.Upgrade()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rw)
	if err != nil || string(got) != "early bytes|then the rest" {
		t.Errorf("read after upgrade: %q, %v", got, err)
	}
	io.WriteString(rw, "from the server")
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after Upgrade: no error")
	}
	if err := tr.Finish(); err != nil {
		t.Errorf("Finish: %v", err)
	}
	want := "HTTP/1.1 101 Switching Protocols\r\nDate: Sat, 09 Mar 2024 12:30:45 GMT\r\nServer: nave\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\nfrom the server"
	if out.String() != want {
		t.Errorf("wire:\ngot  %q\nwant %q", out.String(), want)
	}
	if !tr.s.Closing() {
		t.Error("an upgraded connection is to be reused")
	}
}

func TestUpgradeRefused(t *testing.T) {
	for _, tc := range []struct {
		name, req string
		before    func(w *web.ResponseWriter)
	}{
		{"http10", "GET /chat HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", func(*web.ResponseWriter) {}},
		{"after_write", upgradeRequest, func(w *web.ResponseWriter) { w.WriteString("x") }},
		{"after_status", upgradeRequest, func(w *web.ResponseWriter) { w.WriteHeader(400) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := parseTestRequest(t, tc.req)
			var tr testResponse
			w := tr.Reset(io.Discard, r, testNow)
			tc.before(w)
			if _, err := w.Upgrade(); err != web.ErrUpgrade {
				t.Errorf("Upgrade: got %v, want web.ErrUpgrade", err)
			}
		})
	}
}
