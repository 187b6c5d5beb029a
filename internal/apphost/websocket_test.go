package apphost

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// wsConn is the client side of a WebSocket connection, enough for the
// echo example: unfragmented masked frames out, unmasked frames in.
type wsConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// dialWebSocket opens a WebSocket connection to path on addr with the
// given Host header.
func dialWebSocket(t *testing.T, addr, host, path string) *wsConn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// A deadline against a hung test, not an assertion on speed.
	conn.SetDeadline(time.Now().Add(time.Minute))
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, host, key)
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("handshake: %s %v %s", resp.Status, resp.Header, b)
	}
	return &wsConn{conn: conn, r: r}
}

// echo sends a text message and returns the reply.
func (c *wsConn) echo(t *testing.T, msg string) string {
	t.Helper()
	mask := [4]byte{1, 2, 3, 4}
	frame := []byte{0x81}
	if n := len(msg); n < 126 {
		frame = append(frame, 0x80|byte(n))
	} else {
		frame = append(frame, 0x80|126)
		frame = binary.BigEndian.AppendUint16(frame, uint16(n))
	}
	frame = append(frame, mask[:]...)
	for i := range len(msg) {
		frame = append(frame, msg[i]^mask[i%4])
	}
	if _, err := c.conn.Write(frame); err != nil {
		t.Fatalf("send: %v", err)
	}
	var h [2]byte
	if _, err := io.ReadFull(c.r, h[:]); err != nil {
		t.Fatalf("read reply: %v", err)
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		var b [2]byte
		if _, err := io.ReadFull(c.r, b[:]); err != nil {
			t.Fatal(err)
		}
		n = int(binary.BigEndian.Uint16(b[:]))
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(c.r, payload); err != nil {
		t.Fatalf("read reply: %v", err)
	}
	if h[0] != 0x81 {
		t.Errorf("reply frame starts %#x, want a final text frame", h[0])
	}
	return string(payload)
}

// TestWebSocket upgrades connections to the echo example's WebSocket echo
// through the app's own port and the shared front, and checks that the
// request timeout does not end an upgraded connection.
func TestWebSocket(t *testing.T) {
	th := startHost(t, Options{})
	port, frontPort := freeTestPort(t), freeTestPort(t)
	apps, front := parseConfig(t, fmt.Sprintf(`
apps_front: {listen: 127.0.0.1:%d}
apps:
  - name: echo
    command: %s
    listen: 127.0.0.1:%d
    host: ws.test
    request_timeout: 200ms
`, frontPort, echoBin, port))
	th.SetFront(front)
	th.Update(apps, "")
	th.waitReady("echo", 1)
	own := dialWebSocket(t, fmt.Sprintf("127.0.0.1:%d", port), "anything", "/ws")
	shared := dialWebSocket(t, fmt.Sprintf("127.0.0.1:%d", frontPort), "ws.test", "/ws")
	long := string(make([]byte, 300))
	for _, c := range []*wsConn{own, shared} {
		for _, msg := range []string{"hello", long} {
			if got := c.echo(t, msg); got != msg {
				t.Errorf("echo of %d bytes: got %d bytes %q", len(msg), len(got), got)
			}
		}
	}
	// Past the request timeout (whatever the machine's speed: this only
	// waits longer than it), the connections still work and the worker
	// was not killed.
	time.Sleep(time.Second)
	for _, c := range []*wsConn{own, shared} {
		if got := c.echo(t, "still there"); got != "still there" {
			t.Errorf("after the request timeout: %q", got)
		}
	}
	if n := th.metric("argus_app_worker_timeout_kills_total", "app", "echo", "worker", "0"); n != 0 {
		t.Errorf("timeout kills = %v, want 0", n)
	}
	own.conn.Close()
	shared.conn.Close()
	waitFor(t, "the upgrades to be counted", func() bool {
		return th.metric("argus_app_requests_total", "app", "echo", "method", "GET", "code", "101") == 2
	})
}
