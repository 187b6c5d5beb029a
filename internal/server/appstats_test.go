package server

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestAppStatsEndpoint checks the JSON of GET /api/v1/apps against a
// running echo app with two workers: every field is there, and the figures
// are those of the live processes.
func TestAppStatsEndpoint(t *testing.T) {
	dir := t.TempDir()
	echo := filepath.Join(dir, "echo")
	if out, err := exec.Command("go", "build", "-o", echo, "github.com/argus-mon/argus/examples/echo").CombinedOutput(); err != nil {
		t.Fatalf("build examples/echo: %v\n%s", err, out)
	}
	port := freePort(t)
	cfgPath := filepath.Join(dir, "argus.yml")
	writeFile(t, cfgPath, fmt.Sprintf("collectors:\n  node: {enabled: false}\n  process: {enabled: false}\n"+
		"apps:\n  - name: echo\n    command: %s\n    workers: 2\n    listen: 127.0.0.1:%d\n", echo, port))
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfgPath})
	waitUntil(t, "the app to serve", func() bool { return answers(port) })
	for range 3 {
		get(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
	}

	type envelope struct {
		Status string `json:"status"`
		Data   struct {
			Apps     []map[string]json.RawMessage `json:"apps"`
			Problems []string                     `json:"problems"`
		} `json:"data"`
	}
	var env envelope
	var workers []map[string]any
	waitUntil(t, "the stats to show both workers ready and every request", func() bool {
		code, body := get(t, r.base+"/api/v1/apps")
		if code != 200 {
			t.Fatalf("GET /api/v1/apps: %d %s", code, body)
		}
		env = envelope{}
		if err := json.Unmarshal([]byte(body), &env); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if len(env.Data.Apps) != 1 {
			t.Fatalf("apps: %s", body)
		}
		workers = nil
		json.Unmarshal(env.Data.Apps[0]["workers"], &workers)
		var requests int
		json.Unmarshal(env.Data.Apps[0]["requests"], &requests)
		return len(workers) == 2 && workers[0]["state"] == "ready" && workers[1]["state"] == "ready" && requests >= 4
	})
	if env.Status != "success" || env.Data.Problems == nil {
		t.Errorf("envelope: %+v", env)
	}
	app := env.Data.Apps[0]
	if got, want := keys(app), []string{"file", "in_flight", "listen", "name", "requests", "workers"}; !slices.Equal(got, want) {
		t.Errorf("app keys %v, want %v", got, want)
	}
	if string(app["name"]) != `"echo"` || string(app["listen"]) != fmt.Sprintf(`"127.0.0.1:%d"`, port) {
		t.Errorf("app: name %s listen %s", app["name"], app["listen"])
	}
	wantKeys := []string{"cpu_seconds", "id", "in_flight", "last_error", "pid", "port", "recycles", "requests",
		"restarts", "rss_bytes", "state", "uptime_seconds"}
	total := 0.0
	for i, w := range workers {
		if got := keys(w); !slices.Equal(got, wantKeys) {
			t.Errorf("worker keys %v, want %v", got, wantKeys)
		}
		if w["id"] != float64(i) || w["pid"].(float64) <= 0 || w["port"].(float64) <= 0 || w["rss_bytes"].(float64) <= 0 ||
			w["uptime_seconds"].(float64) <= 0 || w["last_error"] != "" || w["restarts"] != 0.0 {
			t.Errorf("worker %d: %v", i, w)
		}
		total += w["requests"].(float64)
	}
	// The health checks do not go through the proxy; the three requests
	// and waitUntil's probe do.
	if total < 4 {
		t.Errorf("workers' requests add up to %v, want at least 4", total)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
