package web_test

import (
	"testing"

	"nave/internal/web"
	"nave/internal/web/webtest"
)

// Relayed is the handler's word for one exchange: it starts unsaid, and
// the next exchange on the same writer forgets it.
func TestRelayedIsPerExchange(t *testing.T) {
	var rc webtest.Recorder
	r := &web.Request{Method: []byte("GET")}
	w := rc.Begin(r)
	if rc.Relayed() {
		t.Fatal("a new exchange reports a relayed answer")
	}
	w.Relayed()
	w.Write([]byte("from a worker"))
	if err := rc.End(); err != nil {
		t.Fatal(err)
	}
	if !rc.Relayed() {
		t.Fatal("Relayed was said, and not reported")
	}
	rc.Begin(r)
	if rc.Relayed() {
		t.Fatal("the next exchange still reports the last one's relayed answer")
	}
}
