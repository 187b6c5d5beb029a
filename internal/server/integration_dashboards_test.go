package server

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

// TestIntegrationDashboards runs an integration of every type against a
// real server and checks the built-in dashboards of the types: argus
// provisions the dashboard of each configured type (and no other) into
// the folder argus, every query of every panel runs on argus's API
// without error over the data scraped, and every panel has data; a
// reload without a type removes its dashboard.
func TestIntegrationDashboards(t *testing.T) {
	mc := integrationtest.Memcached(t)
	rd := integrationtest.Redis(t, "--maxmemory", "64mb")
	n := integrationtest.StartNginx(t)
	u := integrationtest.StartUwsgiUnix(t)
	pg := integrationtest.Postgres(t)
	replica := integrationtest.PostgresReplica(t, pg, "replica1")
	mq := integrationtest.RabbitMQ(t, false)
	site := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }))
	defer site.Close()

	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: site.Certificate().Raw})
	writeFile(t, filepath.Join(dir, "ca.pem"), string(ca))
	writeFile(t, filepath.Join(dir, "blackbox.yml"), "modules:\n  https:\n    prober: http\n    http: {tls_config: {ca_file: ca.pem}}\n")
	integrations := map[string]string{
		"memcached": fmt.Sprintf("{name: cache, type: memcached, address: %s}", mc),
		"redis":     fmt.Sprintf("{name: sessions, type: redis, address: %s}", rd),
		"nginx":     fmt.Sprintf("{name: web, type: nginx, address: %q, access_log: %q}", n.StubStatus, n.AccessLog),
		"uwsgi":     fmt.Sprintf("{name: app, type: uwsgi, address: %s}", u.Stats),
		// Both postgres servers, told apart by their job.
		"postgres": fmt.Sprintf("{name: db, type: postgres, dsn: %q}\n  - {name: db-replica, type: postgres, dsn: %q}", pg.DSN(), replica.DSN()),
		"rabbitmq": fmt.Sprintf("{name: broker, type: rabbitmq, address: %s}", mq.Management),
		"probe":    fmt.Sprintf("{name: site, type: probe, address: %q, module: https}\n  - {name: site-plain, type: probe, address: %q}", site.URL, site.URL),
	}
	jobs := map[string]string{"memcached": "cache", "redis": "sessions", "nginx": "web", "uwsgi": "app", "postgres": "db|db-replica",
		"rabbitmq": "broker", "probe": "site|site-plain"}
	cfgPath := filepath.Join(dir, "argus.yml")
	writeConfig := func(types ...string) {
		t.Helper()
		var b strings.Builder
		b.WriteString("global: {scrape_interval: 500ms}\ncollectors:\n  node: {enabled: false}\n  process: {enabled: false}\n" +
			"probe: {config_file: blackbox.yml}\nintegrations:\n")
		for _, typ := range types {
			b.WriteString("  - " + integrations[typ] + "\n")
		}
		writeFile(t, cfgPath, b.String())
	}
	types := []string{"memcached", "nginx", "postgres", "probe", "rabbitmq", "redis", "uwsgi"}
	writeConfig(types...)
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfgPath})

	// Traffic for the panels to show: a queue with messages, requests
	// answered 200, 404 and by an upstream (after argus's first read of
	// the access log, which starts at its end).
	rabbitAPI(t, mq.Management, "PUT", "/api/queues/%2F/orders", `{"durable": true}`)
	rabbitAPI(t, mq.Management, "POST", "/api/exchanges/%2F/amq.default/publish",
		`{"properties": {}, "routing_key": "orders", "payload": "x", "payload_encoding": "string"}`)
	waitUntil(t, "every integration up", func() bool {
		tg := targetsOf(t, r.base)
		for _, job := range []string{"cache", "sessions", "web", "app", "db", "db-replica", "broker", "site", "site-plain"} {
			if tg[job].Health != "up" {
				return false
			}
		}
		return true
	})
	for _, p := range []string{"/api/x", "/nope", "/proxied/x"} {
		resp, err := http.Get("http://" + n.Addr + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	waitUntil(t, "the data the panels show", func() bool {
		return len(queryVector(t, r.base, `nginx_http_upstream_response_duration_seconds_count`)) > 0 &&
			len(queryVector(t, r.base, `rabbitmq_queue_messages{queue="orders"}`)) > 0 &&
			len(queryVector(t, r.base, `pg_stat_replication_pg_wal_lsn_diff`)) > 0 &&
			len(queryVector(t, r.base, `probe_ssl_earliest_cert_expiry`)) > 0
	})
	// Rates need two samples of every series.
	time.Sleep(2 * time.Second)

	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			d := builtinDashboard(t, r.base, "argus-"+typ)
			for _, p := range d.panels() {
				hasData := false
				for _, expr := range p.exprs {
					if len(queryRange(t, r.base, fillVariables(expr, jobs[typ]))) > 0 {
						hasData = true
					}
				}
				if !hasData {
					t.Errorf("panel %q has no data: %q", p.title, p.exprs)
				}
			}
		})
	}

	// Without redis and the others, their dashboards go; memcached's
	// and the four of argus stay.
	writeConfig("memcached")
	if err := r.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	for _, typ := range types {
		code, _ := get(t, r.base+"/api/dashboards/uid/argus-"+typ)
		if want := map[bool]int{true: 200, false: 404}[typ == "memcached"]; code != want {
			t.Errorf("argus-%s after the reload: %d, want %d", typ, code, want)
		}
	}
	for _, uid := range []string{"argus-host", "argus-apps", "argus-self", "argus-alerts"} {
		if code, _ := get(t, r.base+"/api/dashboards/uid/"+uid); code != 200 {
			t.Errorf("%s after the reload: %d", uid, code)
		}
	}
}

// rabbitAPI calls the management API as guest, which may log in from
// loopback.
func rabbitAPI(t *testing.T, addr, method, path, body string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("guest", "guest")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s", method, path, resp.Status)
	}
}

// panelQueries is a panel's title and the expressions of its targets.
type panelQueries struct {
	title string
	exprs []string
}

type dashboardPanel struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

type provisionedDashboard struct {
	Panels []dashboardPanel `json:"panels"`
}

func (d provisionedDashboard) panels() []panelQueries {
	var out []panelQueries
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			if p.Type != "row" {
				q := panelQueries{title: p.Title}
				for _, tg := range p.Targets {
					q.exprs = append(q.exprs, tg.Expr)
				}
				out = append(out, q)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// builtinDashboard gets a dashboard through the API and checks it is a
// built-in one, in the folder argus.
func builtinDashboard(t *testing.T, base, uid string) provisionedDashboard {
	t.Helper()
	code, body := get(t, base+"/api/dashboards/uid/"+uid)
	if code != 200 {
		t.Fatalf("%s: %d %s", uid, code, body)
	}
	var resp struct {
		Dashboard provisionedDashboard `json:"dashboard"`
		Meta      struct {
			Provisioned bool   `json:"provisioned"`
			FolderTitle string `json:"folderTitle"`
		} `json:"meta"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	if !resp.Meta.Provisioned || resp.Meta.FolderTitle != "argus" {
		t.Errorf("%s: provisioned %v in folder %q, want the folder argus", uid, resp.Meta.Provisioned, resp.Meta.FolderTitle)
	}
	return resp.Dashboard
}

var dashboardVarRE = regexp.MustCompile(`\$\{?(\w+)\}?`)

// fillVariables substitutes the dashboard's variables as the UI does
// for a job and every instance, with the interval variables of a short
// range at this scrape interval.
func fillVariables(expr, job string) string {
	return dashboardVarRE.ReplaceAllStringFunc(expr, func(v string) string {
		switch strings.Trim(v, "${}") {
		case "job":
			return job
		case "instance":
			return ".*"
		case "__rate_interval", "__interval":
			return "2s"
		case "__range":
			return "1m"
		}
		return v
	})
}

// queryRange runs expr over the last ten seconds and returns its series,
// failing the test on an error.
func queryRange(t *testing.T, base, expr string) []json.RawMessage {
	t.Helper()
	now := time.Now()
	q := url.Values{"query": {expr}, "start": {strconv.FormatInt(now.Add(-10*time.Second).Unix(), 10)},
		"end": {strconv.FormatInt(now.Unix(), 10)}, "step": {"1"}}
	code, body := get(t, base+"/api/v1/query_range?"+q.Encode())
	var resp struct {
		Status string `json:"status"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil || code != 200 || resp.Status != "success" {
		t.Errorf("%s: %d %s (%v)", expr, code, body, err)
	}
	return resp.Data.Result
}
