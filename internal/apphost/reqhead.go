package apphost

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The front server's request-head parser (see frontServer). It takes only
// the requests it fully understands and leaves every other one, valid or
// not, to net/http's server, which answers it as it always did: the parser
// need not know how to reject anything, only when to step aside.

// maxFastHead bounds a request head the front server reads itself. A
// longer head goes to net/http's server, whose own limit (MaxHeaderBytes,
// 1 MiB) answers 431.
const maxFastHead = 16 << 10

// headResult is what parseRequestHead made of the bytes it was given.
type headResult int

const (
	headIncomplete headResult = iota // no end of the head yet
	headFast                         // a plain request the front server serves
	headHandOff                      // anything else, for net/http's server
)

// reqHead is a parsed request head, as offsets into the buffer it was
// parsed from. Its slices are kept from one request to the next.
type reqHead struct {
	size          int // bytes of the head, up to and with its empty line
	method        headerField
	target        headerField // k0:k1 only
	minor         int         // HTTP/1.minor
	fields        []headerField
	host          int   // index in fields of the Host field, or -1
	contentLength int64 // 0 without a Content-Length field
	close         bool  // the client wants the connection closed after the response
}

// parseRequestHead parses the request head at the start of b into h, if
// b holds all of it. Field names are canonicalized in place. It returns
// headFast only for an origin-form HTTP/1.0 or 1.1 request whose fields
// are all well formed, with at most one Host (exactly one for HTTP/1.1), a
// body of at most maxFastBody bytes given by one Content-Length, and no
// Transfer-Encoding, Upgrade, Connection: upgrade or Expect: what net/http
// would parse the same way and forward proxies. CR LF must end every line;
// a bare LF hands the request off.
func parseRequestHead(b []byte, h *reqHead) headResult {
	h.fields, h.host, h.contentLength, h.close = h.fields[:0], -1, 0, false
	eol := bytes.IndexByte(b, '\n')
	if eol < 0 {
		if len(b) >= maxFastHead {
			return headHandOff
		}
		return headIncomplete
	}
	if eol == 0 || b[eol-1] != '\r' || !parseRequestLine(b[:eol-1], h) {
		return headHandOff
	}
	hasLength, keepAlive := false, false
	for start := eol + 1; ; {
		i := bytes.IndexByte(b[start:], '\n')
		if i < 0 {
			if len(b) >= maxFastHead {
				return headHandOff
			}
			return headIncomplete
		}
		end := start + i
		if end == start || b[end-1] != '\r' {
			return headHandOff // a bare LF
		}
		if end-1 == start { // the empty line
			h.size = end + 1
			break
		}
		f, ok := parseField(b, start, end-1)
		if !ok {
			return headHandOff
		}
		v := b[f.v0:f.v1]
		switch string(b[f.k0:f.k1]) {
		case "Host":
			if h.host >= 0 || !validHost(v) {
				return headHandOff
			}
			h.host = len(h.fields)
		case "Content-Length":
			n, ok := parseLength(v)
			if hasLength || !ok || n > maxFastBody {
				return headHandOff
			}
			hasLength, h.contentLength = true, n
		case "Transfer-Encoding", "Upgrade", "Expect":
			return headHandOff
		case "Connection":
			for t := range bytes.SplitSeq(v, []byte(",")) {
				t = bytes.TrimSpace(t)
				switch {
				case bytes.EqualFold(t, []byte("upgrade")):
					return headHandOff
				case bytes.EqualFold(t, []byte("close")):
					h.close = true
				case bytes.EqualFold(t, []byte("keep-alive")):
					keepAlive = true
				}
			}
		}
		h.fields = append(h.fields, f)
		start = end + 1
		if start >= maxFastHead {
			return headHandOff
		}
	}
	if h.minor == 1 && h.host < 0 {
		return headHandOff // net/http answers 400
	}
	if h.minor == 0 && !keepAlive {
		h.close = true
	}
	return headFast
}

// parseRequestLine parses "METHOD /target HTTP/1.x" (without its CR LF)
// into h.
func parseRequestLine(line []byte, h *reqHead) bool {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return false
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 || rest[0] != '/' {
		return false // asterisk, authority and absolute forms go to net/http
	}
	for _, c := range line[:sp1] {
		if !isTokenChar(c) {
			return false
		}
	}
	for _, c := range rest[:sp2] {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	switch string(rest[sp2+1:]) {
	case "HTTP/1.1":
		h.minor = 1
	case "HTTP/1.0":
		h.minor = 0
	default:
		return false
	}
	h.method = headerField{k0: 0, k1: sp1}
	h.target = headerField{k0: sp1 + 1, k1: sp1 + 1 + sp2}
	return true
}

// validHost reports whether a Host field's value is one that net/http
// takes as it is: a name or address and a port, in a conservative set of
// bytes. Others go to net/http, which may refuse them.
func validHost(v []byte) bool {
	for _, c := range v {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// reqScratch is what newRequest fills in: one per connection, reused for
// each of its requests, so that a request's struct, URL, field map and
// values cost no allocation. It is safe because the front server's
// handler is argus's own (front, then the app proxy), which is done with
// the request when it returns: the forward path uses it in place, and
// ReverseProxy sends a deep copy (Request.Clone).
type reqScratch struct {
	req    http.Request
	url    url.URL
	header http.Header
	vals   []string
}

// newRequest builds the http.Request of a parsed head for the handlers,
// as a copy of base, which holds what the connection's requests share
// (their context and remote address), in sc. It returns nil if net/http
// would see the request differently (a target url.ParseRequestURI
// refuses), for the caller to hand it off. s is the head as a string: the
// request's strings share it.
func (sc *reqScratch) newRequest(base *http.Request, s string, h *reqHead) *http.Request {
	target := s[h.target.k0:h.target.k1]
	u, ok := parseTarget(&sc.url, target)
	if !ok {
		var err error
		if u, err = url.ParseRequestURI(target); err != nil {
			return nil
		}
	}
	r := &sc.req
	*r = *base
	r.Method = s[h.method.k0:h.method.k1]
	r.URL = u
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, h.minor
	if sc.header == nil {
		sc.header = make(http.Header, len(h.fields))
	}
	clear(sc.header)
	r.Header = sc.header
	r.RequestURI = target
	r.Close = h.close
	r.Body = http.NoBody
	if h.minor == 0 {
		r.Proto = "HTTP/1.0"
	}
	// One slice holds every value; each field's is a one-element window
	// of it, grown into a copy only for a repeated field.
	sc.vals = slices.Grow(sc.vals[:0], len(h.fields))[:len(h.fields)]
	vals := sc.vals
	for i, f := range h.fields {
		k, v := s[f.k0:f.k1], s[f.v0:f.v1]
		if i == h.host {
			r.Host = v
			continue
		}
		vals[i] = v
		if old, ok := r.Header[k]; ok {
			r.Header[k] = append(old, v)
		} else {
			r.Header[k] = vals[i : i+1 : i+1]
		}
	}
	r.ContentLength = h.contentLength
	return r
}

// parseTarget parses, into u, the common request target that
// url.ParseRequestURI would parse to a path and a query alone: it starts
// with "/", and its path has only bytes that need no escaping (so the
// path is its own escaped form, and RawPath stays empty). It reports false
// for any other target, for url.ParseRequestURI to read.
func parseTarget(u *url.URL, target string) (*url.URL, bool) {
	if target == "" || target[0] != '/' {
		return nil, false
	}
	path, query, hasQuery := strings.Cut(target, "?")
	for i := 0; i < len(path); i++ {
		if !pathByte[path[i]] {
			return nil, false
		}
	}
	for i := 0; i < len(query); i++ {
		if c := query[i]; c < ' ' || c == 0x7f {
			return nil, false // a control byte: url.ParseRequestURI refuses it
		}
	}
	*u = url.URL{Path: path, RawQuery: query, ForceQuery: hasQuery && query == ""}
	return u, true
}

// pathByte marks the bytes a path keeps unescaped in net/url's encoding
// of paths: the unreserved ones and "$&+,/:;=@".
var pathByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-_.~$&+,/:;=@" {
		t[c] = true
	}
	return t
}()
