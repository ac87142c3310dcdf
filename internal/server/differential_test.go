package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"nave/internal/http1"
	"nave/internal/web"
	"nave/internal/wiretest"
)

// The differential test sends each raw request to nave and to net/http's
// server, both with a handler that reads the whole body and answers 200
// with its length, and compares the status and whether the connection
// stays open. A difference must be deliberate: the case then says why,
// citing the RFC, and pins nave's outcome.

// Limits shared by both servers, as far as net/http can express them.
const (
	diffMaxBody   = 1024
	diffMaxHeader = 4096 // nave's request line and header bytes; net/http's MaxHeaderBytes
)

// outcome is what a client observes: the first response's status (0 for
// none) and whether the server then closed the connection.
type outcome struct {
	status int
	closed bool
}

func (o outcome) String() string {
	if o.closed {
		return strconv.Itoa(o.status) + "+close"
	}
	return strconv.Itoa(o.status) + "+open"
}

type diffCase struct {
	name string
	raw  string
	// halfClose shuts the client's write side after raw: the request is
	// truncated on purpose.
	halfClose bool
	// why explains a deliberate difference from net/http, citing the RFC;
	// nave must then give exactly nave. Empty: both must agree.
	why  string
	nave outcome
}

const host = "Host: x\r\n"

// Explanations shared by several cases.
const (
	whyCLTE             = "RFC 9112 §6.3 rule 3: both Transfer-Encoding and Content-Length is a smuggling attempt; nave rejects and closes, net/http drops Content-Length and keeps the connection, though the server MUST close it"
	whyChunkedNotFinal  = "RFC 9112 §6.3 rule 4: chunked is not the final coding, so the length cannot be determined: the server MUST answer 400 and close; net/http answers 501"
	whyChunkedTwice     = "RFC 9112 §6.1: chunked must not be applied more than once, so the framing is malformed (400); net/http answers 501 as for an unknown coding"
	whyObsFold          = "RFC 9112 §5.2: a server must reject obs-fold with 400 or replace it with SP; nave rejects, net/http unfolds"
	whyCLList           = "RFC 9110 §8.6, §5.6.1: nave reads Content-Length as a list of one repeated value and ignores empty list elements, as it does for repeated fields; net/http requires exactly 1*DIGIT"
	whyRequestLineLimit = "RFC 9112 §3: nave bounds the request line on its own and answers 414 past it (RFC 9110 §15.5.15); net/http has one budget for the whole head, with 4 KiB of slack"
)

var diffCases = []diffCase{
	// Valid requests.
	{name: "get", raw: "GET / HTTP/1.1\r\n" + host + "\r\n"},
	{name: "get_query", raw: "GET /a/b?c=d&e HTTP/1.1\r\n" + host + "\r\n"},
	{name: "get_percent_encoded", raw: "GET /a%20b/%2F HTTP/1.1\r\n" + host + "\r\n"},
	{name: "get_obs_text_target", raw: "GET /caf\xc3\xa9 HTTP/1.1\r\n" + host + "\r\n"},
	{name: "head", raw: "HEAD / HTTP/1.1\r\n" + host + "\r\n"},
	{name: "lowercase_method", raw: "get / HTTP/1.1\r\n" + host + "\r\n"},
	{name: "extension_method", raw: "PURGE / HTTP/1.1\r\n" + host + "\r\n"},
	{name: "http10_no_host", raw: "GET / HTTP/1.0\r\n\r\n"},
	{name: "http10_keep_alive", raw: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
	{name: "http11_close", raw: "GET / HTTP/1.1\r\n" + host + "Connection: keep-alive, close\r\n\r\n"},
	{name: "http12_served_as_11", raw: "GET / HTTP/1.2\r\n" + host + "\r\n"},
	{name: "ows_around_value", raw: "GET / HTTP/1.1\r\nHost: \t x \t\r\n\r\n"},
	{name: "empty_field_value", raw: "GET / HTTP/1.1\r\n" + host + "X-Empty:\r\n\r\n"},
	{name: "empty_host_http11", raw: "GET / HTTP/1.1\r\nHost:\r\n\r\n"},
	{name: "host_with_port", raw: "GET / HTTP/1.1\r\nHost: x:8080\r\n\r\n"},
	{name: "host_ipv6", raw: "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"},
	{name: "absolute_form", raw: "GET http://x/path?q HTTP/1.1\r\n" + host + "\r\n"},
	{name: "absolute_form_other_host", raw: "GET http://other/ HTTP/1.1\r\n" + host + "\r\n"},
	{name: "absolute_form_no_path", raw: "GET http://x HTTP/1.1\r\n" + host + "\r\n"},
	{name: "options_asterisk", raw: "OPTIONS * HTTP/1.1\r\n" + host + "\r\n"},
	// RFC 9112 §2.2: bare LF is accepted as a line terminator, for telnet users.
	{name: "bare_lf", raw: "GET / HTTP/1.1\nHost: x\n\n"},
	{name: "bare_lf_http10", raw: "GET / HTTP/1.0\n\n"},
	{name: "post_content_length", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\nhello"},
	{name: "post_content_length_zero", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n"},
	{name: "content_length_repeated_same", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"},
	{name: "content_length_leading_zeros", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 005\r\n\r\nhello"},
	{name: "chunked", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{name: "chunked_upper_hex", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n"},
	{name: "chunked_leading_zeros", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n005\r\nhello\r\n000\r\n\r\n"},
	{name: "chunked_extensions", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5;a=b;c=\"d e\"\r\nhello\r\n0;z\r\n\r\n"},
	{name: "chunked_trailer", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"},
	{name: "chunked_name_case", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: Chunked\r\n\r\n0\r\n\r\n"},
	{name: "pipelined_after_body", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n" + host + "\r\n"},
	{name: "leading_empty_line", raw: "\r\nGET / HTTP/1.1\r\n" + host + "\r\n",
		why:  "RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line; net/http does so only after a POST",
		nave: outcome{200, false}},

	// Request smuggling: conflicting or malformed framing.
	{name: "smuggle_cl_te", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		why: whyCLTE, nave: outcome{400, true}},
	{name: "smuggle_te_cl", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
		why: whyCLTE, nave: outcome{400, true}},
	{name: "smuggle_cl_te_zero", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		why: whyCLTE, nave: outcome{400, true}},
	{name: "smuggle_cl_mismatch", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"},
	{name: "smuggle_cl_list_mismatch", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 5, 6\r\n\r\nhello!"},
	{name: "cl_list_same", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 5, 5\r\n\r\nhello",
		why: whyCLList, nave: outcome{200, false}},
	{name: "cl_negative", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: -5\r\n\r\n"},
	{name: "cl_plus_sign", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: +5\r\n\r\nhello"},
	{name: "cl_hex", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 0x5\r\n\r\nhello"},
	{name: "cl_inner_space", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 1 0\r\n\r\n0123456789"},
	{name: "cl_empty", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length:\r\n\r\n"},
	{name: "cl_overflow", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999999\r\n\r\n"},
	{name: "te_identity", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\n\r\n",
		why: whyChunkedNotFinal, nave: outcome{400, true}},
	{name: "te_gzip_chunked", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
	{name: "te_chunked_gzip", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
		why: whyChunkedNotFinal, nave: outcome{400, true}},
	{name: "te_chunked_twice", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
		why: whyChunkedTwice, nave: outcome{400, true}},
	{name: "te_repeated_field", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		why: whyChunkedTwice, nave: outcome{400, true}},
	{name: "te_xchunked", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
		why: whyChunkedNotFinal, nave: outcome{400, true}},
	{name: "te_empty_list_element", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n",
		why:  "RFC 9110 §5.6.1: a recipient must ignore empty list elements, so \",chunked\" is chunked; net/http sees an unknown coding (501)",
		nave: outcome{200, false}},
	{name: "te_space_before_colon", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"},
	{name: "te_vertical_tab", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: \vchunked\r\n\r\n0\r\n\r\n"},
	{name: "te_http10", raw: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		why:  "RFC 9112 §6.1: Transfer-Encoding on HTTP/1.0 means the framing is faulty; nave refuses it, net/http ignores the field and reads no body",
		nave: outcome{400, true}},
	{name: "te_obs_fold", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
		why: whyObsFold, nave: outcome{400, true}},
	{name: "te_tab", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:\tchunked\t\r\n\r\n0\r\n\r\n"},
	{name: "te_quoted", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n",
		why: whyChunkedNotFinal, nave: outcome{400, true}},
	{name: "cl_trailing_comma", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 5,\r\n\r\nhello",
		why: whyCLList, nave: outcome{200, false}},
	{name: "cl_comma_only", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: ,\r\n\r\n"},
	{name: "get_with_body", raw: "GET / HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\nhello"},
	{name: "chunk_long_extension", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5;a=" + strings.Repeat("b", 8<<10) + "\r\nhello\r\n0\r\n\r\n"},
	{name: "chunk_lf_after_data", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n"},
	{name: "trailer_content_length", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nContent-Length: 99\r\n\r\n"},
	{name: "trailer_obs_fold", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: a\r\n b\r\n\r\n",
		why: whyObsFold, nave: outcome{400, true}},
	{name: "name_obs_text", raw: "GET / HTTP/1.1\r\n" + host + "X-\xe9: b\r\n\r\n"},
	{name: "chunk_size_not_hex", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"},
	{name: "chunk_size_negative", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n"},
	{name: "chunk_size_overflow", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n1000000000000000000000005\r\nhello\r\n0\r\n\r\n"},
	{name: "chunk_size_0x", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"},
	{name: "chunk_size_trailing_space", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n"},
	{name: "chunk_ext_no_name", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5;\r\nhello\r\n0\r\n\r\n",
		why:  "RFC 9112 §7.1.1: a chunk extension needs a token name; nave checks the syntax (lax extension parsing is a smuggling vector), net/http skips the extension unread",
		nave: outcome{400, true}},
	{name: "chunk_ext_bare_cr", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5;a\rb\r\nhello\r\n0\r\n\r\n"},
	{name: "chunk_bare_lf", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n"},
	{name: "chunk_data_too_long", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"},
	{name: "chunk_missing_last", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", halfClose: true},
	{name: "cl_body_short", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 10\r\n\r\nhello", halfClose: true},

	// Malformed field lines.
	{name: "obs_fold", raw: "GET / HTTP/1.1\r\n" + host + "X-A: a\r\n b\r\n\r\n",
		why: whyObsFold, nave: outcome{400, true}},
	{name: "space_before_first_field", raw: "GET / HTTP/1.1\r\n " + host + "\r\n"},
	{name: "space_before_colon", raw: "GET / HTTP/1.1\r\n" + host + "X-A : b\r\n\r\n"},
	{name: "space_in_name", raw: "GET / HTTP/1.1\r\n" + host + "X A: b\r\n\r\n"},
	{name: "empty_name", raw: "GET / HTTP/1.1\r\n" + host + ": b\r\n\r\n"},
	{name: "no_colon", raw: "GET / HTTP/1.1\r\n" + host + "X-A\r\n\r\n"},
	{name: "bare_cr_in_value", raw: "GET / HTTP/1.1\r\n" + host + "X-A: a\rb\r\n\r\n"},
	{name: "bare_cr_ends_line", raw: "GET / HTTP/1.1\r\n" + host + "X-A: a\r\r\n\r\n"},
	{name: "nul_in_value", raw: "GET / HTTP/1.1\r\n" + host + "X-A: a\x00b\r\n\r\n"},
	{name: "nul_in_name", raw: "GET / HTTP/1.1\r\n" + host + "X-\x00A: b\r\n\r\n"},
	{name: "ctl_in_value", raw: "GET / HTTP/1.1\r\n" + host + "X-A: a\x01b\r\n\r\n"},
	{name: "del_in_value", raw: "GET / HTTP/1.1\r\n" + host + "X-A: a\x7fb\r\n\r\n"},
	{name: "escape_in_value", raw: "GET / HTTP/1.1\r\n" + host + "X-A: \x1b[31mred\r\n\r\n"},
	{name: "obs_text_in_value", raw: "GET / HTTP/1.1\r\n" + host + "X-A: caf\xe9\r\n\r\n"},

	// Host.
	{name: "missing_host", raw: "GET / HTTP/1.1\r\n\r\n"},
	{name: "duplicate_host", raw: "GET / HTTP/1.1\r\n" + host + host + "\r\n"},
	{name: "host_with_space", raw: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"},
	{name: "host_with_slash", raw: "GET / HTTP/1.1\r\nHost: x/y\r\n\r\n"},
	{name: "host_with_at", raw: "GET / HTTP/1.1\r\nHost: user@x\r\n\r\n"},
	{name: "absolute_form_without_host", raw: "GET http://x/ HTTP/1.1\r\n\r\n"},

	// Request line.
	{name: "lowercase_version", raw: "GET / http/1.1\r\n" + host + "\r\n"},
	{name: "version_http2", raw: "GET / HTTP/2.0\r\n" + host + "\r\n"},
	{name: "version_http3", raw: "GET / HTTP/3.0\r\n" + host + "\r\n"},
	{name: "version_two_digits", raw: "GET / HTTP/1.10\r\n" + host + "\r\n"},
	{name: "version_missing", raw: "GET /\r\n" + host + "\r\n"},
	{name: "version_trailing_space", raw: "GET / HTTP/1.1 \r\n" + host + "\r\n"},
	{name: "double_space", raw: "GET  / HTTP/1.1\r\n" + host + "\r\n"},
	{name: "tab_separators", raw: "GET\t/\tHTTP/1.1\r\n" + host + "\r\n"},
	{name: "bad_method", raw: "GE(T / HTTP/1.1\r\n" + host + "\r\n"},
	{name: "relative_target", raw: "GET foo HTTP/1.1\r\n" + host + "\r\n"},
	{name: "nul_in_target", raw: "GET /\x00 HTTP/1.1\r\n" + host + "\r\n"},
	{name: "ctl_in_target", raw: "GET /\x01 HTTP/1.1\r\n" + host + "\r\n"},
	{name: "bare_cr_in_request_line", raw: "GET / HTTP/1.1\rHost: x\r\n\r\n"},
	{name: "asterisk_not_options", raw: "GET * HTTP/1.1\r\n" + host + "\r\n",
		why:  "RFC 9112 §3.2.4: the asterisk-form is only for OPTIONS; net/http passes it to the handler",
		nave: outcome{400, true}},
	{name: "fragment_in_target", raw: "GET /a#frag HTTP/1.1\r\n" + host + "\r\n",
		why:  "RFC 9112 §3.2.1: origin-form is absolute-path [ \"?\" query ], with no fragment; net/http takes \"#frag\" as part of the path",
		nave: outcome{400, true}},
	{name: "absolute_form_ftp", raw: "GET ftp://x/ HTTP/1.1\r\n" + host + "\r\n",
		why:  "RFC 9110 §4.2, §7.4: nave is an origin server for http and https URIs only and refuses other schemes in absolute-form (RFC 9112 §3.2.2) with 400; net/http passes any scheme to the handler",
		nave: outcome{400, true}},
	{name: "connect_authority_form", raw: "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n"},
	{name: "expect_continue", raw: "POST / HTTP/1.1\r\n" + host + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"},
	{name: "expect_unknown", raw: "POST / HTTP/1.1\r\n" + host + "Expect: 200-ok\r\nContent-Length: 5\r\n\r\nhello"},
	// RFC 9110 §10.1.1: the expectation is ignored on HTTP/1.0.
	{name: "expect_continue_http10", raw: "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"},
	{name: "tls_client_hello", raw: "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n"},
	{name: "truncated_head", raw: "GET / HTTP/1.1\r\n" + host, halfClose: true,
		why:  "RFC 9112 §8: an incomplete request may get an error response before the close; nave treats a client that went away as gone and sends nothing, net/http sends 400",
		nave: outcome{0, true}},
	{name: "empty_connection", raw: "", halfClose: true},

	// Limits.
	{name: "long_request_line", raw: "GET /" + strings.Repeat("a", diffMaxHeader) + " HTTP/1.1\r\n" + host + "\r\n",
		why: whyRequestLineLimit, nave: outcome{414, true}},
	{name: "long_request_line_over_head_limit", raw: "GET /" + strings.Repeat("a", 3*diffMaxHeader) + " HTTP/1.1\r\n" + host + "\r\n",
		why: whyRequestLineLimit, nave: outcome{414, true}},
	{name: "many_fields", raw: "GET / HTTP/1.1\r\n" + host + strings.Repeat("X-A: b\r\n", http1.DefaultMaxHeaderCount) + "\r\n",
		why:  "RFC 6585 §5: nave bounds the number of fields (431 past it); net/http bounds only their bytes",
		nave: outcome{431, true}},
	{name: "long_header_both_refuse", raw: "GET / HTTP/1.1\r\n" + host + "X-Big: " + strings.Repeat("b", 3*diffMaxHeader) + "\r\n\r\n"},
	{name: "body_over_limit_cl", raw: "POST / HTTP/1.1\r\n" + host + "Content-Length: 2000\r\n\r\n" + strings.Repeat("x", 2000)},
	{name: "body_over_limit_chunked", raw: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n7d0\r\n" + strings.Repeat("x", 2000) + "\r\n0\r\n\r\n"},
}

// diffHandler is the nave side: read the body, answer its length.
func diffHandler(w *web.ResponseWriter, r *web.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		status, _ := web.StatusOf(err)
		w.WriteHeader(status)
		return
	}
	fmt.Fprintf(w, "%d\n", n)
}

// diffReference is the net/http side, with the same body limit.
func diffReference(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, diffMaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			w.WriteHeader(413)
		} else {
			w.WriteHeader(400)
		}
		return
	}
	fmt.Fprintf(w, "%d\n", n)
}

func TestDifferential(t *testing.T) {
	_, naveAddr := startServer(t, Config{
		Handler: web.HandlerFunc(diffHandler),
		Limits:  http1.Limits{MaxRequestLine: diffMaxHeader, MaxHeaderBytes: diffMaxHeader, MaxBodyBytes: diffMaxBody},
	})
	ref := httptest.NewUnstartedServer(http.HandlerFunc(diffReference))
	ref.Config.MaxHeaderBytes = diffMaxHeader
	ref.Config.ErrorLog = nil
	ref.Start()
	t.Cleanup(ref.Close)
	refAddr := ref.Listener.Addr().String()

	seen := make(map[string]bool)
	for _, tc := range diffCases {
		if seen[tc.name] {
			t.Fatalf("case %s appears twice", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			got := probe(t, naveAddr, tc)
			want := probe(t, refAddr, tc)
			switch {
			case tc.why == "" && got != want:
				t.Fatalf("nave %v, net/http %v: an unexplained difference", got, want)
			case tc.why != "" && got != tc.nave:
				t.Fatalf("nave %v, want %v (%s)", got, tc.nave, tc.why)
			case tc.why != "" && got == want:
				t.Fatalf("nave and net/http agree on %v: the explanation %q is stale", got, tc.why)
			}
		})
	}
}

// probe sends tc to addr and observes the outcome: the first response's
// status, then whether a second request on the same connection is
// answered.
func probe(t *testing.T, addr string, tc diffCase) outcome {
	t.Helper()
	c := wiretest.Dial(t, addr)
	c.Send(tc.raw)
	if tc.halfClose {
		c.NetConn().(*net.TCPConn).CloseWrite()
	}
	method, _, _ := strings.Cut(tc.raw, " ")
	r, err := tryRead(c, method)
	for err == nil && r.Status < 200 {
		r, err = tryRead(c, method) // an interim response, then the final one
	}
	if err != nil {
		if !isClosed(err) {
			t.Fatalf("%s: reading the response: %v", addr, err)
		}
		return outcome{0, true}
	}
	if tc.halfClose {
		return outcome{r.Status, true}
	}
	if _, err := io.WriteString(c.NetConn(), "GET /probe HTTP/1.1\r\n"+host+"\r\n"); err != nil {
		return outcome{r.Status, true}
	}
	if _, err := tryRead(c, "GET"); err != nil {
		if !isClosed(err) {
			t.Fatalf("%s: reading the second response: %v", addr, err)
		}
		return outcome{r.Status, true}
	}
	return outcome{r.Status, false}
}

// isClosed reports whether err means the server closed the connection.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "connection reset")
}
