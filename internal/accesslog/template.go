package accesslog

// A format string in the style of nginx's log_format: text with $name or
// ${name} variables, compiled once into ops that append without
// allocating.

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"nave/internal/web"
)

// ErrUnknownVariable: a format string names a variable nave does not have.
var ErrUnknownVariable = errors.New("accesslog: unknown variable")

// variable is what an op appends.
type variable uint8

const (
	vLiteral variable = iota
	vRemoteAddr
	vRemotePort
	vClientAddr
	vTimeLocal
	vTimeISO8601
	vMsec
	vRequest
	vMethod
	vRequestURI
	vURI
	vArgs
	vProtocol
	vScheme
	vHost
	vStatus
	vBodyBytes
	vRequestTime
	vQueueTime
	vUpstreamAddr
	vUpstreamTime
	vRequestID
	vTLSProtocol
	vHTTP     // $http_NAME: a request field
	vSentHTTP // $sent_http_NAME: a response field the handler set
)

// variables are the names a format string may use; docs/observability.md
// lists them with their meaning. Read-only.
var variables = map[string]variable{
	"remote_addr":            vRemoteAddr,
	"remote_port":            vRemotePort,
	"client_addr":            vClientAddr,
	"time_local":             vTimeLocal,
	"time_iso8601":           vTimeISO8601,
	"msec":                   vMsec,
	"request":                vRequest,
	"request_method":         vMethod,
	"request_uri":            vRequestURI,
	"uri":                    vURI,
	"args":                   vArgs,
	"query_string":           vArgs,
	"server_protocol":        vProtocol,
	"scheme":                 vScheme,
	"host":                   vHost,
	"status":                 vStatus,
	"body_bytes_sent":        vBodyBytes,
	"request_time":           vRequestTime,
	"queue_time":             vQueueTime,
	"upstream_addr":          vUpstreamAddr,
	"upstream_response_time": vUpstreamTime,
	"request_id":             vRequestID,
	"ssl_protocol":           vTLSProtocol,
	"tls_version":            vTLSProtocol,
}

// op is one piece of a template: literal text, or a variable (with the
// field name of $http_ and $sent_http_).
type op struct {
	v    variable
	text string // the literal, or the field name
}

// compile parses a format string.
func compile(src string) (Format, error) {
	var ops []op
	lit := 0 // start of the pending literal
	for i := 0; i < len(src); {
		if src[i] != '$' {
			i++
			continue
		}
		name, end := varName(src, i+1)
		if name == "" {
			i++ // a "$" not followed by a name is text
			continue
		}
		o, err := lookup(name)
		if err != nil {
			return Format{}, err
		}
		if lit < i {
			ops = append(ops, op{v: vLiteral, text: src[lit:i]})
		}
		ops = append(ops, o)
		i, lit = end, end
	}
	if lit < len(src) {
		ops = append(ops, op{v: vLiteral, text: src[lit:]})
	}
	return Format{kind: kindTemplate, ops: ops, src: src}, nil
}

// varName reads the name after a "$" at src[i:]: letters, digits and
// "_", or anything up to "}" after "{". It returns "" when there is none.
func varName(src string, i int) (name string, end int) {
	if i < len(src) && src[i] == '{' {
		j := strings.IndexByte(src[i:], '}')
		if j < 0 {
			return "", i
		}
		return src[i+1 : i+j], i + j + 1
	}
	j := i
	for j < len(src) && (src[j] == '_' || 'a' <= src[j] && src[j] <= 'z' || 'A' <= src[j] && src[j] <= 'Z' || '0' <= src[j] && src[j] <= '9') {
		j++
	}
	return src[i:j], j
}

// lookup compiles the variable name.
func lookup(name string) (op, error) {
	if v, ok := variables[name]; ok {
		return op{v: v}, nil
	}
	for _, p := range []struct {
		prefix string
		v      variable
	}{{"http_", vHTTP}, {"sent_http_", vSentHTTP}} {
		if field, ok := strings.CutPrefix(name, p.prefix); ok && field != "" {
			// nginx: the field name lower-cased, "-" written "_".
			return op{v: p.v, text: strings.ReplaceAll(field, "_", "-")}, nil
		}
	}
	return op{}, fmt.Errorf("%w $%s in the format (known: %s, $http_NAME, $sent_http_NAME)", ErrUnknownVariable, name, knownVariables())
}

// knownVariables lists the variables, for an error message.
func knownVariables() string {
	names := make([]string, 0, len(variables))
	for n := range variables {
		names = append(names, "$"+n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// appendTemplate appends a record laid out by the template. Client bytes
// are escaped as in Combined (\xHH); an empty value is "-", as nginx logs
// an empty variable.
func (f Format) appendTemplate(b []byte, r *web.Request, w *web.ResponseWriter, t time.Time, d time.Duration) []byte {
	for i := range f.ops {
		o := &f.ops[i]
		if o.v == vLiteral {
			b = append(b, o.text...)
			continue
		}
		n := len(b)
		b = appendVariable(b, o, r, w, t, d)
		if len(b) == n {
			b = append(b, '-')
		}
	}
	return append(b, '\n')
}

// appendVariable appends one variable's value, or nothing when it has none.
func appendVariable(b []byte, o *op, r *web.Request, w *web.ResponseWriter, t time.Time, d time.Duration) []byte {
	switch o.v {
	case vRemoteAddr:
		return appendAddr(b, r.RemoteAddr, "")
	case vClientAddr:
		return appendAddr(b, r.ClientAddr(), "")
	case vRemotePort:
		if r.RemoteAddr.IsValid() {
			b = strconv.AppendUint(b, uint64(r.RemoteAddr.Port()), 10)
		}
	case vTimeLocal:
		return t.AppendFormat(b, clfTime)
	case vTimeISO8601:
		return t.AppendFormat(b, time.RFC3339)
	case vMsec:
		ms := t.UnixMilli()
		b = strconv.AppendInt(b, ms/1000, 10)
		return append(b, '.', byte('0'+ms%1000/100), byte('0'+ms%100/10), byte('0'+ms%10))
	case vRequest:
		if len(r.Method) > 0 {
			b = appendEscaped(b, r.Method)
			b = append(b, ' ')
			b = appendEscaped(b, r.Target)
			b = append(b, ' ')
			b = append(b, r.Proto.String()...)
		}
	case vMethod:
		return appendEscaped(b, r.Method)
	case vRequestURI:
		return appendEscaped(b, r.Target)
	case vURI:
		return appendEscaped(b, r.Path)
	case vArgs:
		return appendEscaped(b, r.Query)
	case vProtocol:
		return append(b, r.Proto.String()...)
	case vScheme:
		return append(b, r.Scheme...)
	case vHost:
		return appendEscaped(b, web.Hostname(r.Authority))
	case vStatus:
		return strconv.AppendInt(b, int64(w.Status()), 10)
	case vBodyBytes:
		return strconv.AppendInt(b, w.BodyBytes(), 10)
	case vRequestTime:
		return appendSeconds(b, d)
	case vQueueTime:
		if !r.Note.Dispatched.IsZero() {
			b = appendSeconds(b, r.QueueWait())
		}
	case vUpstreamAddr:
		return appendEscaped(b, r.Note.Upstream)
	case vUpstreamTime:
		if r.Note.Upstream != "" {
			b = appendSeconds(b, r.Note.UpstreamTime)
		}
	case vRequestID:
		return appendEscaped(b, r.ID())
	case vTLSProtocol:
		return append(b, tlsVersion(r)...)
	case vHTTP:
		return appendEscaped(b, r.Header.Get(o.text))
	case vSentHTTP:
		return appendEscaped(b, w.Header().Get(o.text))
	}
	return b
}

// appendSeconds appends d in seconds with millisecond resolution, as
// nginx's $request_time ("0.002"). A negative d is written as 0.000.
func appendSeconds(b []byte, d time.Duration) []byte {
	ms := max(d.Milliseconds(), 0)
	b = strconv.AppendInt(b, ms/1000, 10)
	return append(b, '.', byte('0'+ms%1000/100), byte('0'+ms%100/10), byte('0'+ms%10))
}
