package apphost

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http/httputil"
	"slices"
	"testing"
)

// headOutcome is what a response head parser made of some bytes.
type headOutcome struct {
	state  string // "complete", "incomplete" or "malformed"
	code   int
	minor  int
	fields []string // "Name: value"
}

func fieldsOf(c *upstreamConn) []string {
	var out []string
	for _, f := range c.fields {
		out = append(out, string(c.head[f.k0:f.k1])+": "+string(c.head[f.v0:f.v1]))
	}
	return out
}

// FuzzResponseHeadParse checks the event loop's response head parser
// (parseResponseHead, on a buffer) against forward's (the status line
// and readFields, on a bufio.Reader): the same bytes give the same
// status, the same fields, and the same verdict, complete, incomplete or
// malformed.
func FuzzResponseHeadParse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\ncontent-type:  text/plain \r\nX-A:\r\n\r\n",
		"HTTP/1.0 404 Not Found\n\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
		"HTTP/1.1 200 OK\r\nBad Field: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > connBufferSize {
			return // forward's reader holds a status line of up to its buffer
		}
		var want headOutcome
		c1 := &upstreamConn{br: bufio.NewReaderSize(bytes.NewReader(slices.Clone(data)), connBufferSize)}
		line, err := c1.br.ReadSlice('\n')
		switch {
		case err != nil:
			want.state = "incomplete"
		default:
			var ok bool
			if want.code, want.minor, ok = parseStatusLine(line); !ok {
				want.state = "malformed"
			} else if err := c1.readFields(); err == nil {
				want.state, want.fields = "complete", fieldsOf(c1)
			} else if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				want.state = "incomplete"
			} else {
				want.state = "malformed"
			}
		}
		if want.state != "complete" {
			want.code, want.minor = 0, 0
		}

		var got headOutcome
		c2 := &upstreamConn{}
		size, code, minor, err := parseResponseHead(slices.Clone(data), c2)
		switch {
		case err != nil:
			got.state = "malformed"
		case size == 0:
			got.state = "incomplete"
		default:
			got = headOutcome{state: "complete", code: code, minor: minor, fields: fieldsOf(c2)}
			if size > len(data) || len(c2.head) != size {
				t.Fatalf("head of %d bytes out of %d", size, len(data))
			}
		}
		if got.state != want.state || got.code != want.code || got.minor != want.minor || !slices.Equal(got.fields, want.fields) {
			t.Fatalf("%q:\nbuffer parser %+v\nreader parser %+v", data, got, want)
		}
	})
}

// FuzzChunkScanner checks chunkScanner against net/http's chunked
// reader: a body it finds the end of, net/http reads whole, with as
// many data bytes as it counted; a body net/http's writer wrote, it finds
// the end of exactly; and the bytes given in two pieces give what they
// give at once.
func FuzzChunkScanner(f *testing.F) {
	for _, seed := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\nnext",
		"a \r\n0123456789\r\n0\r\n\r\n",
		"5 ;ext\r\nhello\r\n0\r\n\r\n",
		"5\nhello\r\n0\r\n\r\n",
		"ffffffffffffffffff\r\n",
		"5\r\nhelloXX0\r\n\r\n",
	} {
		f.Add([]byte(seed), uint16(3), []byte("data"))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16, payload []byte) {
		var s chunkScanner
		used, n, done, err := s.scan(data)
		if err == nil && !done && used != len(data) {
			t.Fatalf("%q: used %d of %d bytes without an end or an error", data, used, len(data))
		}
		if done {
			got, rerr := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(data[:used])))
			if rerr != nil || int64(len(got)) != n {
				t.Fatalf("%q: the scanner found a body of %d data bytes in %d; net/http read %d, %v", data, n, used, len(got), rerr)
			}
		}

		// The same bytes in two pieces.
		k := int(split) % (len(data) + 1)
		var s2 chunkScanner
		used2, n2, done2, err2 := s2.scan(data[:k])
		if err2 == nil && !done2 {
			u, m, d, e := s2.scan(data[k:])
			used2, n2, done2, err2 = used2+u, n2+m, d, e
		}
		if used2 != used || n2 != n || done2 != done || (err2 == nil) != (err == nil) {
			t.Fatalf("%q split at %d: %d %d %v %v, at once %d %d %v %v", data, k, used2, n2, done2, err2, used, n, done, err)
		}

		// A body net/http's writer wrote, in chunks as payload's bytes
		// say, then trailers or none, then the next response.
		var body bytes.Buffer
		cw := httputil.NewChunkedWriter(&body)
		for rest := payload; len(rest) > 0; {
			m := min(len(rest), int(rest[0])+1)
			cw.Write(rest[:m])
			rest = rest[m:]
		}
		cw.Close()
		if split%2 == 0 {
			body.WriteString("X-T: 1\r\n")
		}
		body.WriteString("\r\n")
		end := body.Len()
		body.WriteString("HTTP/1.1 200 OK\r\n")
		var s3 chunkScanner
		used3, n3, done3, err3 := s3.scan(body.Bytes())
		if err3 != nil || !done3 || used3 != end || n3 != int64(len(payload)) {
			t.Fatalf("%q: %d %d %v %v, want the end at %d with %d data bytes", body.Bytes(), used3, n3, done3, err3, end, len(payload))
		}
	})
}
