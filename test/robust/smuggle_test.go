package robust

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"nave/internal/http1"
	"nave/internal/server"
	"nave/internal/web"
	"nave/internal/wiretest"
)

// The smuggling corpus: each case is a hostile request with, hidden where a
// lax or differently-lax parser would find it, a second request for
// /smuggled. The case pins nave's exact outcome (a status, or a close
// without one) and checks that /smuggled never reaches a handler and that
// nothing more is answered on the connection. Where nave accepts a case,
// a request for /after follows it and must be answered: the framing was
// understood, and the connection is still in step.
//
// The corpus runs against internal/server with a handler that reads the
// whole body and records every request it sees, and against the real
// binary serving files, whose static handler reads no body (so the
// server's own drain meets the bad framing) and whose access log must
// never name /smuggled.

const (
	smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	after    = "GET /after HTTP/1.1\r\nHost: x\r\n\r\n"
	post     = "POST / HTTP/1.1\r\nHost: x\r\n"
	chunked  = "Transfer-Encoding: chunked\r\n"
)

// chunk frames data as one chunk (RFC 9112 §7.1).
func chunk(data string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(data), data) }

// length is the decimal length of s, for a Content-Length.
func length(s string) string { return strconv.Itoa(len(s)) }

type smuggleCase struct {
	name string
	raw  string
	// want is the status nave answers, or 0 when it closes without one.
	// When the handler decides it (the head was accepted), it is what the
	// recording handler answers: 200, or the status of the body's error.
	want int
	// open: nave keeps the connection after the response, so the framing
	// was accepted; /after follows and must be answered.
	open bool
	// inBody: the defect is in the body, so a handler sees the request;
	// one that reads no body answers as it likes and the server then
	// closes, since the framing is lost.
	inBody bool
	// unreadCloses: nave keeps the connection only if the handler reads
	// the body (a client waiting for 100 Continue may not send it).
	unreadCloses bool
	// halfClose ends the client's side after raw: the request is cut short.
	halfClose bool
	// seen lists the paths the handler must see, when not the default:
	// "/" and "/after" for an open case, "/" for another one the handler
	// answered, none for a request refused before the handler.
	seen []string
	host string // the Host the handler must see, when set
	why  string // the reason for a decision another server may make differently
}

var smuggleCases = []smuggleCase{
	// CL.TE and TE.CL: both framings present. RFC 9112 §6.3 rule 3: the
	// server MUST close after answering; nave refuses outright.
	{name: "cl_te", want: 400,
		raw: post + "Content-Length: " + length("0\r\n\r\n"+smuggled) + "\r\n" + chunked + "\r\n0\r\n\r\n" + smuggled},
	{name: "te_cl", want: 400,
		raw: post + chunked + "Content-Length: " + length(fmt.Sprintf("%x\r\n", len(smuggled))) + "\r\n\r\n" + chunk(smuggled) + "0\r\n\r\n"},
	{name: "cl_zero_te", want: 400,
		raw: post + "Content-Length: 0\r\n" + chunked + "\r\n0\r\n\r\n" + smuggled},
	{name: "cl_te_cl", want: 400,
		raw: post + "Content-Length: 0\r\n" + chunked + "Content-Length: 0\r\n\r\n0\r\n\r\n" + smuggled},

	// TE.TE: an obfuscated Transfer-Encoding one side honours and the
	// other ignores, falling back to Content-Length.
	{name: "te_xchunked_with_cl", want: 400,
		raw: post + "Transfer-Encoding: xchunked\r\nContent-Length: " + length("0\r\n\r\n"+smuggled) + "\r\n\r\n0\r\n\r\n" + smuggled},
	{name: "te_xchunked", want: 400, why: "RFC 9112 §6.3 rule 4: chunked is not the final coding of a request: 400 and close",
		raw: post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + smuggled},
	{name: "te_leading_space_value_with_cl", want: 400,
		raw: post + "Transfer-Encoding:  chunked\r\nContent-Length: " + length("0\r\n\r\n"+smuggled) + "\r\n\r\n0\r\n\r\n" + smuggled},
	{name: "te_leading_space_line", want: 400, why: "RFC 9112 §5.2: a line starting with whitespace is obs-fold; nave rejects it",
		raw: post + " Transfer-Encoding: chunked\r\nContent-Length: " + length("0\r\n\r\n"+smuggled) + "\r\n\r\n0\r\n\r\n" + smuggled},
	{name: "te_first_line_space", want: 400,
		raw: "POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: x\r\n\r\n0\r\n\r\n" + smuggled},
	{name: "te_trailing_tab_with_cl", want: 400,
		raw: post + "Transfer-Encoding: chunked\t\r\nContent-Length: " + length("0\r\n\r\n"+smuggled) + "\r\n\r\n0\r\n\r\n" + smuggled},
	{name: "te_trailing_tab", want: 200, open: true, why: "RFC 9112 §5.1: OWS after a field value is not part of it: this is chunked",
		raw: post + "Transfer-Encoding: chunked\t\r\n\r\n" + chunk(smuggled) + "0\r\n\r\n"},
	{name: "te_uppercase", want: 200, open: true, why: "RFC 9112 §7: transfer-coding names are case-insensitive",
		raw: post + "Transfer-Encoding: CHUNKED\r\n\r\n" + chunk(smuggled) + "0\r\n\r\n"},
	{name: "te_space_before_colon", want: 400, why: "RFC 9112 §5.1: whitespace between field name and colon MUST be rejected with 400",
		raw: post + "Transfer-Encoding : chunked\r\nContent-Length: " + length("0\r\n\r\n"+smuggled) + "\r\n\r\n0\r\n\r\n" + smuggled},
	{name: "te_duplicated", want: 400, why: "RFC 9112 §7: chunked must not be applied twice",
		raw: post + chunked + chunked + "\r\n0\r\n\r\n" + smuggled},
	{name: "te_chunked_then_identity_fields", want: 400,
		raw: post + chunked + "Transfer-Encoding: identity\r\n\r\n0\r\n\r\n" + smuggled},
	{name: "te_identity_then_chunked_fields", want: 501, why: "RFC 9112 §6.1: framing is sound (chunked is last) but identity is no coding nave implements: 501",
		raw: post + "Transfer-Encoding: identity\r\n" + chunked + "\r\n0\r\n\r\n" + smuggled},
	{name: "te_chunked_identity_list", want: 400,
		raw: post + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled},
	{name: "te_obs_fold_value", want: 400,
		raw: post + "Transfer-Encoding:\r\n chunked\r\nContent-Length: " + length("0\r\n\r\n"+smuggled) + "\r\n\r\n0\r\n\r\n" + smuggled},
	{name: "te_in_folded_line", want: 400,
		raw: post + "X-Note: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
	{name: "te_vertical_tab", want: 400,
		raw: post + "Transfer-Encoding: \vchunked\r\n\r\n0\r\n\r\n" + smuggled},
	{name: "te_quoted", want: 400,
		raw: post + "Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n" + smuggled},
	{name: "te_nul", want: 400,
		raw: post + "Transfer-Encoding: chunked\x00\r\n\r\n0\r\n\r\n" + smuggled},
	{name: "te_http10", want: 400, why: "RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing: 400 and close",
		raw: "POST / HTTP/1.0\r\n" + chunked + "\r\n0\r\n\r\n" + smuggled},

	// Content-Length: 1*DIGIT (RFC 9110 §8.6), one value however repeated.
	{name: "cl_plus", want: 400,
		raw: post + "Content-Length: +" + length(smuggled) + "\r\n\r\n" + smuggled},
	{name: "cl_leading_zero", want: 200, open: true,
		why: "RFC 9110 §8.6: 0035 is 1*DIGIT, decimal 35, as nginx and net/http read it; a parser reading octal would see /smuggled",
		raw: post + "Content-Length: 00" + length(smuggled) + "\r\n\r\n" + smuggled},
	{name: "cl_nineteen_digits", want: 400,
		why: "nave takes at most 18 digits, so no value can overflow; nginx would accept these leading zeros",
		raw: post + "Content-Length: " + fmt.Sprintf("%019d", len(smuggled)) + "\r\n\r\n" + smuggled},
	{name: "cl_overflow_wraps", want: 400, why: "2^64+35: a parser wrapping at 64 bits reads 35",
		raw: post + "Content-Length: 18446744073709551651\r\n\r\n" + smuggled},
	{name: "cl_list_differing", want: 400,
		raw: post + "Content-Length: 0, " + length(smuggled) + "\r\n\r\n" + smuggled},
	{name: "cl_fields_differing", want: 400,
		raw: post + "Content-Length: " + length(smuggled) + "\r\nContent-Length: 0\r\n\r\n" + smuggled},
	{name: "cl_list_same", want: 200, open: true, why: "RFC 9110 §8.6: a list of identical values may be taken as that value",
		raw: post + "Content-Length: " + length(smuggled) + ", " + length(smuggled) + "\r\n\r\n" + smuggled},
	{name: "cl_negative", want: 400,
		raw: post + "Content-Length: -" + length(smuggled) + "\r\n\r\n" + smuggled},
	{name: "cl_hex", want: 400,
		raw: post + "Content-Length: 0x" + strconv.FormatInt(int64(len(smuggled)), 16) + "\r\n\r\n" + smuggled},
	{name: "cl_inner_space", want: 400,
		raw: post + "Content-Length: 3 5\r\n\r\n" + smuggled},
	{name: "cl_trailing_junk", want: 400,
		raw: post + "Content-Length: " + length(smuggled) + "abc\r\n\r\n" + smuggled},
	{name: "cl_over_limit", want: 413,
		raw: post + "Content-Length: " + strconv.Itoa(http1.DefaultMaxBodyBytes+1) + "\r\n\r\n" + smuggled},
	{name: "cl_on_get", want: 200, open: true, why: "CL.0: a front end that ignores a GET's body would see /smuggled; nave reads it as the body",
		raw: "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: " + length(smuggled) + "\r\n\r\n" + smuggled},

	// Chunked framing (RFC 9112 §7.1): the head is fine, the body is not.
	{name: "chunk_size_overflow", want: 400, inBody: true, why: "2^64: a parser wrapping at 64 bits reads the last chunk",
		raw: post + chunked + "\r\n10000000000000000\r\n\r\n" + smuggled},
	{name: "chunk_size_over_limit", want: 413, inBody: true,
		raw: post + chunked + "\r\nFFFFFFFFFF\r\n" + smuggled},
	{name: "chunk_size_0x", want: 400, inBody: true,
		raw: post + chunked + "\r\n0x" + fmt.Sprintf("%x", len(smuggled)) + "\r\n" + smuggled + "\r\n0\r\n\r\n"},
	{name: "chunk_size_negative", want: 400, inBody: true,
		raw: post + chunked + "\r\n-" + fmt.Sprintf("%x", len(smuggled)) + "\r\n" + smuggled + "\r\n0\r\n\r\n"},
	{name: "chunk_size_leading_zeros", want: 200, open: true, why: "hex digits, however many leading zeros: the value cannot overflow",
		raw: post + chunked + "\r\n" + strings.Repeat("0", 30) + chunk(smuggled) + "0\r\n\r\n"},
	{name: "chunk_ext_bare_lf", want: 400, inBody: true, why: "RFC 9112 §7.1: the chunk line ends in CRLF; no bare-LF leniency in a body",
		raw: post + chunked + "\r\n0;ext\n\r\n" + smuggled},
	{name: "chunk_ext_bare_cr", want: 400, inBody: true,
		raw: post + chunked + "\r\n0;ext\r\r\n\r\n" + smuggled},
	{name: "chunk_ext_unterminated_quote", want: 400, inBody: true,
		raw: post + chunked + "\r\n0;a=\"b\r\n\r\n" + smuggled},
	{name: "chunk_data_without_crlf", want: 400, inBody: true,
		raw: post + chunked + "\r\n5\r\nhello0\r\n\r\n" + smuggled},
	{name: "chunk_data_too_long", want: 400, inBody: true,
		raw: post + chunked + "\r\n3\r\nhello\r\n0\r\n\r\n" + smuggled},
	{name: "last_chunk_without_final_crlf", want: 400, inBody: true, why: "after 0\\r\\n comes the trailer section: /smuggled's request line is no field",
		raw: post + chunked + "\r\n0\r\n" + smuggled},
	{name: "chunk_bare_lf_framing", want: 400, inBody: true,
		raw: post + chunked + "\r\n" + fmt.Sprintf("%x", len(smuggled)) + "\n" + smuggled + "\n0\n\n"},
	{name: "trailer_framing_ignored", want: 200, open: true, why: "RFC 9110 §6.5.1: trailer fields cannot change framing",
		raw: post + chunked + "\r\n" + chunk(smuggled) + "0\r\nContent-Length: 35\r\nTransfer-Encoding: chunked\r\n\r\n"},
	{name: "chunked_cut_short", want: 400, inBody: true, halfClose: true,
		raw: post + chunked + "\r\n" + fmt.Sprintf("%x", len(smuggled)) + "\r\n" + smuggled[:10]},

	// Malformed heads and control bytes (RFC 9112 §2, §3, §5).
	{name: "request_line_bare_cr", want: 400, why: "RFC 9112 §2.2: a bare CR is not a line ending",
		raw: "GET /\r" + smuggled},
	{name: "field_bare_cr", want: 400,
		raw: "GET / HTTP/1.1\r\nHost: x\rContent-Length: " + length(smuggled) + "\r\n\r\n" + smuggled},
	{name: "nul_in_field_value", want: 400,
		raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00\r\n\r\n" + smuggled},
	{name: "nul_in_field_name", want: 400,
		raw: "GET / HTTP/1.1\r\nHost: x\r\nX-\x00A: a\r\n\r\n" + smuggled},
	{name: "del_in_field_value", want: 400,
		raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n" + smuggled},
	{name: "escape_in_field_value", want: 400,
		raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A: \x1b[2J\r\n\r\n" + smuggled},
	{name: "ctl_in_target", want: 400,
		raw: "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n" + smuggled},
	{name: "field_without_colon", want: 400, why: "a parser splitting on space would read a Content-Length",
		raw: post + "Content-Length " + length(smuggled) + "\r\n\r\n" + smuggled},
	{name: "obs_fold", want: 400,
		raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n" + smuggled},
	{name: "leading_space_request_line", want: 400,
		raw: " GET / HTTP/1.1\r\nHost: x\r\n\r\n" + smuggled},
	{name: "http09", want: 400, why: "HTTP/0.9 has no version and no head: nave does not speak it",
		raw: "GET /\r\n\r\n" + smuggled},
	{name: "http2_preface", want: 505, why: "RFC 9113 §3.4 preface on a port without h2c (the corpus runs with it off): version 2.0 is not supported",
		raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + smuggled},
	{name: "version_absurd", want: 505,
		raw: "GET / HTTP/9.9\r\nHost: x\r\n\r\n" + smuggled},
	{name: "version_three_parts", want: 400,
		raw: "GET / HTTP/1.1.1\r\nHost: x\r\n\r\n" + smuggled},
	{name: "version_lowercase", want: 400,
		raw: "GET / http/1.1\r\nHost: x\r\n\r\n" + smuggled},
	{name: "header_too_large", want: 431,
		raw: "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", http1.DefaultMaxHeaderBytes) + "\r\n\r\n" + smuggled},
	{name: "request_line_too_long", want: 414,
		raw: "GET /" + strings.Repeat("a", http1.DefaultMaxRequestLine) + " HTTP/1.1\r\nHost: x\r\n\r\n" + smuggled},
	{name: "too_many_fields", want: 431,
		raw: "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-F: v\r\n", http1.DefaultMaxHeaderCount) + "\r\n" + smuggled},
	{name: "host_missing", want: 400,
		raw: "GET / HTTP/1.1\r\n\r\n" + smuggled},
	{name: "host_duplicated", want: 400, why: "RFC 9112 §3.2: more than one Host is 400, even with the same value",
		raw: "GET / HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n" + smuggled},
	{name: "host_conflicting", want: 400,
		raw: "GET / HTTP/1.1\r\nHost: x\r\nHost: evil\r\n\r\n" + smuggled},
	{name: "host_invalid", want: 400,
		raw: "GET / HTTP/1.1\r\nHost: x/../y\r\n\r\n" + smuggled},
	{name: "absolute_form_other_host", want: 200, open: true, host: "other",
		why: "RFC 9112 §3.2.2: the target's authority wins over Host",
		raw: "GET http://other/ HTTP/1.1\r\nHost: x\r\n\r\n"},
	{name: "truncated_head", want: 0, halfClose: true,
		raw: "GET / HTTP/1.1\r\nHost: x\r\n"},

	// Expect (RFC 9110 §10.1.1).
	{name: "expect_unknown", want: 417,
		raw: post + "Expect: 200-ok\r\nContent-Length: " + length(smuggled) + "\r\n\r\n" + smuggled},
	{name: "expect_unknown_then_continue", want: 417, why: "RFC 9110 §5.3: two Expect fields are one list; it holds an expectation nave cannot meet",
		raw: post + "Expect: 200-ok\r\nExpect: 100-continue\r\nContent-Length: " + length(smuggled) + "\r\n\r\n" + smuggled},
	{name: "expect_continue_body_at_once", want: 200, open: true, unreadCloses: true,
		why: "a client may send the body without waiting; a handler that reads no body gets the connection closed, since the client may still be waiting",
		raw: post + "Expect: 100-continue\r\nContent-Length: " + length(smuggled) + "\r\n\r\n" + smuggled},
	{name: "expect_continue_http10", want: 200, why: "RFC 9110 §10.1.1: a server may ignore Expect on HTTP/1.0; it closes after",
		raw: "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: " + length(smuggled) + "\r\n\r\n" + smuggled},

	// Control: valid pipelined requests, all answered in order.
	{name: "pipelined_valid", want: 200, open: true, seen: []string{"/", "/small.txt", "/index.html", "/after"},
		raw: "GET / HTTP/1.1\r\nHost: x\r\n\r\n" +
			"GET /small.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
			"GET /index.html HTTP/1.1\r\nHost: x\r\n" + chunked + "\r\n" + chunk("xyz") + "0\r\n\r\n"},
}

// method is the method of the first request of raw.
func (tc *smuggleCase) method() string {
	m, _, _ := strings.Cut(tc.raw, " ")
	return m
}

// handled reports whether the first request reaches the handler.
func (tc *smuggleCase) handled() bool { return tc.inBody || tc.want > 0 && tc.want < 400 }

// wantSeen is the paths the recording handler must see, in order.
func (tc *smuggleCase) wantSeen() []string {
	switch {
	case tc.seen != nil:
		return tc.seen
	case tc.open:
		return []string{"/", "/after"}
	case tc.handled():
		return []string{"/"}
	}
	return nil
}

// answers is how many responses the case gets before /after.
func (tc *smuggleCase) answers() int {
	if tc.want == 0 {
		return 0
	}
	return max(1, len(tc.wantSeen())-1)
}

// expect is one target's view of a case's outcome.
type expect struct {
	status int
	open   bool
	// afterBody is the body /after must be answered with, when open.
	afterBody func([]byte) bool
}

// exchange sends the case and its tail, reads every response, and checks
// them against exp: nothing may be answered beyond what exp allows.
func (tc *smuggleCase) exchange(t *testing.T, addr string, exp expect) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(clientTimeout))
	var tail string
	switch {
	case tc.halfClose:
	case exp.open:
		tail = after
	default:
		tail = smuggled
	}
	sent := make(chan error, 1)
	go func() {
		_, err := io.WriteString(nc, tc.raw+tail)
		if err == nil && tc.halfClose {
			err = nc.(*net.TCPConn).CloseWrite()
		}
		sent <- err
	}()
	br := bufio.NewReader(nc)
	for i := range tc.answers() {
		method := "GET"
		if i == 0 {
			method = tc.method()
		}
		r, err := readResponse(br, method)
		if err != nil {
			t.Fatalf("response %d: %v (why: %s)", i+1, err, tc.why)
		}
		last := i == tc.answers()-1
		if i == 0 && r.Status != exp.status || i > 0 && r.Status != 200 || last && r.Close == exp.open {
			t.Fatalf("response %d: got %d close=%v, want %d close=%v (why: %s)", i+1, r.Status, r.Close, exp.status, !exp.open, tc.why)
		}
	}
	if exp.open {
		r, err := readResponse(br, "GET")
		if err != nil {
			t.Fatalf("response to /after: %v", err)
		}
		if r.Status != 200 || !exp.afterBody(r.Body) {
			t.Fatalf("response to /after: got %d %q, want 200 for /after", r.Status, r.Body)
		}
		return
	}
	rest, err := wiretest.ReadToEOF(br)
	if err != nil || len(rest) > 0 {
		t.Fatalf("after the response: got %q (%v), want the connection closed with nothing more", rest, err)
	}
	if err := <-sent; err != nil && !isReset(err) {
		t.Fatalf("sending: %v", err)
	}
}

// recorder is a handler that records every request it sees, reads the
// whole body, and answers 200 "METHOD PATH LENGTH", or the status of the
// body's error.
type recorder struct {
	mu   sync.Mutex
	seen []seenRequest // guarded by mu
}

type seenRequest struct{ path, host string }

func (rec *recorder) Serve(w *web.ResponseWriter, r *web.Request) {
	rec.mu.Lock()
	rec.seen = append(rec.seen, seenRequest{string(r.Path), string(r.Authority)})
	rec.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		status, _ := web.StatusOf(err)
		w.WriteHeader(status)
		return
	}
	fmt.Fprintf(w, "%s %s %d\n", r.Method, r.Path, len(body))
}

func (rec *recorder) requests() []seenRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.seen)
}

// startRecording serves a fresh recorder in process until the test ends.
func startRecording(t *testing.T) (*recorder, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s := server.New(server.Config{Handler: rec, DisableH2C: true})
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return rec, ln.Addr().String()
}

func TestSmuggleCorpusInProcess(t *testing.T) {
	if n := len(smuggleCases); n < 40 {
		t.Fatalf("the corpus has %d cases; the issue asks for at least 40", n)
	}
	for _, tc := range smuggleCases {
		t.Run(tc.name, func(t *testing.T) {
			rec, addr := startRecording(t)
			tc.exchange(t, addr, expect{status: tc.want, open: tc.open,
				afterBody: func(b []byte) bool { return string(b) == "GET /after 0\n" }})
			var paths []string
			for _, r := range rec.requests() {
				paths = append(paths, r.path)
			}
			if slices.Contains(paths, "/smuggled") || !slices.Equal(paths, tc.wantSeen()) {
				t.Fatalf("the handler saw %q, want %q", paths, tc.wantSeen())
			}
			if tc.host != "" {
				if got := rec.requests()[0].host; got != tc.host {
					t.Fatalf("the handler saw Host %q, want %q", got, tc.host)
				}
			}
		})
	}
}

// staticStatus is what nave's file server answers a request for "/" it
// accepted: the index for GET, 405 for POST (it reads no body).
func staticStatus(method string) int {
	if method == "POST" {
		return 405
	}
	return 200
}

func TestSmuggleCorpusBinary(t *testing.T) {
	dir, files := docroot(t)
	logPath := filepath.Join(t.TempDir(), "access.log")
	p := startNave(t, naveConfig{args: []string{"--access-log", logPath, "--h2c=false", dir}})
	accepted := 0
	for _, tc := range smuggleCases {
		t.Run(tc.name, func(t *testing.T) {
			exp := expect{status: tc.want, open: tc.open && !tc.unreadCloses,
				afterBody: func(b []byte) bool { return bytes.Equal(b, files["/after"]) }}
			if tc.handled() {
				exp.status = staticStatus(tc.method())
			}
			tc.exchange(t, p.addr, exp)
			if exp.open {
				accepted++
			}
		})
	}
	// The access log is written out when nave stops.
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("nave exited with %v; stderr:\n%s", err, p.stderr)
	}
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(log, []byte("/smuggled")) {
		t.Errorf("the access log names /smuggled:\n%s", log)
	}
	if got := bytes.Count(log, []byte(`"GET /after HTTP/1.1" 200`)); got != accepted {
		t.Errorf("the access log has %d requests for /after, want %d:\n%s", got, accepted, log)
	}
}
