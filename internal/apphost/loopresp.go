package apphost

import (
	"bytes"
	"errors"
	"fmt"
)

// Parsers the event-loop front end (see loop_linux.go) reads a worker's
// response with: it has the bytes in a buffer, not behind a bufio.Reader
// as forward has, and must know where a response ends to pass its bytes
// on as they come.

// parseResponseHead parses the response head at the start of b into c's
// head and fields, canonicalizing the field names in place, as readHead's
// status line and readFields read it. It returns the head's size, 0 if b
// does not hold all of it yet.
func parseResponseHead(b []byte, c *upstreamConn) (size, code, minor int, err error) {
	eol := bytes.IndexByte(b, '\n')
	if eol < 0 {
		return 0, 0, 0, nil
	}
	code, minor, ok := parseStatusLine(b[:eol+1])
	if !ok {
		return 0, 0, 0, fmt.Errorf("%w: status line %q", errMalformedHead, bytes.TrimSpace(b[:eol+1]))
	}
	c.head, c.fields = b, c.fields[:0]
	for start := eol + 1; ; {
		i := bytes.IndexByte(b[start:], '\n')
		if i < 0 {
			return 0, 0, 0, nil
		}
		next := start + i + 1
		end := start + i
		if end > start && b[end-1] == '\r' {
			end--
		}
		if end == start {
			c.head = b[:next]
			return next, code, minor, nil
		}
		f, ok := parseField(b, start, end)
		if !ok {
			return 0, 0, 0, fmt.Errorf("%w: field %q", errMalformedHead, b[start:end])
		}
		c.fields = append(c.fields, f)
		start = next
	}
}

// chunkScanner finds where a chunked body ends, so that it can be passed
// on as it came: the chunks, the last chunk and the trailer section.
// What it refuses, net/http's chunked reader refuses too: a line not
// ended by CR LF, a size that is not hexadecimal or overflows, blanks
// before an extension, a chunk not followed by CR LF.
type chunkScanner struct {
	state   int
	n       int64 // the chunk's size as read; then what is left of its data
	digits  int
	line    int // bytes of the current size or trailer line
	trailer int // bytes of the trailer section
}

// The scanner's states.
const (
	csSize      = iota // reading the size's digits
	csBlank            // blanks after the size
	csExt              // an extension, up to CR
	csSizeLF           // LF after the size line's CR
	csData             // the chunk's data
	csDataCR           // CR after the data
	csDataLF           // LF after it
	csTrailer          // the start of a trailer line, or the final CR
	csTrailerLn        // a trailer line, up to CR
	csTrailerLF        // LF after a trailer line
	csEndLF            // LF of the final line
	csDone
)

// maxChunkLine bounds a chunk's size line, as net/http's reader does.
const maxChunkLine = 4096

var errChunked = errors.New("malformed chunked body")

// scan reads b, the next bytes of the body, and returns how many of them
// belong to it (all of them unless it ended), how many of those are
// chunk data, and whether the body ended.
func (s *chunkScanner) scan(b []byte) (used int, data int64, done bool, err error) {
	i := 0
	for i < len(b) {
		if s.state == csData {
			k := int64(len(b) - i)
			if k > s.n {
				k = s.n
			}
			i += int(k)
			data += k
			if s.n -= k; s.n == 0 {
				s.state = csDataCR
			}
			continue
		}
		c := b[i]
		i++
		switch s.state {
		case csSize, csBlank, csExt:
			if s.line++; s.line > maxChunkLine {
				return i, data, false, fmt.Errorf("%w: chunk size line too long", errChunked)
			}
		case csTrailerLn, csTrailer:
			if s.trailer++; s.trailer > maxHeadBytes {
				return i, data, false, fmt.Errorf("%w: trailers too long", errChunked)
			}
		}
		switch s.state {
		case csSize:
			switch {
			case c == '\r' && s.digits > 0:
				s.state = csSizeLF
			case c == ';' && s.digits > 0:
				s.state = csExt
			case (c == ' ' || c == '\t') && s.digits > 0:
				s.state = csBlank
			default:
				d, ok := hexDigit(c)
				if !ok || s.digits == 16 {
					return i, data, false, fmt.Errorf("%w: chunk size", errChunked)
				}
				s.n = s.n<<4 | int64(d)
				s.digits++
				if s.n < 0 {
					return i, data, false, fmt.Errorf("%w: chunk size overflows", errChunked)
				}
			}
		case csBlank:
			switch c {
			case ' ', '\t':
			case '\r':
				s.state = csSizeLF
			default:
				return i, data, false, fmt.Errorf("%w: blank in the chunk size line", errChunked)
			}
		case csExt:
			switch c {
			case '\r':
				s.state = csSizeLF
			case '\n':
				return i, data, false, fmt.Errorf("%w: bare LF", errChunked)
			}
		case csSizeLF:
			if c != '\n' {
				return i, data, false, fmt.Errorf("%w: chunk size line not ended by CR LF", errChunked)
			}
			s.line, s.digits = 0, 0
			if s.n == 0 {
				s.state = csTrailer
			} else {
				s.state = csData
			}
		case csDataCR:
			if c != '\r' {
				return i, data, false, fmt.Errorf("%w: chunk data not followed by CR LF", errChunked)
			}
			s.state = csDataLF
		case csDataLF:
			if c != '\n' {
				return i, data, false, fmt.Errorf("%w: chunk data not followed by CR LF", errChunked)
			}
			s.state = csSize
		case csTrailer:
			switch c {
			case '\r':
				s.state = csEndLF
			case '\n':
				return i, data, false, fmt.Errorf("%w: bare LF", errChunked)
			default:
				s.state = csTrailerLn
			}
		case csTrailerLn:
			switch c {
			case '\r':
				s.state = csTrailerLF
			case '\n':
				return i, data, false, fmt.Errorf("%w: bare LF", errChunked)
			}
		case csTrailerLF:
			if c != '\n' {
				return i, data, false, fmt.Errorf("%w: trailer line not ended by CR LF", errChunked)
			}
			s.state = csTrailer
		case csEndLF:
			if c != '\n' {
				return i, data, false, fmt.Errorf("%w: body not ended by CR LF", errChunked)
			}
			s.state = csDone
			return i, data, true, nil
		}
	}
	return i, data, false, nil
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
