package redis

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Limits on a reply, so that a server (or something that is not one)
// cannot make argus allocate without bound before the timeout.
const (
	maxBulk  = 64 << 20 // INFO ALL is tens of kilobytes
	maxArray = 1 << 16  // SLOWLOG GET 1 and CONFIG GET are a few items
	maxDepth = 8
)

// serverError is an error reply ("-ERR ...", "-WRONGPASS ..."). It is a
// value among the replies, not a failure to read them: one command failing
// (CONFIG renamed away, say) does not spoil the others of a pipeline.
type serverError string

func (e serverError) Error() string { return string(e) }

// appendCommand appends a command in RESP: an array of bulk strings.
func appendCommand(dst []byte, args ...string) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// readReply reads one reply: a string (simple or bulk), an int64, a
// serverError, nil (a null bulk string or array) or a []any of those.
// RESP3 types are not expected: argus never sends HELLO 3.
func readReply(r *bufio.Reader) (any, error) {
	return readValue(r, 0)
}

func readValue(r *bufio.Reader, depth int) (any, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if len(line) == 0 {
		return nil, errors.New("empty line where a RESP reply was expected")
	}
	body := string(line[1:])
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return serverError(body), nil
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad RESP integer %q", body)
		}
		return n, nil
	case '$':
		return readBulk(r, body)
	case '*':
		if depth >= maxDepth {
			return nil, fmt.Errorf("RESP arrays nested deeper than %d", maxDepth)
		}
		n, err := length(body, maxArray)
		if err != nil || n < 0 {
			return nil, err
		}
		arr := make([]any, 0, min(n, 64))
		for range n {
			v, err := readValue(r, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		return arr, nil
	}
	return nil, fmt.Errorf("unexpected reply %q: not a Redis server?", shorten(line))
}

func readBulk(r *bufio.Reader, header string) (any, error) {
	n, err := length(header, maxBulk)
	if err != nil || n < 0 {
		return nil, err
	}
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("read bulk string: %w", err)
	}
	if buf[n] != '\r' || buf[n+1] != '\n' {
		return nil, errors.New("bulk string not terminated by CRLF")
	}
	return string(buf[:n]), nil
}

// length parses an array or bulk length; -1 is null (returned as such,
// with a nil error).
func length(s string, limit int) (int, error) {
	n, err := strconv.Atoi(s)
	switch {
	case err != nil || n < -1:
		return 0, fmt.Errorf("bad RESP length %q", s)
	case n > limit:
		return 0, fmt.Errorf("RESP length %d exceeds the limit of %d", n, limit)
	}
	return n, nil
}

// readLine reads a CRLF-terminated line without the CRLF.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("RESP line longer than %d bytes", r.Size())
	}
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("unexpected reply %q: not a Redis server?", shorten(line))
	}
	return line[:len(line)-2], nil
}

func shorten(b []byte) string {
	const maxShown = 100
	if len(b) > maxShown {
		b = b[:maxShown]
	}
	return string(b)
}
