package server

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"nave/internal/web"
	"nave/internal/wiretest"
)

// TestTLSSilentClientParks: a client that connects and says nothing is
// parked like an idle plain connection, and is served once it speaks.
func TestTLSSilentClientParks(t *testing.T) {
	s, addr, ctc := startTLSParking(t, Config{Handler: web.HandlerFunc(tlsEcho)}, 20*time.Millisecond)
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	waitParked(t, s, 1)
	tc := tls.Client(raw, ctc)
	tc.SetDeadline(time.Now().Add(clientTimeout))
	c := wiretest.NewConn(t, tc)
	c.Send("GET /woke HTTP/1.1\r\nHost: localhost\r\n\r\n")
	if r := c.ReadWhole("GET"); r.Status != 200 || !strings.HasSuffix(string(r.Body), "/woke\n") {
		t.Fatalf("after parking: got %d %q", r.Status, r.Body)
	}
}
