//go:build linux && !race

package rawsock

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// deferrer is the deferred write the raw socket offers (see DeferWrite).
type deferrer interface{ DeferWrite() }

// echoOnce answers each message of n bytes read from s with the same
// bytes, until s closes.
func echoOnce(s net.Conn, n int) {
	buf := make([]byte, n)
	for {
		if _, err := io.ReadFull(s, buf); err != nil {
			return
		}
		if _, err := s.Write(buf); err != nil {
			return
		}
	}
}

// TestDeferWrite: a deferred write goes out with the next Read, which
// returns the answer; exchanges repeat on one connection; a Write while
// bytes are kept sends them first, in order; and bytes too many for the
// socket's buffer are sent whole (the rest the usual way).
func TestDeferWrite(t *testing.T) {
	for _, size := range []int{5, 64 << 10, 8 << 20} {
		c, s := pair(t)
		go echoOnce(s, size)
		rw := New(c)
		d, ok := rw.(deferrer)
		if !ok {
			t.Fatalf("New(tcp) = %T, without DeferWrite", rw)
		}
		for round := range 3 {
			msg := bytes.Repeat([]byte{byte('a' + round)}, size)
			d.DeferWrite()
			if n, err := rw.Write(msg); n != size || err != nil {
				t.Fatalf("size %d: deferred write: %d, %v", size, n, err)
			}
			got := make([]byte, size)
			if _, err := io.ReadFull(rw, got); err != nil {
				t.Fatalf("size %d round %d: %v", size, round, err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("size %d round %d: answer differs", size, round)
			}
		}
	}

	// Two writes, the first deferred: both arrive, in order, before the
	// read.
	c, s := pair(t)
	go echoOnce(s, 6)
	rw := New(c)
	rw.(deferrer).DeferWrite()
	rw.Write([]byte("abc"))
	if _, err := rw.Write([]byte("def")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 6)
	if _, err := io.ReadFull(rw, got); err != nil || string(got) != "abcdef" {
		t.Fatalf("read %q, %v; want abcdef", got, err)
	}
}

// TestDeferWriteFails: a deferred write to a connection the peer reset
// fails in the Read, as a write.
func TestDeferWriteFails(t *testing.T) {
	c, s := pair(t)
	s.(*net.TCPConn).SetLinger(0) // close with a reset
	s.Close()
	rw := New(c)
	// Wait for the reset to arrive.
	deadline := time.Now().Add(5 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		rw.(deferrer).DeferWrite()
		rw.Write([]byte("x"))
		_, err = rw.Read(make([]byte, 1))
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "write" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("read after a deferred write to a reset connection: %v, want a write error", err)
}
