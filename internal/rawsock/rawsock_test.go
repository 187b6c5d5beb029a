package rawsock

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// pair returns both ends of a loopback TCP connection.
func pair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestReadWrite: bytes written reach the other end whole (more than a
// socket buffer, so writes wait for the reader), a closed peer reads as
// io.EOF, and a passed deadline fails as net.Conn's Read does.
func TestReadWrite(t *testing.T) {
	c, s := pair(t)
	cw, sr := New(c), New(s)
	msg := make([]byte, 8<<20)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := cw.Write(msg)
		errc <- err
	}()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(sr, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	for i := range msg {
		if got[i] != msg[i] {
			t.Fatalf("byte %d differs", i)
		}
	}
	if n, err := sr.Read(nil); n != 0 || err != nil {
		t.Fatalf("empty read: %d, %v", n, err)
	}

	s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := sr.Read(make([]byte, 1))
	var oe *net.OpError
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &oe) || oe.Op != "read" {
		t.Fatalf("read past the deadline: %v", err)
	}
	s.SetReadDeadline(time.Time{})

	c.Close()
	if _, err := sr.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after the peer closed: %v", err)
	}
}

// A connection without a socket is used as it is.
func TestNoSocket(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if rw := New(a); rw != io.ReadWriter(a) {
		t.Fatalf("New(pipe) = %T, want the pipe itself", rw)
	}
}
