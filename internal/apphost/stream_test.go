package apphost

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestStreamingResponse checks that what a worker flushes reaches the
// client while the worker is still answering, on the app's own port and
// on the shared front: the worker writes its last line only once the
// client has read the first and asked for the rest.
func TestStreamingResponse(t *testing.T) {
	th := startHost(t, Options{})
	port, frontPort := freeTestPort(t), freeTestPort(t)
	apps, front := parseConfig(t, fmt.Sprintf(`
apps_front: {listen: 127.0.0.1:%d}
apps:
  - name: echo
    command: %s
    listen: 127.0.0.1:%d
    path_prefix: /s
    strip_prefix: true
`, frontPort, echoBin, port))
	th.SetFront(front)
	th.Update(apps, "")
	th.waitReady("echo", 1)
	for i, base := range []string{fmt.Sprintf("http://127.0.0.1:%d", port), fmt.Sprintf("http://127.0.0.1:%d/s", frontPort)} {
		id := strconv.Itoa(i)
		// Were the response buffered, this would wait for the client's
		// timeout: the worker does not finish until released.
		resp, err := th.client.Get(base + "/stream?id=" + id)
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		r := bufio.NewReader(resp.Body)
		first, err := r.ReadString('\n')
		if err != nil || first != "first\n" {
			t.Fatalf("%s: first line %q, %v", base, first, err)
		}
		if code, body := th.get(base + "/release?id=" + id); code != http.StatusOK {
			t.Fatalf("release: %d %s", code, body)
		}
		rest, err := io.ReadAll(r)
		resp.Body.Close()
		if err != nil || string(rest) != "last\n" {
			t.Errorf("%s: rest %q, %v", base, rest, err)
		}
	}
}

// TestStreamingRequestBody checks that a request body reaches the worker
// as it is sent, not once it is complete, and that a chunked body over
// the limit gets 413.
func TestStreamingRequestBody(t *testing.T) {
	th := startHost(t, Options{})
	port, smallPort := freeTestPort(t), freeTestPort(t)
	th.writeApp("echo.yml", echoApp(port, ""))
	th.writeApp("small.yml", echoApp(smallPort, "max_body_size: 1KiB\n"))
	th.Update(nil, th.dir)
	th.waitReady("echo", 1)
	th.waitReady("small", 1)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)

	const mib = 1 << 20
	pr, pw := io.Pipe()
	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		// A body of unknown length is sent chunked.
		resp, err := th.client.Post(url+"/upload?id=big", "application/octet-stream", pr)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{resp.StatusCode, string(b), err}
	}()
	chunk := strings.Repeat("x", mib)
	if _, err := io.WriteString(pw, chunk); err != nil {
		t.Fatal(err)
	}
	// Part of the first MiB may sit in buffers on the way; most of it
	// must have reached the worker while the body is still open.
	waitFor(t, "the first MiB at the worker", func() bool {
		_, body := th.get(url + "/progress?id=big")
		n, _ := strconv.Atoi(strings.TrimSpace(body))
		return n >= mib/2
	})
	for range 3 {
		if _, err := io.WriteString(pw, chunk); err != nil {
			t.Fatal(err)
		}
	}
	pw.Close()
	res := <-done
	if res.err != nil || res.code != http.StatusOK || strings.TrimSpace(res.body) != strconv.Itoa(4*mib) {
		t.Errorf("upload: %d %q %v, want 200 and %d bytes", res.code, res.body, res.err, 4*mib)
	}

	small := fmt.Sprintf("http://127.0.0.1:%d/upload", smallPort)
	for _, size := range []int{1024, 4096, 4 * mib} {
		body := io.MultiReader(strings.NewReader(strings.Repeat("y", size))) // no length: chunked
		resp, err := th.client.Post(small, "text/plain", body)
		if err != nil {
			t.Fatalf("chunked POST of %d bytes: %v", size, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := http.StatusOK
		if size > 1024 {
			want = http.StatusRequestEntityTooLarge
		}
		if resp.StatusCode != want {
			t.Errorf("chunked POST of %d bytes: %d %q, want %d", size, resp.StatusCode, b, want)
		}
	}
}
