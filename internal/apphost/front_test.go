package apphost

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argus-mon/argus/internal/config"
)

// parseConfig returns a config file's apps and shared front port.
func parseConfig(t *testing.T, yaml string) ([]*config.App, *config.AppsFront) {
	t.Helper()
	c, err := config.Parse([]byte(yaml), "argus.yml")
	if err != nil {
		t.Fatal(err)
	}
	return c.Apps, c.AppsFront
}

// echoReq sends a request with the given Host header and extra headers
// (name, value pairs) and returns the status and, for a 200, the request
// as the echo app saw it.
func (th *testHost) echoReq(url, host string, headers ...string) (int, echoReply, string) {
	th.t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		th.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := th.client.Do(req)
	if err != nil {
		th.t.Fatalf("GET %s (Host %s): %v", url, host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		th.t.Fatal(err)
	}
	var r echoReply
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &r); err != nil {
			th.t.Fatalf("GET %s: %v: %s", url, err, b)
		}
	}
	return resp.StatusCode, r, string(b)
}

// TestFrontRoutes serves apps on a shared front port by host and path
// prefix, one of them on its own port as well.
func TestFrontRoutes(t *testing.T) {
	th := startHost(t, Options{})
	frontPort, bothPort := freeTestPort(t), freeTestPort(t)
	apps, front := parseConfig(t, fmt.Sprintf(`
apps_front:
  listen: 127.0.0.1:%[1]d
apps:
  - name: api
    command: %[2]s
    path_prefix: /api/
    strip_prefix: true
  - name: deep
    command: %[2]s
    path_prefix: /api/v2
  - name: site
    command: %[2]s
    host: site.test
  - name: siteapi
    command: %[2]s
    host: Site.test
    path_prefix: /api
  - name: both
    command: %[2]s
    listen: 127.0.0.1:%[3]d
    path_prefix: /both
`, frontPort, echoBin, bothPort))
	th.SetFront(front)
	th.Update(apps, "")
	for _, name := range []string{"api", "deep", "site", "siteapi", "both"} {
		th.waitReady(name, 1)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", frontPort)
	for _, tc := range []struct {
		host, path      string
		app, workerPath string
		prefix          string
	}{
		{"", "/api/x?q=1", "api", "/x", "/api"},
		{"", "/api", "api", "/", "/api"},
		{"", "/api/v2/y", "deep", "/api/v2/y", ""},
		{"", "/api/v2", "deep", "/api/v2", ""},
		{"", "/api/v2x", "api", "/v2x", "/api"},
		{"site.test", "/", "site", "/", ""},
		{"SITE.test:80", "/apix", "site", "/apix", ""},
		{"site.test.", "/api/z", "siteapi", "/api/z", ""},
		{"site.test", "/api/v2/z", "deep", "/api/v2/z", ""},
		{"", "/both/q", "both", "/both/q", ""},
	} {
		// A prefix the client claims is never passed on.
		code, r, body := th.echoReq(base+tc.path, tc.host, "X-Forwarded-Prefix", "/forged")
		if code != http.StatusOK || r.App != tc.app || r.Path != tc.workerPath {
			t.Errorf("Host %q %s: %d app %q path %q, want app %q path %q; %s",
				tc.host, tc.path, code, r.App, r.Path, tc.app, tc.workerPath, body)
			continue
		}
		if got := strings.Join(r.Headers["X-Forwarded-Prefix"], ","); got != tc.prefix {
			t.Errorf("Host %q %s: X-Forwarded-Prefix %q, want %q", tc.host, tc.path, got, tc.prefix)
		}
	}
	if code, r, _ := th.echoReq(fmt.Sprintf("http://127.0.0.1:%d/q", bothPort), ""); code != http.StatusOK || r.App != "both" {
		t.Errorf("both on its own port: %d %+v", code, r)
	}
	code, _, body := th.echoReq(base+"/nothing", "other.test")
	if code != http.StatusNotFound || !strings.Contains(body, "no app is served at host other.test path /nothing") {
		t.Errorf("no route: %d %q, want 404 saying so", code, body)
	}

	// Drop-in files that clash with the config file's apps are refused,
	// naming both files.
	th.writeApp("clash.yml", fmt.Sprintf("command: %s\npath_prefix: /api\n", echoBin))
	th.writeApp("port.yml", echoApp(frontPort, ""))
	th.Update(apps, th.dir)
	wants := []string{
		filepath.Join(th.dir, "clash.yml") + `: path_prefix: path_prefix /api on any host is already the route of app "api" (argus.yml)`,
		filepath.Join(th.dir, "port.yml") + fmt.Sprintf(": listen: port %d is the shared front port (apps_front.listen 127.0.0.1:%d)", frontPort, frontPort),
	}
	waitFor(t, "the clashes to be reported", func() bool { return len(th.Problems()) == len(wants) })
	got := fmt.Sprint(th.Problems())
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("no problem says %q; problems: %s", w, got)
		}
	}

	// Moving the front to another port frees the old one.
	newPort := freeTestPort(t)
	th.SetFront(&config.AppsFront{Listen: fmt.Sprintf("127.0.0.1:%d", newPort)})
	th.Update(apps, "")
	waitFor(t, "the front to move", func() bool { return refused(frontPort) && !refused(newPort) })
	if code, r, _ := th.echoReq(fmt.Sprintf("http://127.0.0.1:%d/api/x", newPort), ""); code != http.StatusOK || r.App != "api" {
		t.Errorf("api on the moved front: %d %+v", code, r)
	}
}
