package http2

import (
	"testing"
	"time"

	"nave/internal/web"
)

// TestHeadMemo: a head sent again on a connection reuses the remembered
// block once encoding it changed nothing, and only while that holds.
func TestHeadMemo(t *testing.T) {
	c := &Conn{}
	c.enc.Init()
	st := &stream{c: c}
	st.req.Start = time.Unix(1_800_000_000, 0)
	var hd web.Header
	hd.Add("Content-Type", "text/html")
	hd.Add("ETag", `"abc"`)
	h := &web.Head{Status: 200, Header: &hd, Length: 1024}
	remembered := func(b []byte) bool { return len(b) > 0 && &b[0] == &c.memo.block[0] }

	first := string(st.headBlock(h)) // fills the table: nothing to remember
	if c.memo.ok {
		t.Fatal("a block that changed the table was remembered")
	}
	second := string(st.headBlock(h)) // all indexed now
	if !c.memo.ok || second == first {
		t.Fatalf("the indexed block was not remembered (ok %v)", c.memo.ok)
	}
	if b := st.headBlock(h); !remembered(b) || string(b) != second {
		t.Fatalf("the same head was encoded again: %x, want the remembered %x", b, second)
	}
	h.Length = 1025
	if b := st.headBlock(h); remembered(b) {
		t.Fatal("a head with another length reused the block")
	}
	h.Length = 1024
	var other web.Header
	other.Add("Content-Type", "text/css") // goes into the table
	st.headBlock(&web.Head{Status: 200, Header: &other, Length: 1})
	if b := st.headBlock(h); string(b) == second {
		t.Fatal("the block was reused after the table changed")
	}
	st.req.Start = st.req.Start.Add(time.Second)
	if b := st.headBlock(h); string(b) == second {
		t.Fatal("the block was reused with another date")
	}
}
