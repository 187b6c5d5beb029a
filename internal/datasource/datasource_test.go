package datasource

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/argus-mon/argus/internal/config"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startPrometheus runs Debian's prometheus on a free loopback port,
// scraping itself, and returns its URL once its up series exists.
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
	u := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(u + "/api/v1/query?query=up")
		if err == nil {
			var r struct {
				Data struct{ Result []any }
			}
			json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if len(r.Data.Result) > 0 {
				return u
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "log"))
	t.Fatalf("prometheus did not come up: %s", out)
	return ""
}

func getJSON(t *testing.T, u string, out any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	return resp.StatusCode
}

// TestProxyToPrometheus queries a real Prometheus through the proxy, with
// credentials only the server knows, and the built-in source through the
// local handler.
func TestProxyToPrometheus(t *testing.T) {
	prom := startPrometheus(t)
	// A front that demands the data source's credentials, as a secured
	// Prometheus would, and passes the request on.
	target, _ := url.Parse(prom)
	var sawCookie bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "argus" || p != "s3cret" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		sawCookie = sawCookie || r.Header.Get("Cookie") != ""
		u := *target
		u.Path, u.RawQuery = r.URL.Path, r.URL.RawQuery
		resp, err := http.Get(u.String())
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		var buf [32 << 10]byte
		for {
			n, err := resp.Body.Read(buf[:])
			w.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}))
	defer front.Close()
	local := http.NewServeMux()
	local.HandleFunc("GET /api/v1/labels", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"success","data":["local"]}`)
	})
	p := New(local, nil)
	hc := commoncfg.DefaultHTTPClientConfig
	hc.BasicAuth = &commoncfg.BasicAuth{Username: "argus", Password: "s3cret"}
	if err := p.Apply([]*config.DataSource{{Name: "Debian Prometheus", UID: "prom", URL: front.URL + "/", Default: true, HTTPClientConfig: hc}}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	p.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var q struct {
		Status string
		Data   struct {
			ResultType string
			Result     []struct{ Metric map[string]string }
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/datasources/proxy/uid/prom/api/v1/query?query=up", nil)
	req.Header.Set("Cookie", "session=browser")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&q)
	resp.Body.Close()
	if resp.StatusCode != 200 || q.Status != "success" || len(q.Data.Result) == 0 || q.Data.Result[0].Metric["job"] != "prometheus" {
		t.Fatalf("query through the proxy: %d %+v", resp.StatusCode, q)
	}
	if sawCookie {
		t.Error("the browser's cookie was forwarded to the data source")
	}
	var values struct{ Data []string }
	if code := getJSON(t, srv.URL+"/api/datasources/proxy/uid/prom/api/v1/label/job/values", &values); code != 200 || strings.Join(values.Data, ",") != "prometheus" {
		t.Errorf("label values: %d %v", code, values)
	}
	now := time.Now().Unix()
	var rng struct{ Data struct{ ResultType string } }
	getJSON(t, fmt.Sprintf("%s/api/datasources/proxy/uid/prom/api/v1/query_range?query=up&start=%d&end=%d&step=1", srv.URL, now-30, now), &rng)
	if rng.Data.ResultType != "matrix" {
		t.Errorf("query_range: %+v", rng)
	}
	var labels struct{ Data []string }
	if getJSON(t, srv.URL+"/api/datasources/proxy/uid/argus/api/v1/labels", &labels); strings.Join(labels.Data, ",") != "local" {
		t.Errorf("built-in source: %v", labels)
	}
	var e struct{ Error string }
	if code := getJSON(t, srv.URL+"/api/datasources/proxy/uid/nope/api/v1/query?query=up", &e); code != 404 {
		t.Errorf("unknown source: %d %v", code, e)
	}
	var list []map[string]any
	getJSON(t, srv.URL+"/api/datasources", &list)
	if len(list) != 2 || list[0]["uid"] != "argus" || list[0]["isDefault"] != false || list[1]["isDefault"] != true ||
		list[1]["url"] != "/api/datasources/proxy/uid/prom" {
		t.Errorf("list: %v", list)
	}
	if ds := p.DataSources(); ds[1].UID != "prom" || !ds[1].IsDefault {
		t.Errorf("DataSources: %+v", ds)
	}
	// Only the read endpoints are proxied.
	resp, _ = http.Get(srv.URL + "/api/datasources/proxy/uid/prom/api/v1/admin/tsdb/delete_series")
	resp.Body.Close()
	if resp.StatusCode != 404 && resp.StatusCode != 405 {
		t.Errorf("admin endpoint proxied: %d", resp.StatusCode)
	}
}
