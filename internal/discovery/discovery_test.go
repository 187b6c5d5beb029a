package discovery

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/argus-mon/argus/internal/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// next waits for the provider's next update.
func next(t *testing.T, up <-chan []*Group) []*Group {
	t.Helper()
	select {
	case gs := <-up:
		return gs
	case <-time.After(5 * time.Second):
		t.Fatal("no update")
		return nil
	}
}

func addrs(gs []*Group) string {
	var out []string
	for _, g := range gs {
		for _, tl := range g.Targets {
			out = append(out, string(tl[model.AddressLabel]))
		}
	}
	return strings.Join(out, ",")
}

func run(t *testing.T, p Provider) <-chan []*Group {
	ctx, cancel := context.WithCancel(context.Background())
	up := make(chan []*Group)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx, up)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return up
}

func TestStatic(t *testing.T) {
	up := run(t, Static([]config.TargetGroup{{Targets: []string{"a:1", "b:2"}, Labels: model.LabelSet{"env": "x"}}}))
	gs := next(t, up)
	if addrs(gs) != "a:1,b:2" || gs[0].Labels["env"] != "x" {
		t.Fatalf("%+v", gs)
	}
}

func TestFileSD(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		tmp := filepath.Join(dir, "."+name+".tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Rename(tmp, filepath.Join(dir, name))
	}
	write("a.json", `[{"targets": ["a:1"], "labels": {"team": "x"}}]`)
	up := run(t, File(&config.FileSD{Files: []string{filepath.Join(dir, "*.json"), filepath.Join(dir, "*.yml")}, RefreshInterval: model.Duration(time.Hour)}, Options{Poll: 10 * time.Millisecond}))
	gs := next(t, up)
	if addrs(gs) != "a:1" || gs[0].Labels["team"] != "x" || gs[0].Labels[metaFilepath] != model.LabelValue(filepath.Join(dir, "a.json")) {
		t.Fatalf("%+v", gs)
	}
	// A new YAML file is picked up.
	write("b.yml", "- targets: [b:2]\n")
	if got := addrs(next(t, up)); got != "a:1,b:2" {
		t.Fatalf("after adding b.yml: %s", got)
	}
	// A broken file keeps its previous targets.
	write("a.json", `[{"targets": ["a:1"`)
	write("b.yml", "- targets: [b:3]\n")
	if got := addrs(next(t, up)); got != "a:1,b:3" {
		t.Fatalf("after breaking a.json: %s", got)
	}
	// A removed file's targets go away.
	os.Remove(filepath.Join(dir, "b.yml"))
	if got := addrs(next(t, up)); got != "a:1" {
		t.Fatalf("after removing b.yml: %s", got)
	}
}

func TestReadFileGroupsErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"bad.json":     `{"targets": []}`,
		"bad.yml":      "- targets: [a]\n  bogus: 1\n",
		"label.json":   `[{"targets": ["a:1"], "labels": {"": "x"}}]`,
		"empty.json":   `[{"targets": [""]}]`,
		"unknown.toml": `x`,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		if _, err := readFileGroups(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	p := filepath.Join(dir, "empty.yml")
	os.WriteFile(p, nil, 0o644)
	if gs, err := readFileGroups(p); err != nil || len(gs) != 0 {
		t.Fatalf("empty yaml: %v %v", gs, err)
	}
}

func TestHTTPSD(t *testing.T) {
	var mu sync.Mutex
	body := `[{"targets": ["h:1"], "labels": {"dc": "a"}}]`
	status := 200
	set := func(b string, s int) {
		mu.Lock()
		body, status = b, s
		mu.Unlock()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Prometheus-Refresh-Interval-Seconds") == "" {
			t.Error("refresh interval header missing")
		}
		mu.Lock()
		b, s := body, status
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s)
		fmt.Fprint(w, b)
	}))
	defer srv.Close()
	cfg := &config.HTTPSD{URL: srv.URL, RefreshInterval: model.Duration(50 * time.Millisecond)}
	up := run(t, HTTP(cfg, Options{}))
	gs := next(t, up)
	if addrs(gs) != "h:1" || gs[0].Labels["dc"] != "a" || gs[0].Labels[metaURL] != model.LabelValue(srv.URL) {
		t.Fatalf("%+v", gs)
	}
	set(`[{"targets": ["h:1", "h:2"]}]`, 200)
	if got := addrs(next(t, up)); got != "h:1,h:2" {
		t.Fatalf("after change: %s", got)
	}
	// Failures keep the last targets (no update is sent).
	set("", 500)
	select {
	case gs := <-up:
		t.Fatalf("update after a failed refresh: %+v", gs)
	case <-time.After(200 * time.Millisecond):
	}
}
