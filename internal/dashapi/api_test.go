package dashapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argus-mon/argus/internal/dashboard"
	"github.com/argus-mon/argus/internal/state"
)

type env struct {
	t     *testing.T
	url   string
	store *state.DB
}

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	db, err := state.Open(context.Background(), filepath.Join(t.TempDir(), state.File))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o.Store = db
	o.Version = "test"
	mux := http.NewServeMux()
	New(o).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, url: srv.URL, store: db}
}

// do sends a request and decodes the JSON answer into out (if not nil),
// returning the status code and the raw body.
func (e *env) do(method, path, body string, out any) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

func TestSaveGetDashboard(t *testing.T) {
	e := newEnv(t, Options{})
	var saved map[string]any
	code, body := e.do("POST", "/api/dashboards/db", `{"dashboard": {"uid": "host1", "title": "Host One", "tags": ["linux"],
		"panels": [{"id": 1, "type": "graph", "datasource": "Prometheus", "targets": [{"expr": "up", "refId": "A"}]}], "schemaVersion": 16},
		"message": "first"}`, &saved)
	if code != 200 {
		t.Fatalf("save: %d %s", code, body)
	}
	for k, want := range map[string]any{"id": 1.0, "uid": "host1", "url": "/d/host1/host-one", "status": "success", "version": 1.0, "slug": "host-one"} {
		if saved[k] != want {
			t.Errorf("save answer %s = %v, want %v", k, saved[k], want)
		}
	}
	var got struct {
		Dashboard map[string]any `json:"dashboard"`
		Meta      map[string]any `json:"meta"`
	}
	if code, body := e.do("GET", "/api/dashboards/uid/host1", "", &got); code != 200 {
		t.Fatalf("get: %d %s", code, body)
	}
	if got.Dashboard["version"] != 1.0 || got.Dashboard["schemaVersion"] != 39.0 || got.Dashboard["id"] != 1.0 {
		t.Errorf("dashboard: %v", got.Dashboard)
	}
	p := got.Dashboard["panels"].([]any)[0].(map[string]any)
	if p["type"] != "timeseries" || fmt.Sprint(p["datasource"]) != "map[type:prometheus uid:argus]" {
		t.Errorf("stored panel not migrated: %v", p)
	}
	for k, want := range map[string]any{"slug": "host-one", "url": "/d/host1/host-one", "version": 1.0, "folderUid": "",
		"provisioned": false, "canSave": true, "isStarred": false, "folderTitle": "General", "type": "db"} {
		if got.Meta[k] != want {
			t.Errorf("meta %s = %v, want %v", k, got.Meta[k], want)
		}
	}
	for _, k := range []string{"created", "updated", "provisionedExternalId"} {
		if _, ok := got.Meta[k]; !ok {
			t.Errorf("meta has no %s", k)
		}
	}
	// Conflicts, with Grafana's codes and statuses.
	var er apiError
	if code, _ := e.do("POST", "/api/dashboards/db", `{"dashboard": {"uid": "host1", "title": "Host One", "version": 0}}`, &er); code != 412 || er.Status != "version-mismatch" {
		t.Errorf("stale save: %d %+v", code, er)
	}
	if code, _ := e.do("POST", "/api/dashboards/db", `{"dashboard": {"title": "host one"}}`, &er); code != 412 || er.Status != "name-exists" {
		t.Errorf("same name: %d %+v", code, er)
	}
	if code, _ := e.do("POST", "/api/dashboards/db", `{"dashboard": {"uid": "host1", "title": "Host One", "version": 0}, "overwrite": true, "message": "forced"}`, &saved); code != 200 || saved["version"] != 2.0 {
		t.Errorf("overwrite: %d %v", code, saved)
	}
	for _, bad := range []struct {
		body string
		code int
	}{
		{`{"dashboard": {"title": ""}}`, 400},
		{`{}`, 400},
		{`{"dashboard": []}`, 400},
		{`not json`, 400},
		{`{"dashboard": {"title": "x"}, "folderUid": "nope"}`, 400},
		{`{"dashboard": {"title": "x"}, "folderId": 77}`, 400},
	} {
		if code, body := e.do("POST", "/api/dashboards/db", bad.body, &er); code != bad.code || er.Message == "" {
			t.Errorf("%s: %d %s, want %d with a message", bad.body, code, body, bad.code)
		}
	}
	if code, _ := e.do("GET", "/api/dashboards/uid/nope", "", &er); code != 404 || er.Message != "Dashboard not found" {
		t.Errorf("missing: %d %+v", code, er)
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, Options{MaxBodyBytes: 100})
	var er apiError
	body := `{"dashboard": {"title": "` + strings.Repeat("x", 200) + `"}}`
	if code, _ := e.do("POST", "/api/dashboards/db", body, &er); code != 413 {
		t.Errorf("big body: %d %+v", code, er)
	}
}

func TestImportSeedAndReport(t *testing.T) {
	e := newEnv(t, Options{})
	data, err := os.ReadFile("../dashboard/testdata/seed/nginx.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"dashboard": json.RawMessage(data), "overwrite": true,
		"inputs": []dashboard.Input{{Name: "DS_PROMETHEUS", Type: "datasource", PluginID: "prometheus", Value: "argus"}}})
	var res map[string]any
	if code, b := e.do("POST", "/api/dashboards/import", string(body), &res); code != 200 {
		t.Fatalf("import: %d %s", code, b)
	}
	uid := res["uid"].(string)
	if res["imported"] != true || res["importedUrl"] != "/d/"+uid+"/nginx" {
		t.Errorf("import answer %v", res)
	}
	var rep dashboard.Report
	if code, b := e.do("GET", "/api/dashboards/uid/"+uid+"/report", "", &rep); code != 200 {
		t.Fatalf("report: %d %s", code, b)
	}
	if rep.Summary != (dashboard.Summary{Total: 6, OK: 6}) || rep.SchemaVersion != 12 || rep.Panels[0].OriginalType != "graph" {
		t.Errorf("report %+v", rep)
	}
	// Export for sharing, import again elsewhere.
	var x map[string]any
	e.do("GET", "/api/dashboards/uid/"+uid+"/export", "", &x)
	if x["id"] != nil || len(x["__inputs"].([]any)) != 1 || !strings.Contains(fmt.Sprint(x["panels"]), "${DS_ARGUS}") {
		t.Errorf("export: inputs %v", x["__inputs"])
	}
	e2 := newEnv(t, Options{})
	xb, _ := json.Marshal(map[string]any{"dashboard": x})
	if code, b := e2.do("POST", "/api/dashboards/import", string(xb), &res); code != 200 {
		t.Fatalf("import of the export: %d %s", code, b)
	}
	var got struct{ Dashboard map[string]any }
	e2.do("GET", "/api/dashboards/uid/"+uid, "", &got)
	if strings.Contains(fmt.Sprint(got.Dashboard), "DS_") {
		t.Errorf("inputs left after importing an export")
	}
	// Once changed there, importing the same file again needs overwrite,
	// as in Grafana (the file's version is stale).
	got.Dashboard["title"] = "changed"
	cb, _ := json.Marshal(map[string]any{"dashboard": got.Dashboard})
	e2.do("POST", "/api/dashboards/db", string(cb), nil)
	var er apiError
	if code, _ := e2.do("POST", "/api/dashboards/import", string(xb), &er); code != 412 || er.Status != "version-mismatch" {
		t.Errorf("import of a stale version without overwrite: %d %+v", code, er)
	}
	xb, _ = json.Marshal(map[string]any{"dashboard": x, "overwrite": true})
	if code, _ := e2.do("POST", "/api/dashboards/import", string(xb), &res); code != 200 || res["version"] != 3.0 {
		t.Errorf("import with overwrite: %d %v", code, res)
	}
}

func TestVersionsRestoreDelete(t *testing.T) {
	e := newEnv(t, Options{})
	e.do("POST", "/api/dashboards/db", `{"dashboard": {"uid": "v", "title": "V", "refresh": "1m"}, "message": "one"}`, nil)
	e.do("POST", "/api/dashboards/db", `{"dashboard": {"uid": "v", "title": "V", "refresh": "5m", "version": 1}, "message": "two"}`, nil)
	var vs []map[string]any
	e.do("GET", "/api/dashboards/uid/v/versions", "", &vs)
	if len(vs) != 2 || vs[0]["version"] != 2.0 || vs[0]["message"] != "two" || vs[0]["dashboardUid"] != "v" || vs[1]["id"] != 1.0 {
		t.Errorf("versions %v", vs)
	}
	var v1 map[string]any
	e.do("GET", "/api/dashboards/uid/v/versions/1", "", &v1)
	if v1["data"].(map[string]any)["refresh"] != "1m" {
		t.Errorf("version 1: %v", v1)
	}
	var diff struct {
		Changes []state.Change `json:"changes"`
	}
	e.do("GET", "/api/dashboards/uid/v/diff?base=1&new=2", "", &diff)
	if fmt.Sprint(diff.Changes) != "[{refresh replace 1m 5m} {version replace 1 2}]" {
		t.Errorf("diff %v", diff.Changes)
	}
	var res map[string]any
	if code, b := e.do("POST", "/api/dashboards/uid/v/restore", `{"version": 1}`, &res); code != 200 || res["version"] != 3.0 {
		t.Fatalf("restore: %d %s", code, b)
	}
	var got struct{ Dashboard map[string]any }
	e.do("GET", "/api/dashboards/uid/v", "", &got)
	if got.Dashboard["refresh"] != "1m" || got.Dashboard["version"] != 3.0 {
		t.Errorf("after restore: %v", got.Dashboard)
	}
	var er apiError
	if code, _ := e.do("POST", "/api/dashboards/uid/v/restore", `{"version": 9}`, &er); code != 404 {
		t.Errorf("restore of a missing version: %d", code)
	}
	if code, _ := e.do("DELETE", "/api/dashboards/uid/v", "", &res); code != 200 || res["title"] != "V" {
		t.Errorf("delete: %d %v", code, res)
	}
	if code, _ := e.do("DELETE", "/api/dashboards/uid/v", "", &er); code != 404 {
		t.Errorf("second delete: %d", code)
	}
}

func TestProvisionedIsReadOnly(t *testing.T) {
	e := newEnv(t, Options{})
	_, err := e.store.SaveDashboard(context.Background(), state.SaveRequest{Data: []byte(`{"uid": "p", "title": "P"}`), Provisioner: "files", ProvisionedPath: "/etc/d/p.json"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Meta map[string]any }
	e.do("GET", "/api/dashboards/uid/p", "", &got)
	if got.Meta["provisioned"] != true || got.Meta["canSave"] != false || got.Meta["provisionedExternalId"] != "/etc/d/p.json" {
		t.Errorf("meta %v", got.Meta)
	}
	var er apiError
	if code, _ := e.do("POST", "/api/dashboards/db", `{"dashboard": {"uid": "p", "title": "P", "version": 1}}`, &er); code != 400 || er.Message != "Cannot save provisioned dashboard" {
		t.Errorf("save: %d %+v", code, er)
	}
	if code, _ := e.do("DELETE", "/api/dashboards/uid/p", "", &er); code != 400 {
		t.Errorf("delete: %d %+v", code, er)
	}
	if code, _ := e.do("POST", "/api/dashboards/uid/p/restore", `{"version": 1}`, &er); code != 400 {
		t.Errorf("restore: %d %+v", code, er)
	}
}

func TestSearchAndFolders(t *testing.T) {
	e := newEnv(t, Options{})
	var f map[string]any
	if code, b := e.do("POST", "/api/folders", `{"uid": "ops", "title": "Ops"}`, &f); code != 200 || f["url"] != "/dashboards/f/ops/ops" {
		t.Fatalf("create folder: %d %s", code, b)
	}
	var er apiError
	if code, _ := e.do("POST", "/api/folders", `{"title": "Ops"}`, &er); code != 409 {
		t.Errorf("same folder again: %d", code)
	}
	e.do("POST", "/api/dashboards/db", `{"dashboard": {"uid": "a", "title": "Node", "tags": ["linux"]}, "folderUid": "ops"}`, nil)
	e.do("POST", "/api/dashboards/db", `{"dashboard": {"uid": "b", "title": "Apps"}, "folderId": 1}`, nil)
	e.do("POST", "/api/dashboards/db", `{"dashboard": {"uid": "c", "title": "Alerts"}}`, nil)
	e.do("POST", "/api/user/stars/dashboard/uid/c", "", nil)
	search := func(q, want string) {
		t.Helper()
		var hits []hit
		if code, b := e.do("GET", "/api/search?"+q, "", &hits); code != 200 {
			t.Fatalf("search %s: %d %s", q, code, b)
		}
		var got []string
		for _, h := range hits {
			got = append(got, h.Type+":"+h.UID)
		}
		if fmt.Sprint(got) != want {
			t.Errorf("search %q: %v, want %s", q, got, want)
		}
	}
	search("", "[dash-folder:ops dash-db:c dash-db:b dash-db:a]")
	search("type=dash-db", "[dash-db:c dash-db:b dash-db:a]")
	search("type=dash-folder", "[dash-folder:ops]")
	search("query=no", "[dash-db:a]")
	search("tag=linux", "[dash-db:a]")
	search("folderUIDs=ops", "[dash-db:b dash-db:a]")
	search("folderUIDs=general", "[dash-db:c]")
	search("starred=true", "[dash-db:c]")
	search("limit=2", "[dash-folder:ops dash-db:c]")
	var hits []hit
	e.do("GET", "/api/search?query=Node", "", &hits)
	if h := hits[0]; h.FolderUID != "ops" || h.FolderTitle != "Ops" || h.URL != "/d/a/node" || fmt.Sprint(h.Tags) != "[linux]" {
		t.Errorf("hit %+v", h)
	}
	if code, _ := e.do("GET", "/api/search?type=x", "", &er); code != 400 {
		t.Errorf("bad type: %d", code)
	}
	var fs []map[string]any
	e.do("GET", "/api/folders", "", &fs)
	if len(fs) != 1 || fs[0]["uid"] != "ops" {
		t.Errorf("folders %v", fs)
	}
	var health map[string]string
	if code, _ := e.do("GET", "/api/health", "", &health); code != 200 || health["database"] != "ok" || health["version"] != "test" {
		t.Errorf("health %d %v", code, health)
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"Host One": "host-one", "  Node Exporter (full) ": "node-exporter-full", "a--b": "a-b", "Über": "über"} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzImportBody posts arbitrary bodies to the import endpoint: the
// answer is JSON, a 2xx or 4xx, never a 5xx or a panic.
func FuzzImportBody(f *testing.F) {
	data, _ := os.ReadFile("../dashboard/testdata/seed/grafana.json")
	b, _ := json.Marshal(map[string]any{"dashboard": json.RawMessage(data), "overwrite": true})
	f.Add(b)
	f.Add([]byte(`{"dashboard": {"title": "t", "__inputs": [{"name": "DS_X", "type": "datasource", "pluginId": "loki"}], "panels": [{"datasource": "${DS_X}"}]}, "inputs": [{"name": "DS_X", "value": "argus"}]}`))
	f.Add([]byte(`{"dashboard": {"title": "t", "rows": [{"panels": [{"type": "singlestat"}]}]}, "folderId": 0}`))
	db, err := state.Open(context.Background(), filepath.Join(f.TempDir(), state.File))
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	mux := http.NewServeMux()
	New(Options{Store: db}).Register(mux)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("POST", "/api/dashboards/import", bytes.NewReader(body)))
		if rec.Code >= 500 || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	})
}
