package apphost

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestHeaderTimeout opens connections to an app's own port and to the
// shared front that send part of a request's headers and then nothing:
// the server must close them (slow-loris clients), which the test sees as
// the end of the stream, however long the machine takes.
func TestHeaderTimeout(t *testing.T) {
	th := startHost(t, Options{HeaderTimeout: 200 * time.Millisecond})
	port, frontPort := freeTestPort(t), freeTestPort(t)
	apps, front := parseConfig(t, fmt.Sprintf(`
apps_front: {listen: 127.0.0.1:%d}
apps:
  - name: echo
    command: %s
    listen: 127.0.0.1:%d
    path_prefix: /
`, frontPort, echoBin, port))
	th.SetFront(front)
	th.Update(apps, "")
	th.waitReady("echo", 1)
	for _, p := range []int{port, frontPort} {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: slow.test\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		// A deadline against a hung test, far past the header timeout;
		// the server may answer 408 before it closes.
		conn.SetReadDeadline(time.Now().Add(time.Minute))
		b, err := io.ReadAll(conn)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("port %d: the server kept a connection with unfinished headers open", p)
		} else if err != nil {
			t.Logf("port %d: read ended with %v after %q", p, err, b)
		}
	}
	if code, _ := th.get(fmt.Sprintf("http://127.0.0.1:%d/", frontPort)); code != 200 {
		t.Errorf("a normal request after the slow ones: %d", code)
	}
}
