package http2

import (
	"strings"
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

// lines decodes block with d into "name: value" lines.
func lines(t *testing.T, d *Decoder, block []byte) string {
	t.Helper()
	fields, err := decode(d, block)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fields {
		out = append(out, f.String())
	}
	return strings.Join(out, "\n")
}

// TestHeadMemoRequestID: responses that differ only in the request id,
// the last field, share the remembered block, and each decodes to its own
// id and the rest of its head.
func TestHeadMemoRequestID(t *testing.T) {
	c := &Conn{}
	c.enc.Init()
	var dec Decoder
	dec.Init(DefaultTableSize)
	st := &stream{c: c}
	st.req.Start = time.Unix(1_800_000_000, 0)
	var memoBlock []byte
	var gen uint64
	for i, id := range []string{"id-one", "id-two", "id-three", "id-four", "id-five", "id-six"} {
		// The id under nave's name for it, then under one an operator
		// chose, which the encoder's policy would otherwise index.
		field := "X-Request-ID"
		if i >= 3 {
			field = "X-Trace-Id"
		}
		st.req.SetID(field, []byte(id))
		var hd web.Header
		hd.Add("Content-Type", "text/plain")
		hd.Add(field, id) // as the ResponseWriter adds it: last
		b := st.headBlock(&web.Head{Status: 200, Header: &hd, Length: 14})
		want := strings.Join([]string{":status: 200", "content-type: text/plain",
			"date: " + string(c.httpDate(st.req.Start)), "server: " + string(serverValue),
			"content-length: 14", strings.ToLower(field) + ": " + id}, "\n")
		if got := lines(t, &dec, b); got != want {
			t.Errorf("response %d decoded to\n%s\nwant\n%s", i, got, want)
		}
		if i >= 2 { // the first fills the table, the second is remembered
			if !c.memo.ok || len(memoBlock) == 0 || string(c.memo.block) != string(memoBlock) {
				t.Errorf("response %d: the memo changed or went (ok %v)", i, c.memo.ok)
			}
			if !strings.HasPrefix(string(b), string(c.memo.block)) {
				t.Errorf("response %d did not start with the remembered block", i)
			}
			if c.enc.gen != gen {
				t.Errorf("response %d changed the HPACK table", i)
			}
		}
		memoBlock, gen = append(memoBlock[:0], c.memo.block...), c.enc.gen
	}

	// A last field that is not the request's id is part of the key.
	var hd web.Header
	hd.Add("Content-Type", "text/plain")
	hd.Add("X-Other", "1")
	b := st.headBlock(&web.Head{Status: 200, Header: &hd, Length: 14})
	if got := lines(t, &dec, b); strings.Contains(got, "x-request-id") || !strings.Contains(got, "x-other: 1") {
		t.Errorf("a head without the id decoded to\n%s", got)
	}
}
