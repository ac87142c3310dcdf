package http1

import (
	"errors"
	"io"
	"nave/internal/web"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// head is what a parsed request head should hold. fields are rendered
// "Name: value" in the order received. Query must be nil exactly when the
// target has no "?"; that is checked from the target.
type head struct {
	method, target, path, query, host string
	minor                             int
	fields                            []string
	length                            int64
	chunked, close, expect100         bool
}

type requestCase struct {
	name string
	raw  string // exactly one head, nothing after it
	lim  Limits
	want head
}

type badRequest struct {
	name    string
	raw     string
	lim     Limits
	wantErr *web.ProtocolError
}

// validRequests are heads the parser must accept.
var validRequests = []requestCase{
	{
		name: "origin_form",
		raw:  "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: head{method: "GET", target: "/index.html", path: "/index.html", host: "example.com", minor: 1,
			fields: []string{"Host: example.com"}},
	},
	{
		name: "origin_form_query",
		raw:  "GET /search?q=go&lang=en HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: head{method: "GET", target: "/search?q=go&lang=en", path: "/search", query: "q=go&lang=en",
			host: "example.com", minor: 1, fields: []string{"Host: example.com"}},
	},
	{
		name: "origin_form_empty_query",
		raw:  "GET /a? HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: head{method: "GET", target: "/a?", path: "/a", host: "example.com", minor: 1,
			fields: []string{"Host: example.com"}},
	},
	{
		name: "origin_form_percent_encoded",
		raw:  "GET /a%20b/%E2%82%AC?x=%2F HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: head{method: "GET", target: "/a%20b/%E2%82%AC?x=%2F", path: "/a%20b/%E2%82%AC", query: "x=%2F",
			host: "example.com", minor: 1, fields: []string{"Host: example.com"}},
	},
	{
		name: "absolute_form_http",
		raw:  "GET http://example.com/a/b?x=1 HTTP/1.1\r\nHost: other.example\r\n\r\n",
		want: head{method: "GET", target: "http://example.com/a/b?x=1", path: "/a/b", query: "x=1",
			host: "example.com", minor: 1, fields: []string{"Host: other.example"}},
	},
	{
		name: "absolute_form_https_no_path",
		raw:  "GET https://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: head{method: "GET", target: "https://example.com", path: "/", host: "example.com", minor: 1,
			fields: []string{"Host: example.com"}},
	},
	{
		name: "absolute_form_query_no_path",
		raw:  "GET http://example.com:8080?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
		want: head{method: "GET", target: "http://example.com:8080?x=1", path: "/", query: "x=1",
			host: "example.com:8080", minor: 1, fields: []string{"Host: example.com:8080"}},
	},
	{
		name: "absolute_form_scheme_case",
		raw:  "GET HTTPS://Example.COM/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: head{method: "GET", target: "HTTPS://Example.COM/", path: "/", host: "Example.COM", minor: 1,
			fields: []string{"Host: example.com"}},
	},
	{
		name: "absolute_form_http10_no_host",
		raw:  "GET http://example.com/x HTTP/1.0\r\n\r\n",
		want: head{method: "GET", target: "http://example.com/x", path: "/x", host: "example.com", close: true},
	},
	{
		name: "asterisk_form_options",
		raw:  "OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: head{method: "OPTIONS", target: "*", path: "*", host: "example.com", minor: 1,
			fields: []string{"Host: example.com"}},
	},
	{
		name: "authority_form_connect",
		raw:  "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		want: head{method: "CONNECT", target: "example.com:443", path: "", host: "example.com:443", minor: 1,
			fields: []string{"Host: example.com:443"}},
	},
	{
		name: "authority_form_connect_ipv6",
		raw:  "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n",
		want: head{method: "CONNECT", target: "[2001:db8::1]:443", path: "", host: "[2001:db8::1]:443", minor: 1,
			fields: []string{"Host: [2001:db8::1]:443"}},
	},
	{
		name: "http10_no_host",
		raw:  "GET / HTTP/1.0\r\n\r\n",
		want: head{method: "GET", target: "/", path: "/", close: true},
	},
	{
		name: "http10_keep_alive",
		raw:  "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		want: head{method: "GET", target: "/", path: "/", fields: []string{"Connection: keep-alive"}},
	},
	{
		name: "http10_keep_alive_mixed_case_list",
		raw:  "GET / HTTP/1.0\r\nConnection: Upgrade, Keep-Alive\r\n\r\n",
		want: head{method: "GET", target: "/", path: "/", fields: []string{"Connection: Upgrade, Keep-Alive"}},
	},
	{
		name: "http11_persistent",
		raw:  "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n",
		want: head{method: "GET", target: "/", path: "/", host: "h", minor: 1,
			fields: []string{"Host: h", "Connection: keep-alive"}},
	},
	{
		name: "http12_served_as_11",
		raw:  "GET / HTTP/1.2\r\nHost: h\r\n\r\n",
		want: head{method: "GET", target: "/", path: "/", host: "h", minor: 1, fields: []string{"Host: h"}},
	},
	{
		name: "http19_served_as_11",
		raw:  "GET / HTTP/1.9\r\nHost: h\r\n\r\n",
		want: head{method: "GET", target: "/", path: "/", host: "h", minor: 1, fields: []string{"Host: h"}},
	},
	{
		name: "bare_lf_telnet",
		raw:  "GET / HTTP/1.0\n\n",
		want: head{method: "GET", target: "/", path: "/", close: true},
	},
	{
		name: "bare_lf_fields",
		raw:  "GET / HTTP/1.1\nHost: h\nAccept: */*\n\n",
		want: head{method: "GET", target: "/", path: "/", host: "h", minor: 1, fields: []string{"Host: h", "Accept: */*"}},
	},
	{
		name: "mixed_line_endings",
		raw:  "GET / HTTP/1.1\nHost: h\r\nAccept: */*\n\r\n",
		want: head{method: "GET", target: "/", path: "/", host: "h", minor: 1, fields: []string{"Host: h", "Accept: */*"}},
	},
	{
		name: "leading_empty_lines",
		raw:  "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
		want: head{method: "GET", target: "/", path: "/", host: "h", minor: 1, fields: []string{"Host: h"}},
	},
	{
		name: "leading_bare_lf_lines",
		raw:  "\n\nGET / HTTP/1.0\n\n",
		want: head{method: "GET", target: "/", path: "/", close: true},
	},
	{
		name: "ows_trimmed",
		raw: "GET / HTTP/1.1\r\n" +
			"Host:example.com\r\n" +
			"X-Padded: \t value with  inner  space \t\r\n" +
			"X-Empty:\r\n" +
			"X-Blank:   \r\n" +
			"\r\n",
		want: head{method: "GET", target: "/", path: "/", host: "example.com", minor: 1, fields: []string{
			"Host: example.com", "X-Padded: value with  inner  space", "X-Empty: ", "X-Blank: ",
		}},
	},
	{
		name: "repeated_fields_kept_in_order",
		raw: "GET / HTTP/1.1\r\n" +
			"Accept: text/html\r\n" +
			"Host: h\r\n" +
			"Cookie: a=1\r\n" +
			"accept: application/json\r\n" +
			"Cookie: b=2\r\n" +
			"\r\n",
		want: head{method: "GET", target: "/", path: "/", host: "h", minor: 1, fields: []string{
			"Accept: text/html", "Host: h", "Cookie: a=1", "accept: application/json", "Cookie: b=2",
		}},
	},
	{
		name: "field_names_any_case",
		raw:  "GET / HTTP/1.1\r\nhOsT: h\r\nCONTENT-length: 3\r\nconnection: CLOSE\r\n\r\n",
		want: head{method: "GET", target: "/", path: "/", host: "h", minor: 1, length: 3, close: true,
			fields: []string{"hOsT: h", "CONTENT-length: 3", "connection: CLOSE"}},
	},
	{
		name: "obs_text_in_value",
		raw:  "GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xe9\r\n\r\n",
		want: head{method: "GET", target: "/", path: "/", host: "h", minor: 1, fields: []string{"Host: h", "X-Name: caf\xe9"}},
	},
	{
		name: "host_ipv6_port",
		raw:  "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
		want: head{method: "GET", target: "/", path: "/", host: "[::1]:8080", minor: 1, fields: []string{"Host: [::1]:8080"}},
	},
	{
		// RFC 9112 §3.2: a client with no authority sends an empty Host.
		name: "host_empty",
		raw:  "GET / HTTP/1.1\r\nHost:\r\n\r\n",
		want: head{method: "GET", target: "/", path: "/", minor: 1, fields: []string{"Host: "}},
	},
	{
		name: "content_length",
		raw:  "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n",
		want: head{method: "POST", target: "/upload", path: "/upload", host: "h", minor: 1, length: 5,
			fields: []string{"Host: h", "Content-Length: 5"}},
	},
	{
		name: "content_length_zero",
		raw:  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
		want: head{method: "POST", target: "/", path: "/", host: "h", minor: 1, fields: []string{"Host: h", "Content-Length: 0"}},
	},
	{
		name: "content_length_leading_zeros",
		raw:  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n",
		want: head{method: "POST", target: "/", path: "/", host: "h", minor: 1, length: 7,
			fields: []string{"Host: h", "Content-Length: 007"}},
	},
	{
		name: "content_length_list_same",
		raw:  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n",
		want: head{method: "POST", target: "/", path: "/", host: "h", minor: 1, length: 5,
			fields: []string{"Host: h", "Content-Length: 5, 5"}},
	},
	{
		name: "content_length_repeated_same",
		raw:  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
		want: head{method: "POST", target: "/", path: "/", host: "h", minor: 1, length: 5,
			fields: []string{"Host: h", "Content-Length: 5", "Content-Length: 5"}},
	},
	{
		name: "content_length_http10",
		raw:  "POST / HTTP/1.0\r\nContent-Length: 11\r\n\r\n",
		want: head{method: "POST", target: "/", path: "/", length: 11, close: true, fields: []string{"Content-Length: 11"}},
	},
	{
		name: "chunked",
		raw:  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
		want: head{method: "POST", target: "/", path: "/", host: "h", minor: 1, length: -1, chunked: true,
			fields: []string{"Host: h", "Transfer-Encoding: chunked"}},
	},
	{
		name: "chunked_mixed_case",
		raw:  "POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: Chunked\r\n\r\n",
		want: head{method: "POST", target: "/", path: "/", host: "h", minor: 1, length: -1, chunked: true,
			fields: []string{"Host: h", "transfer-encoding: Chunked"}},
	},
	{
		name: "connection_close",
		raw:  "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		want: head{method: "GET", target: "/", path: "/", host: "h", minor: 1, close: true,
			fields: []string{"Host: h", "Connection: close"}},
	},
	{
		name: "connection_close_in_list",
		raw:  "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Close\r\n\r\n",
		want: head{method: "GET", target: "/", path: "/", host: "h", minor: 1, close: true,
			fields: []string{"Host: h", "Connection: keep-alive, Close"}},
	},
	{
		name: "http10_keep_alive_and_close",
		raw:  "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
		want: head{method: "GET", target: "/", path: "/", close: true,
			fields: []string{"Connection: keep-alive", "Connection: close"}},
	},
	{
		name: "expect_continue",
		raw:  "PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-Continue\r\n\r\n",
		want: head{method: "PUT", target: "/f", path: "/f", host: "h", minor: 1, length: 3, expect100: true,
			fields: []string{"Host: h", "Content-Length: 3", "Expect: 100-Continue"}},
	},
	{
		// RFC 9110 §10.1.1: a server MAY ignore Expect in an HTTP/1.0 request.
		name: "expect_other_ignored_http10",
		raw:  "PUT /f HTTP/1.0\r\nExpect: something-else\r\n\r\n",
		want: head{method: "PUT", target: "/f", path: "/f", close: true, fields: []string{"Expect: something-else"}},
	},
	{
		name: "expect_continue_ignored_http10",
		raw:  "PUT /f HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
		want: head{method: "PUT", target: "/f", path: "/f", close: true, fields: []string{"Expect: 100-continue"}},
	},
	{
		name: "method_lowercase_token",
		raw:  "get / HTTP/1.1\r\nHost: h\r\n\r\n",
		want: head{method: "get", target: "/", path: "/", host: "h", minor: 1, fields: []string{"Host: h"}},
	},
	{
		name: "method_extension_tokens",
		raw:  "M-SEARCH_x!~ /ssdp HTTP/1.1\r\nHost: h\r\n\r\n",
		want: head{method: "M-SEARCH_x!~", target: "/ssdp", path: "/ssdp", host: "h", minor: 1, fields: []string{"Host: h"}},
	},
	{
		name: "method_propfind",
		raw:  "PROPFIND /dav/ HTTP/1.1\r\nHost: h\r\nDepth: 1\r\n\r\n",
		want: head{method: "PROPFIND", target: "/dav/", path: "/dav/", host: "h", minor: 1,
			fields: []string{"Host: h", "Depth: 1"}},
	},
	{
		name: "request_line_at_limit",
		raw:  "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		lim:  Limits{MaxRequestLine: len("GET / HTTP/1.1\r\n")},
		want: head{method: "GET", target: "/", path: "/", host: "h", minor: 1, fields: []string{"Host: h"}},
	},
	{
		// The limit counts field lines, not the empty line that ends them,
		// however the bytes arrive.
		name: "header_bytes_at_limit",
		raw:  "GET / HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n",
		lim:  Limits{MaxHeaderBytes: len("Host: h\r\nAccept: */*\r\n")},
		want: head{method: "GET", target: "/", path: "/", host: "h", minor: 1, fields: []string{"Host: h", "Accept: */*"}},
	},
	{
		name: "header_count_at_limit",
		raw:  "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n",
		lim:  Limits{MaxHeaderCount: 3},
		want: head{method: "GET", target: "/", path: "/", host: "h", minor: 1, fields: []string{"Host: h", "A: 1", "B: 2"}},
	},
	{
		name: "content_length_at_body_limit",
		raw:  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n",
		lim:  Limits{MaxBodyBytes: 10},
		want: head{method: "POST", target: "/", path: "/", host: "h", minor: 1, length: 10,
			fields: []string{"Host: h", "Content-Length: 10"}},
	},
}

// badRequests are heads the parser must refuse, named by the attack or
// defect, with the exact error (and so status) expected.
var badRequests = []badRequest{
	// Request smuggling through framing (RFC 9112 §6.3).
	{"smuggle_cl_te", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", Limits{}, ErrAmbiguousLength},
	{"smuggle_te_cl", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", Limits{}, ErrAmbiguousLength},
	{"smuggle_te_cl_zero", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", Limits{}, ErrAmbiguousLength},
	{"smuggle_cl_te_http10", "POST / HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", Limits{}, ErrAmbiguousLength},
	{"smuggle_cl_cl_differ", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", Limits{}, ErrContentLength},
	{"smuggle_cl_list_differ", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n", Limits{}, ErrContentLength},
	{"smuggle_cl_then_empty_list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: ,\r\n\r\n", Limits{}, ErrContentLength},
	{"smuggle_cl_then_empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length:\r\n\r\n", Limits{}, ErrContentLength},
	{"cl_not_digits_plus", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", Limits{}, ErrContentLength},
	{"cl_not_digits_minus", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", Limits{}, ErrContentLength},
	{"cl_not_digits_hex", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", Limits{}, ErrContentLength},
	{"cl_not_digits_inner_space", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:  5 5\r\n\r\n", Limits{}, ErrContentLength},
	{"cl_not_digits_empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", Limits{}, ErrContentLength},
	{"cl_not_digits_only_commas", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: , ,\r\n\r\n", Limits{}, ErrContentLength},
	{"cl_not_digits_fraction", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5.0\r\n\r\n", Limits{}, ErrContentLength},
	{"cl_overflow", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", Limits{}, ErrContentLength},
	{"cl_overflow_int64", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775808\r\n\r\n", Limits{}, ErrContentLength},
	{"cl_over_max_body", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", Limits{MaxBodyBytes: 10}, ErrBodyTooLarge},
	{"cl_over_default_max_body", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 999999999999999999\r\n\r\n", Limits{}, ErrBodyTooLarge},
	{"te_not_final_chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", Limits{}, ErrTransferEncoding},
	{"te_not_final_chunked_split", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", Limits{}, ErrTransferEncoding},
	{"te_chunked_twice", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", Limits{}, ErrTransferEncoding},
	{"te_chunked_twice_split", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", Limits{}, ErrTransferEncoding},
	{"te_unknown_only", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", Limits{}, ErrTransferEncoding},
	{"te_identity", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", Limits{}, ErrTransferEncoding},
	{"te_empty", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n", Limits{}, ErrTransferEncoding},
	{"te_chunked_lookalike", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", Limits{}, ErrTransferEncoding},
	{"te_chunked_quoted", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", Limits{}, ErrTransferEncoding},
	{"te_gzip_chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", Limits{}, ErrUnsupportedCoding},
	{"te_on_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", Limits{}, ErrTransferEncoding},
	{"te_obs_fold_smuggle", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n chunked\r\n\r\n", Limits{}, ErrObsFold},
	{"te_obs_fold_empty_first", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\tchunked\r\n\r\n", Limits{}, ErrObsFold},
	{"te_space_before_colon", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n", Limits{}, ErrBadHeader},
	{"cl_space_before_colon", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\n", Limits{}, ErrBadHeader},

	// Field syntax (RFC 9112 §5, RFC 9110 §5.5).
	{"space_before_colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", Limits{}, ErrBadHeader},
	{"tab_before_colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", Limits{}, ErrBadHeader},
	{"obs_fold", "GET / HTTP/1.1\r\nHost: h\r\nX-Long: part one\r\n part two\r\n\r\n", Limits{}, ErrObsFold},
	{"obs_fold_tab", "GET / HTTP/1.1\r\nHost: h\r\nX-Long: part one\r\n\tpart two\r\n\r\n", Limits{}, ErrObsFold},
	{"first_field_starts_with_space", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", Limits{}, ErrObsFold},
	{"no_colon", "GET / HTTP/1.1\r\nHost: h\r\nX-Missing value\r\n\r\n", Limits{}, ErrBadHeader},
	{"empty_name", "GET / HTTP/1.1\r\nHost: h\r\n: value\r\n\r\n", Limits{}, ErrBadHeader},
	{"name_not_token", "GET / HTTP/1.1\r\nHost: h\r\nX(y): v\r\n\r\n", Limits{}, ErrBadHeader},
	{"name_utf8", "GET / HTTP/1.1\r\nHost: h\r\nX-\xc3\xa9: v\r\n\r\n", Limits{}, ErrBadHeader},
	{"bare_cr_in_target", "GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadTarget},
	{"bare_cr_ends_request_line", "GET / HTTP/1.1\rHost: h\r\n\r\n", Limits{}, ErrBadVersion},
	{"bare_cr_in_method", "G\rET / HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadRequestLine},
	{"bare_cr_in_value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", Limits{}, ErrBareCR},
	{"bare_cr_ends_field", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rX-B: b\r\n\r\n", Limits{}, ErrBareCR},
	{"bare_cr_before_crlf", "GET / HTTP/1.1\r\nHost: h\r\r\n\r\n", Limits{}, ErrBareCR},
	{"bare_cr_in_name", "GET / HTTP/1.1\r\nHost: h\r\nX\r-A: a\r\n\r\n", Limits{}, ErrBareCR},
	{"bare_cr_line", "GET / HTTP/1.1\r\nHost: h\r\n\r\r\n\r\n", Limits{}, ErrBareCR},
	{"nul_in_value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n", Limits{}, ErrBadHeader},
	{"ctl_in_value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01b\r\n\r\n", Limits{}, ErrBadHeader},
	{"esc_in_value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: \x1b[31mred\r\n\r\n", Limits{}, ErrBadHeader},
	{"del_in_value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7fb\r\n\r\n", Limits{}, ErrBadHeader},

	// Host (RFC 9112 §3.2).
	{"missing_host_11", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", Limits{}, ErrHost},
	{"missing_host_absolute_form_11", "GET http://example.com/ HTTP/1.1\r\n\r\n", Limits{}, ErrHost},
	{"double_host", "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", Limits{}, ErrHost},
	{"double_host_same", "GET / HTTP/1.1\r\nHost: a.example\r\nHost: a.example\r\n\r\n", Limits{}, ErrHost},
	{"double_host_http10", "GET / HTTP/1.0\r\nHost: a.example\r\nhost: b.example\r\n\r\n", Limits{}, ErrHost},
	{"invalid_host_space", "GET / HTTP/1.1\r\nHost: exa mple.com\r\n\r\n", Limits{}, ErrHost},
	{"invalid_host_userinfo", "GET / HTTP/1.1\r\nHost: user@example.com\r\n\r\n", Limits{}, ErrHost},
	{"invalid_host_path", "GET / HTTP/1.1\r\nHost: example.com/admin\r\n\r\n", Limits{}, ErrHost},
	{"invalid_host_utf8", "GET / HTTP/1.1\r\nHost: \xc3\xa9.example\r\n\r\n", Limits{}, ErrHost},
	// RFC 9110 §7.2, RFC 3986 §3.2.3: a port is 1 to 5 digits.
	{"host_port_letters", "GET / HTTP/1.1\r\nHost: example.com:80a\r\n\r\n", Limits{}, ErrHost},
	{"host_port_six_digits", "GET / HTTP/1.1\r\nHost: example.com:123456\r\n\r\n", Limits{}, ErrHost},
	{"host_port_empty", "GET / HTTP/1.1\r\nHost: example.com:\r\n\r\n", Limits{}, ErrHost},
	{"host_two_ports", "GET / HTTP/1.1\r\nHost: example.com:80:80\r\n\r\n", Limits{}, ErrHost},
	{"host_ipv6_unbracketed", "GET / HTTP/1.1\r\nHost: ::1\r\n\r\n", Limits{}, ErrHost},
	{"host_ipv6_junk_after", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", Limits{}, ErrHost},
	{"host_ipv6_unclosed", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", Limits{}, ErrHost},
	{"host_bracket_in_name", "GET / HTTP/1.1\r\nHost: a]b\r\n\r\n", Limits{}, ErrHost},
	{"absolute_form_port_letters", "GET http://example.com:8o/ HTTP/1.1\r\nHost: example.com\r\n\r\n", Limits{}, ErrBadTarget},

	// Request line (RFC 9112 §3).
	{"bad_version_no_minor", "GET / HTTP/1\r\nHost: h\r\n\r\n", Limits{}, ErrBadVersion},
	{"bad_version_lowercase", "GET / http/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadVersion},
	{"bad_version_trailing_space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", Limits{}, ErrBadVersion},
	{"bad_version_no_dot", "GET / HTTP/11\r\nHost: h\r\n\r\n", Limits{}, ErrBadVersion},
	{"bad_version_two_digit_minor", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", Limits{}, ErrBadVersion},
	{"bad_version_letter", "GET / HTTP/1.x\r\nHost: h\r\n\r\n", Limits{}, ErrBadVersion},
	{"bad_version_missing", "GET / \r\nHost: h\r\n\r\n", Limits{}, ErrBadVersion},
	{"version_2", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", Limits{}, ErrVersion},
	{"version_09", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", Limits{}, ErrVersion},
	{"version_3", "GET / HTTP/3.0\r\n\r\n", Limits{}, ErrVersion},
	{"double_space_method_target", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadVersion},
	{"double_space_target_version", "GET /  HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadVersion},
	{"tab_separator", "GET\t/\tHTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadRequestLine},
	{"missing_target", "GET HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadRequestLine},
	{"empty_target", "GET  HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadTarget},
	{"method_only", "GET\r\nHost: h\r\n\r\n", Limits{}, ErrBadRequestLine},
	{"empty_method", " / HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadRequestLine},
	{"invalid_method_chars", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadRequestLine},
	{"invalid_method_nul", "GE\x00T / HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadRequestLine},
	{"invalid_method_utf8", "G\xc3\x89T / HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadRequestLine},
	{"fragment_in_target", "GET /page#section HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadTarget},
	{"ctl_in_target", "GET /a\x01b HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadTarget},
	{"del_in_target", "GET /a\x7fb HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadTarget},
	{"asterisk_with_get", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadTarget},
	{"absolute_form_bad_scheme", "GET ftp://example.com/ HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadTarget},
	{"absolute_form_no_authority", "GET http:///etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadTarget},
	{"absolute_form_scheme_only", "GET http:// HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadTarget},
	{"absolute_form_userinfo", "GET http://user:pw@example.com/ HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadTarget},
	{"relative_target", "GET index.html HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadTarget},
	{"connect_bad_authority", "CONNECT evil/x:443 HTTP/1.1\r\nHost: h\r\n\r\n", Limits{}, ErrBadTarget},

	// Bounds.
	{"request_line_too_long", "GET /0123456789abcdef0123456789abcdef HTTP/1.1\r\nHost: h\r\n\r\n", Limits{MaxRequestLine: 32}, ErrURITooLong},
	{"request_line_one_over", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", Limits{MaxRequestLine: len("GET / HTTP/1.1\r\n") - 1}, ErrURITooLong},
	{"request_line_unterminated", "GET /" + strings.Repeat("a", 64), Limits{MaxRequestLine: 32}, ErrURITooLong},
	{"leading_empty_lines_flood", strings.Repeat("\r\n", 20) + "GET / HTTP/1.1\r\nHost: h\r\n\r\n", Limits{MaxRequestLine: 32}, ErrBadRequestLine},
	{"header_bytes_over_limit", "GET / HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n", Limits{MaxHeaderBytes: len("Host: h\r\nAccept: */*\r\n") - 1}, ErrHeaderTooLarge},
	{"header_bytes_unterminated", "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("a", 64), Limits{MaxHeaderBytes: 32}, ErrHeaderTooLarge},
	{"header_count_over_limit", "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", Limits{MaxHeaderCount: 3}, ErrTooManyHeaders},
	{"expect_other", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: something-else\r\n\r\n", Limits{}, ErrExpectation},
	{"expect_continue_in_list", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue, x\r\n\r\n", Limits{}, ErrExpectation},
	{"expect_other_then_continue", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: x\r\nExpect: 100-continue\r\n\r\n", Limits{}, ErrExpectation},
	{"expect_continue_then_other", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nExpect: x\r\n\r\n", Limits{}, ErrExpectation},
}

// readRequestFrom runs ReadRequest over src.
func readRequestFrom(src io.Reader, lim *Limits) (*Request, *Input, error) {
	in := &Input{Src: src}
	r := new(Request)
	err := ReadRequest(in, r, lim)
	return r, in, err
}

// feeds are the ways a head reaches the parser.
var feeds = []struct {
	name string
	src  func(string) io.Reader
}{
	{"whole", func(s string) io.Reader { return strings.NewReader(s) }},
	{"byte_by_byte", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
}

func TestReadRequest(t *testing.T) {
	for _, tc := range validRequests {
		t.Run(tc.name, func(t *testing.T) {
			for _, feed := range feeds {
				t.Run(feed.name, func(t *testing.T) {
					r, in, err := readRequestFrom(feed.src(tc.raw), &tc.lim)
					if err != nil {
						t.Fatalf("ReadRequest: %v", err)
					}
					checkHead(t, r, tc.want)
					if in.Buffered() != 0 {
						t.Errorf("%d bytes left buffered after the head", in.Buffered())
					}
				})
			}
			t.Run("parse_head_growing", func(t *testing.T) {
				var r Request
				r.Reset()
				b := []byte(tc.raw)
				for i := 1; i < len(b); i++ {
					n, err := r.ParseHead(b[:i], &tc.lim)
					if n != 0 || err != nil {
						t.Fatalf("ParseHead(first %d of %d bytes) = %d, %v; want 0, nil", i, len(b), n, err)
					}
				}
				n, err := r.ParseHead(b, &tc.lim)
				if n != len(b) || err != nil {
					t.Fatalf("ParseHead(all %d bytes) = %d, %v; want %d, nil", len(b), n, err, len(b))
				}
				checkHead(t, &r, tc.want)
			})
		})
	}
}

func checkHead(t *testing.T, r *Request, want head) {
	t.Helper()
	for _, c := range []struct{ what, got, want string }{
		{"Method", string(r.Method), want.method},
		{"Target", string(r.Target), want.target},
		{"Path", string(r.Path), want.path},
		{"Query", string(r.Query), want.query},
		{"Host", string(r.Authority), want.host},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
		}
	}
	if hasQ := strings.Contains(want.target, "?"); (r.Query != nil) != hasQ {
		t.Errorf("Query is nil: got %v, want %v", r.Query == nil, !hasQ)
	}
	if r.ProtoMinor != want.minor {
		t.Errorf("ProtoMinor: got %d, want %d", r.ProtoMinor, want.minor)
	}
	if r.ContentLength != want.length || r.Chunked != want.chunked {
		t.Errorf("ContentLength, Chunked: got %d, %v; want %d, %v", r.ContentLength, r.Chunked, want.length, want.chunked)
	}
	if r.Close != want.close {
		t.Errorf("Close: got %v, want %v", r.Close, want.close)
	}
	if r.ExpectContinue != want.expect100 {
		t.Errorf("ExpectContinue: got %v, want %v", r.ExpectContinue, want.expect100)
	}
	if got := renderFields(&r.Header); !slices.Equal(got, want.fields) {
		t.Errorf("fields:\ngot  %q\nwant %q", got, want.fields)
	}
	// Lookup ignores case and finds the first of repeated fields.
	for _, f := range want.fields {
		name, value, _ := strings.Cut(f, ": ")
		if first := firstValue(want.fields, name); first != value {
			continue
		}
		for _, n := range []string{name, strings.ToUpper(name), strings.ToLower(name)} {
			if got := r.Header.Get(n); string(got) != value || got == nil {
				t.Errorf("Header.Get(%q): got %q, want %q", n, got, value)
			}
		}
	}
}

func renderFields(h *web.Header) []string {
	var out []string
	for name, value := range h.All() {
		out = append(out, string(name)+": "+string(value))
	}
	return out
}

// firstValue is the value of the first "Name: value" in fields whose name
// matches name in any case.
func firstValue(fields []string, name string) string {
	for _, f := range fields {
		n, v, _ := strings.Cut(f, ": ")
		if strings.EqualFold(n, name) {
			return v
		}
	}
	return ""
}

func TestReadRequestBad(t *testing.T) {
	for _, tc := range badRequests {
		t.Run(tc.name, func(t *testing.T) {
			for _, feed := range feeds {
				t.Run(feed.name, func(t *testing.T) {
					r, _, err := readRequestFrom(feed.src(tc.raw), &tc.lim)
					if err != tc.wantErr {
						t.Fatalf("ReadRequest error: got %v, want %v", err, tc.wantErr)
					}
					// A refused request is still logged: the fields parsed
					// before the error must be readable, and be this
					// request's bytes.
					for name, value := range r.Header.All() {
						if !strings.Contains(tc.raw, string(name)+":") || !strings.Contains(tc.raw, string(value)) {
							t.Errorf("after the error, field %q: %q is not from the request", name, value)
						}
					}
					if status, boring := web.StatusOf(err); status != tc.wantErr.Status || boring {
						t.Errorf("web.StatusOf: got %d, %v; want %d, false", status, boring, tc.wantErr.Status)
					}
				})
			}
			t.Run("parse_head_growing", func(t *testing.T) {
				var r Request
				r.Reset()
				b := []byte(tc.raw)
				for i := 1; i <= len(b); i++ {
					n, err := r.ParseHead(b[:i], &tc.lim)
					if err != nil {
						// n is unspecified with an error: errors found once the
						// head is complete come with its length.
						if err != tc.wantErr {
							t.Fatalf("ParseHead(first %d of %d bytes) error: got %v, want %v", i, len(b), err, tc.wantErr)
						}
						return
					}
					if n != 0 {
						t.Fatalf("ParseHead(first %d of %d bytes) = %d, nil; want 0, %v", i, len(b), n, tc.wantErr)
					}
				}
				t.Fatalf("ParseHead never failed; want %v", tc.wantErr)
			})
		})
	}
}

func TestReadRequestStatus(t *testing.T) {
	// Every sentinel the parser uses maps to its status in one place.
	for _, tc := range []struct {
		err    error
		status int
		boring bool
	}{
		{ErrURITooLong, 414, false},
		{ErrHeaderTooLarge, 431, false},
		{ErrVersion, 505, false},
		{ErrUnsupportedCoding, 501, false},
		{ErrExpectation, 417, false},
		{ErrBodyTooLarge, 413, false},
		{io.EOF, 400, true},
		{io.ErrUnexpectedEOF, 400, true},
		{errors.New("other"), 400, true},
	} {
		if status, boring := web.StatusOf(tc.err); status != tc.status || boring != tc.boring {
			t.Errorf("web.StatusOf(%v): got %d, %v; want %d, %v", tc.err, status, boring, tc.status, tc.boring)
		}
	}
}

func TestReadRequestEOF(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		wantErr   error
	}{
		{"nothing", "", io.EOF},
		{"partial_request_line", "GET / HT", io.ErrUnexpectedEOF},
		{"partial_fields", "GET / HTTP/1.1\r\nHost: h\r\n", io.ErrUnexpectedEOF},
		{"missing_final_lf", "GET / HTTP/1.1\r\nHost: h\r\n\r", io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, feed := range feeds {
				t.Run(feed.name, func(t *testing.T) {
					_, _, err := readRequestFrom(feed.src(tc.raw), &Limits{})
					if err != tc.wantErr {
						t.Errorf("got %v, want %v", err, tc.wantErr)
					}
				})
			}
		})
	}
}

func TestReadRequestReuse(t *testing.T) {
	// A Request reused for a second, smaller head keeps nothing of the first.
	in := &Input{Src: strings.NewReader(
		"POST http://a.example/x?q HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n" +
			"GET / HTTP/1.0\r\n\r\n")}
	var r Request
	if err := ReadRequest(in, &r, &Limits{}); err != nil {
		t.Fatalf("first ReadRequest: %v", err)
	}
	if err := ReadRequest(in, &r, &Limits{}); err != nil {
		t.Fatalf("second ReadRequest: %v", err)
	}
	checkHead(t, &r, head{method: "GET", target: "/", path: "/", close: true})
	if err := ReadRequest(in, &r, &Limits{}); err != io.EOF {
		t.Errorf("third ReadRequest: got %v, want %v", err, io.EOF)
	}
}

func TestReadRequestLargeHead(t *testing.T) {
	// A head larger than the default buffer grows it, within the limits.
	cookie := strings.Repeat("c", 3*DefaultBufferSize)
	raw := "GET / HTTP/1.1\r\nHost: h\r\nCookie: " + cookie + "\r\n\r\n"
	for _, feed := range feeds {
		t.Run(feed.name, func(t *testing.T) {
			r, _, err := readRequestFrom(feed.src(raw), &Limits{})
			if err != nil {
				t.Fatalf("ReadRequest: %v", err)
			}
			if got := r.Header.Get("cookie"); string(got) != cookie {
				t.Errorf("Cookie: got %d bytes, want %d", len(got), len(cookie))
			}
		})
	}
}
