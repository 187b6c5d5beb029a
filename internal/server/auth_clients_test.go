package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/argus-mon/argus/internal/auth"
)

// TestRealClientsAuthenticate has the real tools authenticate to argus
// with the options they already have, against a server with anonymous
// access off: amtool and promtool with --http.config.file (basic auth and
// a bearer token), and a Debian Prometheus remote-writing with basic auth
// and sending alerts with a bearer token.
func TestRealClientsAuthenticate(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "argus.yml")
	os.WriteFile(cfg, []byte("auth:\n  anonymous: none\ncollectors:\n  node: {enabled: false}\n  process: {enabled: false}\n"), 0o644)
	r := startAuth(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfg, EnableRemoteWriteReceiver: true, InitialAdminPassword: "admin-password"})
	ctx := context.Background()
	if _, err := auth.AddUser(ctx, r.srv.state, "prom", auth.Editor, "prom-password", false); err != nil {
		t.Fatal(err)
	}
	_, token, err := auth.NewToken(ctx, r.srv.state, "alerts", auth.Editor, "test", 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	basicFile := filepath.Join(dir, "basic.yml")
	os.WriteFile(basicFile, []byte("basic_auth:\n  username: prom\n  password: prom-password\n"), 0o600)
	bearerFile := filepath.Join(dir, "bearer.yml")
	os.WriteFile(bearerFile, []byte("authorization:\n  type: Bearer\n  credentials: "+token+"\n"), 0o600)

	run := func(name string, args ...string) (string, error) {
		out, err := exec.Command(name, args...).CombinedOutput()
		return string(out), err
	}
	// amtool: refused without credentials, works with either.
	if out, err := run("amtool", "silence", "add", "alertname=A", "--comment", "c", "--alertmanager.url", r.base); err == nil {
		t.Errorf("amtool without credentials succeeded: %s", out)
	}
	for _, f := range []string{basicFile, bearerFile} {
		if out, err := run("amtool", "silence", "add", "alertname=A", "--comment", "c", "--alertmanager.url", r.base, "--http.config.file", f); err != nil {
			t.Errorf("amtool with %s: %v\n%s", filepath.Base(f), err, out)
		}
		if out, err := run("amtool", "silence", "query", "--alertmanager.url", r.base, "--http.config.file", f, "-o", "json"); err != nil || !strings.Contains(out, `"A"`) {
			t.Errorf("amtool silence query with %s: %v\n%s", filepath.Base(f), err, out)
		}
	}
	// promtool: reads need credentials here too. Debian's promtool (2.42)
	// predates --http.config.file (2.43), so it sends basic auth from the
	// URL, which newer ones take too.
	if out, err := run("promtool", "query", "instant", r.base, "vector(1)"); err == nil {
		t.Errorf("promtool without credentials succeeded: %s", out)
	}
	withUser := strings.Replace(r.base, "http://", "http://prom:prom-password@", 1)
	if out, err := run("promtool", "query", "instant", withUser, "vector(7)"); err != nil || !strings.Contains(out, "7") {
		t.Errorf("promtool with basic auth: %v\n%s", err, out)
	}
	if out, err := run("promtool", "query", "instant", "--help"); err == nil && strings.Contains(out, "http.config.file") {
		for _, f := range []string{basicFile, bearerFile} {
			if out, err := run("promtool", "query", "instant", "--http.config.file", f, r.base, "vector(7)"); err != nil || !strings.Contains(out, "7") {
				t.Errorf("promtool with %s: %v\n%s", filepath.Base(f), err, out)
			}
		}
	}

	// Real Prometheus servers: one remote-writes with basic auth and sends
	// alerts with the token, the other the other way round.
	host := strings.TrimPrefix(r.base, "http://")
	basic := "basic_auth: {username: prom, password: prom-password}"
	bearer := "authorization: {credentials: " + token + "}"
	get := func(path string, v any) int {
		req, _ := http.NewRequest("GET", r.base+path, nil)
		req.SetBasicAuth("admin", "admin-password")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(v)
		return resp.StatusCode
	}
	for i, creds := range [][2]string{{basic, bearer}, {bearer, basic}} {
		job := fmt.Sprintf("self%d", i)
		startPeer(t, "prometheus", func(addr, pdir string) []string {
			os.WriteFile(filepath.Join(pdir, "rules.yml"), fmt.Appendf(nil, "groups:\n  - name: g\n    interval: 1s\n    rules:\n      - alert: FromPrometheus%d\n        expr: vector(1)\n", i), 0o644)
			os.WriteFile(filepath.Join(pdir, "prometheus.yml"), fmt.Appendf(nil, `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: %s
    static_configs: [{targets: [%q]}]
remote_write:
  - url: http://%s/api/v1/write
    %s
alerting:
  alertmanagers:
    - static_configs: [{targets: [%q]}]
      %s
`, job, addr, host, creds[0], host, creds[1]), 0o644)
			return []string{"--config.file=" + filepath.Join(pdir, "prometheus.yml"), "--storage.tsdb.path=" + filepath.Join(pdir, "data"),
				"--web.listen-address=" + addr, "--rules.alert.resend-delay=1s"}
		})
		waitUntil(t, "samples remote-written by Prometheus "+job, func() bool {
			var q struct{ Data struct{ Result []any } }
			get("/api/v1/query?query=up{job=\""+job+"\"}", &q)
			return len(q.Data.Result) == 1
		})
		waitUntil(t, "the alert sent by Prometheus "+job, func() bool {
			var alerts []struct{ Labels map[string]string }
			get("/api/v2/alerts", &alerts)
			for _, a := range alerts {
				if a.Labels["alertname"] == fmt.Sprintf("FromPrometheus%d", i) {
					return true
				}
			}
			return false
		})
	}
	// Neither data flow is in the audit log; the silences are, by who.
	var audit struct {
		Data []struct{ Actor, Action string }
	}
	get("/api/v1/audit", &audit)
	actors := map[string]bool{}
	for _, e := range audit.Data {
		if e.Action == "POST /api/v1/write" || e.Action == "POST /api/v2/alerts" {
			t.Errorf("data flow audited: %+v", e)
		}
		actors[e.Actor] = true
	}
	if !actors["prom"] || !actors["token:alerts"] {
		t.Errorf("audit log actors %v, want prom and token:alerts", actors)
	}
}
