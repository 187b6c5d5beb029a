package apiv2

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amconfig "github.com/prometheus/alertmanager/config"
	"go.uber.org/goleak"

	"github.com/argus-mon/argus/internal/alertmanager"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

const testConfig = `
global:
  resolve_timeout: 5m
route:
  receiver: team
  group_by: [alertname]
  group_wait: 1h
  routes:
    - matchers: [severity="page"]
      receiver: pager
    - matchers: [team=~"db|web"]
      receiver: team-x
      continue: true
    - matchers: [team="db"]
      receiver: db
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [cluster]
receivers:
  - name: team
    webhook_configs: [{url: 'http://hooks.example.org/team-secret'}]
  - name: pager
    slack_configs: [{api_url: 'https://hooks.slack.example/secret', channel: '#pager'}]
  - name: team-x
  - name: db
`

// startAPI serves the API over a fresh Manager on a loopback port.
func startAPI(t *testing.T) (*alertmanager.Manager, string) {
	t.Helper()
	return startAPIWith(t, alertmanager.Options{})
}

func startAPIWith(t *testing.T, opts alertmanager.Options) (*alertmanager.Manager, string) {
	t.Helper()
	m, err := alertmanager.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := amconfig.Load(testConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.ApplyConfig(cfg, testConfig); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	mux := http.NewServeMux()
	New(m, "test", nil).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
	})
	return m, srv.URL
}

// amtool runs Debian's amtool against url and returns its output.
func amtool(t *testing.T, url string, args ...string) string {
	t.Helper()
	out, err := amtoolErr(t, url, args...)
	if err != nil {
		t.Fatalf("amtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func amtoolErr(t *testing.T, url string, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("amtool")
	if err != nil {
		t.Fatalf("amtool is needed to test the Alertmanager API; install the Debian package prometheus-alertmanager: %v", err)
	}
	if url != "" {
		args = append([]string{"--alertmanager.url=" + url}, args...)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user amtool config
	// amtool warns on stderr that its version differs from the server's.
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

func TestAmtoolAlerts(t *testing.T) {
	m, url := startAPI(t)
	amtool(t, url, "alert", "add", "alertname=Disk", "severity=warning", "cluster=a", "--annotation=summary=disk full")
	amtool(t, url, "alert", "add", "alertname=Down", "severity=critical", "cluster=a", "team=db")
	amtool(t, url, "alert", "add", "alertname=Other", "severity=warning", "cluster=b")
	if n := len(m.Alerts()); n != 3 {
		t.Fatalf("manager has %d alerts, want 3", n)
	}
	out := amtool(t, url, "-o", "json", "alert", "query")
	var got []struct {
		Labels    map[string]string `json:"labels"`
		Receivers []struct{ Name string }
		Status    struct {
			State       string   `json:"state"`
			InhibitedBy []string `json:"inhibitedBy"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("amtool alert query -o json: %v\n%s", err, out)
	}
	// amtool hides inhibited alerts unless asked (-i).
	if len(got) != 2 {
		t.Fatalf("alert query: %d alerts, want 2 (Disk inhibited):\n%s", len(got), out)
	}
	out = amtool(t, url, "-o", "json", "alert", "query", "-a", "-i")
	json.Unmarshal([]byte(out), &got)
	if len(got) != 3 {
		t.Fatalf("alert query -a -i: %d alerts, want 3:\n%s", len(got), out)
	}
	for _, a := range got {
		switch a.Labels["alertname"] {
		case "Disk":
			if a.Status.State != "suppressed" || len(a.Status.InhibitedBy) != 1 {
				t.Errorf("Disk: %+v", a.Status)
			}
		case "Down":
			if len(a.Receivers) != 2 || a.Receivers[0].Name != "team-x" || a.Receivers[1].Name != "db" {
				t.Errorf("Down receivers: %+v", a.Receivers)
			}
		}
	}
	out = amtool(t, url, "alert", "query", "alertname=~Do.*")
	if !strings.Contains(out, "Down") || strings.Contains(out, "Other") {
		t.Fatalf("alert query with matcher:\n%s", out)
	}
	out = amtool(t, url, "alert", "query", "--receiver=db")
	if !strings.Contains(out, "Down") || strings.Contains(out, "Other") {
		t.Fatalf("alert query --receiver:\n%s", out)
	}
	// A bad matcher is a 400 with the reason.
	resp, err := http.Get(url + "/api/v2/alerts?filter=" + neturl.QueryEscape(`alertname=~"("`))
	if err != nil {
		t.Fatal(err)
	}
	var msg string
	json.NewDecoder(resp.Body).Decode(&msg)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(msg, "missing closing )") {
		t.Fatalf("bad filter: %d %q", resp.StatusCode, msg)
	}
	// Groups.
	resp, err = http.Get(url + "/api/v2/alerts/groups")
	if err != nil {
		t.Fatal(err)
	}
	var groups []struct {
		Labels   map[string]string
		Receiver struct{ Name string }
		Alerts   []any
	}
	json.NewDecoder(resp.Body).Decode(&groups)
	resp.Body.Close()
	if len(groups) != 4 { // Disk, Other to team; Down to team-x and db
		t.Fatalf("groups: %+v", groups)
	}
}

func TestAmtoolSilences(t *testing.T) {
	m, url := startAPI(t)
	amtool(t, url, "alert", "add", "alertname=Noisy", "instance=a")
	id := strings.TrimSpace(amtool(t, url, "silence", "add", "alertname=Noisy", "--comment=maintenance", "--author=alice", "--duration=1h"))
	if len(id) != 36 {
		t.Fatalf("silence add printed %q, want an ID", id)
	}
	s, ok := m.Silence(id)
	if !ok || s.CreatedBy != "alice" || s.Comment != "maintenance" {
		t.Fatalf("stored silence: %+v", s)
	}
	out := amtool(t, url, "silence", "query")
	if !strings.Contains(out, id) || !strings.Contains(out, "alice") {
		t.Fatalf("silence query:\n%s", out)
	}
	out = amtool(t, url, "silence", "query", "-q", "alertname=Noisy")
	if strings.TrimSpace(out) != id {
		t.Fatalf("silence query -q alertname=Noisy: %q", out)
	}
	// The alert is silenced: hidden from the default query.
	if out := amtool(t, url, "alert", "query"); strings.Contains(out, "Noisy") {
		t.Fatalf("silenced alert listed:\n%s", out)
	}
	if out := amtool(t, url, "alert", "query", "-s"); !strings.Contains(out, "Noisy") {
		t.Fatalf("alert query -s misses the silenced alert:\n%s", out)
	}
	// Export and import: the JSON of `silence query -o json` loads back.
	exported := amtool(t, url, "-o", "json", "silence", "query")
	amtool(t, url, "silence", "expire", id)
	if s, _ := m.Silence(id); s.State(time.Now()) != alertmanager.SilenceStateExpired {
		t.Fatalf("after expire: %+v", s)
	}
	if out := amtool(t, url, "silence", "query"); strings.Contains(out, id) {
		t.Fatalf("expired silence in default query:\n%s", out)
	}
	if out := amtool(t, url, "silence", "query", "--expired"); !strings.Contains(out, id) {
		t.Fatalf("expired silence missing from --expired:\n%s", out)
	}
	file := filepath.Join(t.TempDir(), "silences.json")
	os.WriteFile(file, []byte(exported), 0o644)
	out = amtool(t, url, "silence", "import", file)
	// Importing an expired silence's ID creates a new silence.
	active := 0
	for _, s := range m.Silences() {
		if s.State(time.Now()) == alertmanager.SilenceStateActive {
			active++
			if s.ID == id {
				t.Fatalf("import reused the expired ID")
			}
		}
	}
	if active != 1 {
		t.Fatalf("after import: %d active silences, want 1; amtool said:\n%s", active, out)
	}
	// Expiring an unknown silence fails.
	if out, err := amtoolErr(t, url, "silence", "expire", "00000000-0000-0000-0000-000000000000"); err == nil {
		t.Fatalf("expire of unknown silence succeeded:\n%s", out)
	}
	// A silence matching everything is refused with the reason.
	if out, err := amtoolErr(t, url, "silence", "add", "foo=~.*", "--comment=x"); err == nil || !strings.Contains(out, "empty string") {
		t.Fatalf("silence matching everything: %v\n%s", err, out)
	}
}

func TestAmtoolConfig(t *testing.T) {
	_, url := startAPI(t)
	out := amtool(t, url, "config", "show")
	if !strings.Contains(out, "team-x") || strings.Contains(out, "secret\n") || strings.Contains(out, "team-secret") || strings.Contains(out, "slack.example") {
		t.Fatalf("config show (secrets must not show):\n%s", out)
	}
	out = amtool(t, url, "config", "routes")
	if !strings.Contains(out, "team-x") || !strings.Contains(out, "pager") {
		t.Fatalf("config routes:\n%s", out)
	}
	out = amtool(t, url, "config", "routes", "test", "team=db")
	if strings.TrimSpace(out) != "team-x,db" {
		t.Fatalf("config routes test team=db: %q, want team-x,db", out)
	}
	out = amtool(t, url, "config", "routes", "test", "severity=page", "team=db")
	if strings.TrimSpace(out) != "pager" {
		t.Fatalf("config routes test severity=page: %q", out)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "alertmanager.yml")
	os.WriteFile(file, []byte(testConfig), 0o644)
	if out := amtool(t, "", "check-config", file); !strings.Contains(out, "SUCCESS") {
		t.Fatalf("check-config:\n%s", out)
	}
}

func TestStatusAndReceivers(t *testing.T) {
	_, url := startAPI(t)
	var st struct {
		Cluster struct{ Status string }
		Config  struct{ Original string }
	}
	getJSON(t, url+"/api/v2/status", &st)
	if st.Cluster.Status != "disabled" || !strings.Contains(st.Config.Original, "receiver: team") {
		t.Fatalf("status: %+v", st)
	}
	var recv []struct{ Name string }
	getJSON(t, url+"/api/v2/receivers", &recv)
	if len(recv) != 4 || recv[0].Name != "team" {
		t.Fatalf("receivers: %+v", recv)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func TestBadInput(t *testing.T) {
	_, url := startAPI(t)
	post := func(path, body string) (int, string) {
		resp, err := http.Post(url+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var msg string
		json.NewDecoder(resp.Body).Decode(&msg)
		return resp.StatusCode, msg
	}
	huge := `{"labels":{"alertname":"x"`
	for i := range 300 {
		huge += `,"l` + strings.Repeat("x", 3) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":"v"`
	}
	huge += `}}`
	for _, c := range []struct{ name, path, body, want string }{
		{"not json", "/api/v2/alerts", `{`, "parse body"},
		{"no labels", "/api/v2/alerts", `[{"annotations":{"a":"b"}}]`, "labels"},
		{"empty labels", "/api/v2/alerts", `[{"labels":{}}]`, "at least one label pair required"},
		{"bad label name", "/api/v2/alerts", `[{"labels":{"a":"b","":"x"}}]`, "invalid label"},
		{"ends before starts", "/api/v2/alerts", `[{"labels":{"a":"b"},"startsAt":"2024-01-02T00:00:00Z","endsAt":"2024-01-01T00:00:00Z"}]`, "start time must be before end time"},
		{"too many labels", "/api/v2/alerts", "[" + huge + "]", "more than the limit"},
		{"silence no matchers", "/api/v2/silences", `{"matchers":[],"startsAt":"2030-01-01T00:00:00Z","endsAt":"2030-01-02T00:00:00Z","createdBy":"a","comment":"c"}`, "matcher"},
		{"silence bad regex", "/api/v2/silences", `{"matchers":[{"name":"a","value":"(","isRegex":true}],"startsAt":"2030-01-01T00:00:00Z","endsAt":"2030-01-02T00:00:00Z","createdBy":"a","comment":"c"}`, "error parsing regexp"},
		{"silence in the past", "/api/v2/silences", `{"matchers":[{"name":"a","value":"b","isRegex":false}],"startsAt":"2020-01-01T00:00:00Z","endsAt":"2020-01-02T00:00:00Z","createdBy":"a","comment":"c"}`, "in the past"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, msg := post(c.path, c.body)
			if code != 400 || !strings.Contains(msg, c.want) {
				t.Fatalf("got %d %q, want 400 containing %q", code, msg, c.want)
			}
		})
	}
	// Valid alerts in a batch with invalid ones are taken.
	code, _ := post("/api/v2/alerts", `[{"labels":{"alertname":"ok"}},{"labels":{}}]`)
	var alerts []any
	getJSON(t, url+"/api/v2/alerts", &alerts)
	if code != 400 || len(alerts) != 1 {
		t.Fatalf("mixed batch: %d, %d alerts stored", code, len(alerts))
	}
	// History parameters.
	for _, q := range []string{"since=yesterday", "until=1", "limit=-1"} {
		resp, err := http.Get(url + "/api/v2/history?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("history?%s: %d, want 400", q, resp.StatusCode)
		}
	}
	var events []any
	getJSON(t, url+"/api/v2/history?kind=alert&since=2020-01-01T00:00:00Z&limit=5", &events)
	// Too large a body.
	code, _ = post("/api/v2/alerts", strings.Repeat(" ", maxBodyBytes+1))
	if code != 413 {
		t.Fatalf("huge body: %d, want 413", code)
	}
}

// TestHugeAlerts: alerts too large for the limits are refused with a
// message that says why, without echoing their labels back.
func TestHugeAlerts(t *testing.T) {
	_, url := startAPI(t)
	manyLabels := func(n int) string {
		var b strings.Builder
		b.WriteString(`[{"labels":{"alertname":"many"`)
		for i := range n {
			fmt.Fprintf(&b, `,"label_%05d":"value"`, i)
		}
		b.WriteString(`}}]`)
		return b.String()
	}
	for _, c := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"10000 labels", manyLabels(10_000), 400, "10001 labels, more than the limit of 256"},
		{"10 MB label", `[{"labels":{"alertname":"big","blob":"` + strings.Repeat("x", 10<<20) + `"}}]`, 400, "bytes, more than the limit of 65536"},
		{"10 MB annotation", `[{"labels":{"alertname":"big"},"annotations":{"blob":"` + strings.Repeat("x", 10<<20) + `"}}]`, 400, "bytes, more than the limit of 65536"},
		{"40 MB body", `[{"labels":{"alertname":"big","blob":"` + strings.Repeat("x", 40<<20) + `"}}]`, 413, "body larger than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, err := http.Post(url+"/api/v2/alerts", "application/json", strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var msg string
			json.Unmarshal(b, &msg)
			if resp.StatusCode != c.code || !strings.Contains(msg, c.want) {
				t.Fatalf("got %d %.300q, want %d containing %q", resp.StatusCode, b, c.code, c.want)
			}
			if len(b) > 1024 {
				t.Fatalf("answer of %d bytes: %.300s...", len(b), b)
			}
		})
	}
}

// TestAlertLimitsAnswer400: an alert past a limit gets 400 with the limit
// named; the others of the request are taken.
func TestAlertLimitsAnswer400(t *testing.T) {
	m, url := startAPIWith(t, alertmanager.Options{MaxAlerts: 2})
	resp, err := http.Post(url+"/api/v2/alerts", "application/json", strings.NewReader(
		`[{"labels":{"alertname":"a"}},{"labels":{"alertname":"b"}},{"labels":{"alertname":"c"}}]`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var msg string
	json.NewDecoder(resp.Body).Decode(&msg)
	if resp.StatusCode != 400 || !strings.Contains(msg, `alert 2 {alertname="c"}: alert limit reached: 2 alerts stored, the most allowed`) {
		t.Fatalf("got %d %q", resp.StatusCode, msg)
	}
	if n := len(m.Alerts()); n != 2 {
		t.Fatalf("%d alerts stored, want 2", n)
	}
}
