package dashboard

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzImport feeds arbitrary JSON through the import and migration path:
// it must not panic, and what it accepts must be JSON that imports again
// to the same report.
func FuzzImport(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/seed/[gn][rg]*.json")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"schemaVersion": 12, "rows": [{"collapse": true, "height": "x", "panels": [{"type": "graph", "span": -3, "seriesOverrides": [{"alias": "/"}]}]}]}`))
	f.Add([]byte(`{"__inputs": [{"name": "", "type": "datasource"}], "panels": [{"type": "singlestat", "thresholds": [1, "a"], "gauge": {"show": 1}}]}`))
	f.Add([]byte(`{"panels": [{"type": "table", "styles": [{"pattern": "/x", "colorMode": "row"}], "fieldConfig": null}, null, 3]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, rep, err := Import(data, Options{DataSources: testSources})
		if err != nil {
			return
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("migrated dashboard does not marshal: %v", err)
		}
		_, rep2, err := Import(out, Options{DataSources: testSources})
		if err != nil {
			t.Fatalf("migrated dashboard does not import again: %v\n%s", err, out)
		}
		if rep2.Summary.Total != rep.Summary.Total || rep2.Summary.Unsupported != rep.Summary.Unsupported {
			t.Fatalf("report changed on re-import: %v then %v\n%s", rep.Summary, rep2.Summary, out)
		}
	})
}
