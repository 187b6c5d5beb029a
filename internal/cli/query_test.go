package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startPrometheus runs Debian's prometheus on a free loopback port, scraping
// itself every second, and returns its URL once its own `up` series exists.
// The query commands must work against the real thing, not only argus.
func startPrometheus(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not installed (.ci/run installs Debian's prometheus package): %v", err)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfg, fmt.Appendf(nil, "global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: prometheus\n    static_configs: [{targets: [%q]}]\n", addr), 0o644)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	log, _ := os.Create(filepath.Join(dir, "log"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); log.Close() })
	return waitForUp(t, "http://"+addr, "prometheus", func() string {
		out, _ := os.ReadFile(filepath.Join(dir, "log"))
		return string(out)
	})
}

// startArgus runs an argus server on a free loopback port, scraping itself
// every second, and returns its URL once its `up` series exist.
func startArgus(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "argus.yml")
	os.WriteFile(cfg, []byte("global: {scrape_interval: 1s}\ncollectors:\n  node: {enabled: false}\n"), 0o644)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		code, _, errOut := runCLIContext(ctx, "server", "--config", cfg, "--data", filepath.Join(dir, "data"), "--listen", addr)
		if code != 0 {
			t.Errorf("argus server: exit %d: %s", code, errOut)
		}
		done <- code
	}()
	t.Cleanup(func() { cancel(); <-done })
	return waitForUp(t, "http://"+addr, "argus", func() string { return "" })
}

// waitForUp waits until the server at url has the up series of job.
func waitForUp(t *testing.T, url, job string, logs func() string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/api/v1/series?match[]=" + neturl.QueryEscape(`up{job="`+job+`"}`))
		if err == nil {
			var body struct{ Data []map[string]string }
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if len(body.Data) > 0 {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not get ready with an up series: %v\n%s", url, err, logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestQueryCommands(t *testing.T) {
	t.Run("prometheus", func(t *testing.T) { testQueryCommands(t, startPrometheus(t), "prometheus") })
	t.Run("argus", func(t *testing.T) { testQueryCommands(t, startArgus(t), "argus") })
}

func testQueryCommands(t *testing.T, url, job string) {
	now := time.Now().Unix()
	cases := []struct {
		args []string
		want []string // substrings of stdout
	}{
		{[]string{"instant", "vector(1)"}, []string{"{} => 1 @["}},
		{[]string{"instant", "--time", fmt.Sprint(now - 10), "scalar(vector(7))"}, []string{fmt.Sprintf("scalar: 7 @[%d]", now-10)}},
		{[]string{"range", "--start", fmt.Sprint(now - 60), "--end", fmt.Sprint(now), "--step", "30s", "vector(3)"}, []string{"{} =>\n3 @[", fmt.Sprintf("3 @[%d]", now)}},
		{[]string{"series", "--match", `up{job="` + job + `"}`}, []string{`__name__="up"`, `job="` + job + `"`}},
		{[]string{"labels"}, []string{"__name__\n", "job\n", "instance\n"}},
		{[]string{"labels", "--match", `up{job="` + job + `"}`, "job"}, []string{job + "\n"}},
	}
	for _, c := range cases {
		args := append([]string{"query", c.args[0], "--server", url}, c.args[1:]...)
		code, out, errOut := runCLI(args...)
		if code != 0 {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output %q lacks %q", args, out, w)
			}
		}
	}

	// JSON output is the API's data.
	code, out, errOut := runCLI("query", "instant", "--server", url, "-o", "json", `label_replace(vector(2), "a", "b", "", "")`)
	var vec []struct {
		Metric map[string]string
		Value  []any
	}
	if code != 0 || json.Unmarshal([]byte(out), &vec) != nil || len(vec) != 1 || vec[0].Metric["a"] != "b" || vec[0].Value[1] != "2" {
		t.Errorf("json: exit %d, %q %q", code, out, errOut)
	}
}

func TestQueryCommandErrors(t *testing.T) {
	url := startArgus(t)
	cases := []struct {
		args    []string
		code    int
		wantErr string
	}{
		{[]string{"query", "instant", "--server", url, "sum("}, 1, "query failed: bad_data: "},
		{[]string{"query", "range", "--server", url, "--start", "yesterday", "up"}, 2, `--start "yesterday" is neither RFC3339 nor Unix seconds`},
		{[]string{"query", "range", "--server", url, "--start", "20", "--end", "10", "up"}, 2, "is after --end"},
		{[]string{"query", "range", "--server", url, "--start", "now", "vector(1)"}, 0, ""},
		{[]string{"query", "instant", "--server", "ftp://x", "up"}, 2, `--server "ftp://x" is not an http(s) URL`},
		{[]string{"query", "instant", "--server", "http://" + freeAddr(t), "up"}, 1, "connection refused"},
		{[]string{"query", "series", "--server", url}, 2, "--match SELECTOR"},
		{[]string{"query", "instant", "--server", url}, 2, "EXPR"},
		{[]string{"query", "delete"}, 2, `unknown query command "delete"`},
		{[]string{"query", "instant", "-o", "yaml", "up"}, 2, "-o must be text or json"},
	}
	for _, c := range cases {
		code, _, errOut := runCLI(c.args...)
		if code != c.code || !strings.Contains(errOut, c.wantErr) {
			t.Errorf("%v: exit %d (want %d), stderr %q, want %q", c.args, code, c.code, errOut, c.wantErr)
		}
	}
}
