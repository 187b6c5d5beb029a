package api

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPromtoolQueries runs Debian's promtool against the API: it is a
// Prometheus API client in the field, built from Prometheus's own code.
func TestPromtoolQueries(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is needed to check the API against a real Prometheus client; install the Debian package prometheus (apt-get install prometheus): %v", err)
	}
	e := newEnv(t, envOptions{})
	start := strconv.FormatInt(e.now.Add(-time.Hour).Unix(), 10)
	end := e.now.Add(time.Minute).Format(time.RFC3339)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	got := run("query", "series", e.url, "--match=up{job=\"node\"}", "--match=node_load1", "--start="+start, "--end="+end)
	want := `{__name__="node_load1", cpu_model="x86", instance="a:9100", job="node"}
{__name__="up", instance="a:9100", job="node"}
{__name__="up", instance="b:9100", job="node"}
`
	if got != want {
		t.Errorf("promtool query series:\n%s\nwant\n%s", got, want)
	}
	got = run("query", "series", e.url, "--match=up", "-o", "json")
	if strings.Count(got, `"__name__":"up"`) < 3 {
		t.Errorf("promtool query series -o json: %s", got)
	}

	got = run("query", "labels", e.url, "instance", "--match=up{job=~\"node|db\"}", "--start="+start, "--end="+end)
	if got != "a:9100\nb:9100\nc:9187\n" {
		t.Errorf("promtool query labels instance:\n%s", got)
	}
	got = run("query", "labels", e.url, "cpu_model")
	if got != "x86\n" {
		t.Errorf("promtool query labels cpu_model:\n%s", got)
	}

	// A bad selector fails with the API's error.
	out, err := exec.Command(promtool, "query", "series", e.url, "--match=up{").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "bad_data") {
		t.Errorf("promtool with a bad selector: %v\n%s", err, out)
	}
}
