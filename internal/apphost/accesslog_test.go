package apphost

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readLines returns the lines of a file, none if it does not exist.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestAccessLog checks each access log format, switched by reloads.
func TestAccessLog(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	th.writeApp("echo.yml", echoApp(port, "access_log: json\n"))
	th.Update(nil, th.dir)
	pids := th.waitReady("echo", 1)
	path := filepath.Join(th.dir, "logs", "echo.access.log")
	url := fmt.Sprintf("http://127.0.0.1:%d", port)

	req, _ := http.NewRequest(http.MethodPost, url+"/x?y=1", strings.NewReader("hello"))
	req.Header.Set("User-Agent", "test \"agent\" é")
	req.Header.Set("Referer", "http://ref.test/")
	resp, err := th.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The proxy logs a request after the client may have its answer.
	waitFor(t, "the JSON line", func() bool { return len(readLines(t, path)) == 1 })
	var e accessEntry
	if err := json.Unmarshal([]byte(readLines(t, path)[0]), &e); err != nil {
		t.Fatal(err)
	}
	if e.Remote != "127.0.0.1" || e.Method != "POST" || e.Path != "/x?y=1" || e.Proto != "HTTP/1.1" ||
		e.Status != 200 || e.Bytes != resp.ContentLength || e.RequestBytes != 5 || e.Duration <= 0 ||
		e.UserAgent != "test \"agent\" é" || e.Referer != "http://ref.test/" || time.Since(e.Time) > time.Hour {
		t.Errorf("unexpected JSON entry: %+v (response length %d)", e, resp.ContentLength)
	}

	th.writeApp("echo.yml", echoApp(port, "access_log: combined\n"))
	waitFor(t, "the reload", func() bool { return th.waitReady("echo", 1)[0] != pids[0] })
	req, _ = http.NewRequest(http.MethodGet, url+"/a%20b?\"q\"", nil)
	req.Header.Set("User-Agent", "agent \"x\" é")
	resp, err = th.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor(t, "the combined line", func() bool { return len(readLines(t, path)) == 2 })
	line := readLines(t, path)[1]
	re := regexp.MustCompile(`^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /a%20b\?\\"q\\" HTTP/1\.1" 200 \d+ "" "agent \\"x\\" \\xc3\\xa9"$`)
	if !re.MatchString(line) {
		t.Errorf("combined line %q does not match %s", line, re)
	}

	pids = th.waitReady("echo", 1)
	th.writeApp("echo.yml", echoApp(port, "access_log: off\n"))
	waitFor(t, "the reload", func() bool { return th.waitReady("echo", 1)[0] != pids[0] })
	th.get(url + "/unlogged")
	if code, _ := th.get(url + "/"); code != http.StatusOK {
		t.Fatalf("GET: %d", code)
	}
	waitFor(t, "the requests to be counted", func() bool {
		return th.metric("argus_app_requests_total", "app", "echo", "method", "GET", "code", "200") == 3
	})
	if n := len(readLines(t, path)); n != 2 {
		t.Errorf("%d lines after turning the access log off, want 2", n)
	}
}
