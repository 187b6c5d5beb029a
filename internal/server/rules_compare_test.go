package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRulesAPIMatchesPrometheus runs Debian's Prometheus and argus with the
// same config and rule file, scraping the same target, and compares their
// /api/v1/rules and /api/v1/alerts: the same JSON shape (keys and types at
// every level) and the same rules, states, health, labels, annotations and
// values. Times and durations differ by nature and are not compared.
func TestRulesAPIMatchesPrometheus(t *testing.T) {
	dir := t.TempDir()
	var value atomic.Int64
	value.Store(2)
	cfg := rulesSetup(t, dir, &value, "")
	// A rule that fails the same way in both: its lastError is compared.
	os.WriteFile(filepath.Join(dir, "bad.rules.yml"), []byte(`groups:
- name: bad
  interval: 200ms
  rules:
  - record: dup
    expr: app_errors or label_replace(app_errors, "job", "other", "", "")
    labels: {job: x}
`), 0o644)
	// Prometheus rejects argus's collectors section; the rest is shared.
	b, _ := os.ReadFile(cfg)
	promCfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(promCfg, []byte(strings.Split(string(b), "collectors:")[0]), 0o644)

	prom := "http://" + startPeer(t, "prometheus", func(addr, pdir string) []string {
		return []string{"--config.file=" + promCfg, "--storage.tsdb.path=" + filepath.Join(pdir, "data"), "--web.listen-address=" + addr}
	})
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfg})

	fetch := func(base, path string) map[string]any {
		resp, err := http.Get(base + path)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}
	firing := func(base string) bool {
		m := fetch(base, "/api/v1/alerts")
		return m != nil && strings.Contains(fmt.Sprint(m), "state:firing")
	}
	waitUntil(t, "alert firing in Prometheus and argus", func() bool { return firing(prom) && firing(r.base) })
	failed := func(base string) bool {
		return strings.Contains(fmt.Sprint(fetch(base, "/api/v1/rules")), "health:err")
	}
	waitUntil(t, "failing rule evaluated in Prometheus and argus", func() bool { return failed(prom) && failed(r.base) })

	for _, path := range []string{"/api/v1/rules", "/api/v1/alerts", "/api/v1/rules?type=alert", "/api/v1/rules?type=record&exclude_alerts=true"} {
		want, got := fetch(prom, path), fetch(r.base, path)
		// Prometheus 3 (and argus) always write a recording rule's labels;
		// Debian's Prometheus 2.42 leaves them out when empty.
		addEmptyLabels(want)
		// Prometheus 3 (and argus) leave out groups a filter empties;
		// 2.42 lists them with no rules.
		dropEmptyGroups(want)
		if ws, gs := shape(want), shape(got); ws != gs {
			t.Errorf("%s: shapes differ\nargus:      %s\nprometheus: %s", path, gs, ws)
		}
		if wv, gv := comparable(want), comparable(got); !reflect.DeepEqual(wv, gv) {
			t.Errorf("%s: values differ\nargus:      %v\nprometheus: %v", path, gv, wv)
		}
	}
}

func dropEmptyGroups(answer map[string]any) {
	data, _ := answer["data"].(map[string]any)
	groups, ok := data["groups"].([]any)
	if !ok {
		return
	}
	kept := []any{}
	for _, g := range groups {
		if rs, _ := g.(map[string]any)["rules"].([]any); len(rs) > 0 {
			kept = append(kept, g)
		}
	}
	data["groups"] = kept
}

// addEmptyLabels adds "labels": {} to rules that lack it.
func addEmptyLabels(v any) {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["labels"]; !ok && v["type"] == "recording" {
			v["labels"] = map[string]any{}
		}
		for _, x := range v {
			addEmptyLabels(x)
		}
	case []any:
		for _, x := range v {
			addEmptyLabels(x)
		}
	}
}

// shape renders the JSON structure of v: object keys with the shapes of
// their values, arrays by their first element, and scalar types.
func shape(v any) string {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			// Label and annotation maps have data as keys.
			if k == "labels" || k == "annotations" {
				parts[i] = k + ":map"
				continue
			}
			parts[i] = k + ":" + shape(v[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		if len(v) == 0 {
			return "[]"
		}
		return "[" + shape(v[0]) + "]"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// timingKeys vary between any two servers.
var timingKeys = map[string]bool{"evaluationTime": true, "lastEvaluation": true, "activeAt": true, "file": true}

// comparable drops the timing keys of an answer.
func comparable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if !timingKeys[k] {
				out[k] = comparable(x)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = comparable(x)
		}
		return out
	}
	return v
}
