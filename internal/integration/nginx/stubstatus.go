package nginx

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
)

// stubStatus is what nginx's stub_status page reports.
type stubStatus struct {
	active, accepts, handled, requests uint64
	reading, writing, waiting          uint64
}

// parseStubStatus parses a stub_status page:
//
//	Active connections: 291
//	server accepts handled requests
//	 16630948 16630948 31070465
//	Reading: 6 Writing: 179 Waiting: 106
func parseStubStatus(body []byte) (*stubStatus, error) {
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			lines = append(lines, line)
		}
		if len(lines) > 4 {
			break
		}
	}
	if len(lines) != 4 {
		return nil, notStubStatus(body)
	}
	var s stubStatus
	if err := fields(lines[0], "Active", "connections:", &s.active); err != nil {
		return nil, err
	}
	if string(bytes.Join(bytes.Fields(lines[1]), []byte(" "))) != "server accepts handled requests" {
		return nil, notStubStatus(body)
	}
	if err := fields(lines[2], &s.accepts, &s.handled, &s.requests); err != nil {
		return nil, err
	}
	if err := fields(lines[3], "Reading:", &s.reading, "Writing:", &s.writing, "Waiting:", &s.waiting); err != nil {
		return nil, err
	}
	return &s, nil
}

// fields matches a line's space-separated words against want: a string
// must be the word, a *uint64 receives the word as a number.
func fields(line []byte, want ...any) error {
	words := bytes.Fields(line)
	if len(words) != len(want) {
		return fmt.Errorf("unexpected stub_status line %q: not nginx's stub_status page?", shorten(line))
	}
	for i, w := range want {
		switch w := w.(type) {
		case string:
			if string(words[i]) != w {
				return fmt.Errorf("unexpected stub_status line %q: not nginx's stub_status page?", shorten(line))
			}
		case *uint64:
			v, err := strconv.ParseUint(string(words[i]), 10, 64)
			if err != nil {
				return fmt.Errorf("stub_status line %q: %q is not a number", shorten(line), shorten(words[i]))
			}
			*w = v
		default:
			panic("BUG: fields wants strings and *uint64")
		}
	}
	return nil
}

func notStubStatus(body []byte) error {
	return fmt.Errorf("the page is not nginx's stub_status (it starts %q)", shorten(body))
}

// shorten returns at most the first 100 bytes of b, for error messages.
func shorten(b []byte) []byte {
	const maxShown = 100
	if len(b) > maxShown {
		return b[:maxShown]
	}
	return b
}
