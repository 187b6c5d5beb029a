package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDashboardsImportDryRun(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "mixed.json")
	os.WriteFile(bad, []byte(`{"title": "Mixed", "schemaVersion": 14, "rows": [{"panels": [
		{"type": "graph", "title": "cpu", "seriesOverrides": [{"alias": "x", "fillBelowTo": "y"}]},
		{"type": "worldmap-panel", "title": "map"},
		{"type": "singlestat", "title": "up"}]}]}`), 0o644)
	seed := filepath.Join("..", "dashboard", "testdata", "seed", "nginx.json")
	code, out, errOut := runCLI("dashboards", "import", "--dry-run", "--data", filepath.Join(dir, "data"), bad, seed)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := bad + `: panel "cpu" (graph): degraded: graph: seriesOverrides fillBelowTo is not supported
` + bad + `: panel "map" (worldmap-panel): unsupported: panel type worldmap-panel is not supported
panels: 9 total, 7 ok, 1 degraded, 1 unsupported
`
	if out != want {
		t.Errorf("output:\n%s\nwant\n%s", out, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("--dry-run created the data directory: %v", err)
	}
	code, out, _ = runCLI("dashboards", "import", "--dry-run", filepath.Join(dir, "missing.json"), seed)
	if code != 1 || !strings.HasSuffix(out, "panels: 6 total, 6 ok, 0 degraded, 0 unsupported\n") {
		t.Errorf("missing file: exit %d, %q", code, out)
	}
	if code, _, _ := runCLI("dashboards", "import"); code != 2 {
		t.Errorf("no files: exit %d", code)
	}
}

// TestDashboardsImportBuiltinIntegrations runs the compatibility report on
// the built-in integration dashboards as files: every panel is ok.
func TestDashboardsImportBuiltinIntegrations(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "dashboard", "builtin", "integrations", "*.json"))
	if err != nil || len(files) < 7 {
		t.Fatalf("integration dashboards: %v %v", files, err)
	}
	code, out, errOut := runCLI(append([]string{"dashboards", "import", "--dry-run"}, files...)...)
	var total, ok, degraded, unsupported int
	if _, err := fmt.Sscanf(out, "panels: %d total, %d ok, %d degraded, %d unsupported\n", &total, &ok, &degraded, &unsupported); err != nil ||
		code != 0 || total < 7*10 || ok != total || degraded != 0 || unsupported != 0 {
		t.Errorf("exit %d (%v):\n%s%s", code, err, out, errOut)
	}
}

// TestDashboardsImportWhileServing imports into the data directory of a
// running server, which holds the state store open, and finds the
// dashboards through the server's API.
func TestDashboardsImportWhileServing(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "argus.yml")
	os.WriteFile(cfg, []byte("global: {scrape_interval: 1s}\ncollectors:\n  node: {enabled: false}\n"), 0o644)
	data := filepath.Join(dir, "data")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		code, _, errOut := runCLIContext(ctx, "server", "--config", cfg, "--data", data, "--listen", addr)
		if code != 0 {
			t.Errorf("argus server: exit %d: %s", code, errOut)
		}
		done <- code
	}()
	defer func() { cancel(); <-done }()
	url := waitForUp(t, "http://"+addr, "argus", func() string { return "" })
	seeds, _ := filepath.Glob(filepath.Join("..", "dashboard", "testdata", "seed", "*.json"))
	code, out, errOut := runCLI(append([]string{"dashboards", "import", "--data", data, "--config", cfg, "--folder", "Imported"}, seeds...)...)
	if code != 0 || !strings.HasSuffix(out, " 0 unsupported\n") {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	var hits []struct {
		Title, FolderTitle, Type string
		Provisioned              bool
	}
	resp, err := http.Get(url + "/api/search?type=dash-db")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&hits)
	resp.Body.Close()
	var imported, builtin int
	for _, h := range hits {
		switch {
		case h.FolderTitle == "Imported":
			imported++
		case h.FolderTitle == "argus" && h.Provisioned:
			builtin++
		}
	}
	if imported != 3 || builtin != 4 {
		t.Errorf("search: %d imported, %d built-in: %+v", imported, builtin, hits)
	}
	// The built-in source answers through the proxy from the local API.
	resp, err = http.Get(url + "/api/datasources/proxy/uid/argus/api/v1/query?query=up")
	if err != nil {
		t.Fatal(err)
	}
	var q struct{ Status string }
	json.NewDecoder(resp.Body).Decode(&q)
	resp.Body.Close()
	if q.Status != "success" {
		t.Errorf("proxy to the built-in source: %+v", q)
	}
}
