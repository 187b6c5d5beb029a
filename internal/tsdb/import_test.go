package tsdb

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-mon/argus/internal/loadgen"
)

func TestImportOpenMetrics(t *testing.T) {
	gen, err := loadgen.New(loadgen.Options{Targets: 1, Seed: 7, Interval: 15 * time.Second, Start: 1_700_000_000_000})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	const steps = 600 // 2.5h at 15s: spans two or three 2h blocks
	if err := gen.WriteOpenMetrics(&buf, steps); err != nil {
		t.Fatal(err)
	}
	// The same generator again gives the expected samples.
	gen, _ = loadgen.New(loadgen.Options{Targets: 1, Seed: 7, Interval: 15 * time.Second, Start: 1_700_000_000_000})
	want := map[string][]sample{}
	var vals []float64
	for range steps {
		var ts int64
		ts, vals = gen.Next(vals[:0])
		for i, lset := range gen.Series() {
			// OpenMetrics carries seconds with millisecond precision.
			want[lset.String()] = append(want[lset.String()], sample{ts, vals[i]})
		}
	}

	dir := t.TempDir()
	res, err := ImportOpenMetrics(context.Background(), buf.Bytes(), dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Samples != steps*len(gen.Series()) || len(res.Blocks) < 2 {
		t.Fatalf("imported %d samples in %d blocks", res.Samples, len(res.Blocks))
	}
	db := openTestDB(t, dir, testOptions())
	defer db.Close()
	got := query(t, db, math.MinInt64, math.MaxInt64)
	if !equalSeries(got, want) {
		for k, v := range want {
			if g := got[k]; len(g) != len(v) {
				t.Errorf("%s: %d samples, want %d", k, len(g), len(v))
				break
			}
		}
		diffSeries(t, got, want)
		t.Fatalf("imported data differs: %d series, want %d", len(got), len(want))
	}
}

func TestImportBadInput(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"no timestamp", "# TYPE a gauge\na 1 1000\na 2\n# EOF\n", "line 3: sample of a has no timestamp"},
		{"bad label", "# TYPE a gauge\na 1 1000\na 1 1001\na{b=\"x} 2 1002\n# EOF\n", "line 4:"},
		{"blank line", "# TYPE a gauge\na 1 1000\n\na 2 1001\n# EOF\n", "line 3:"},
		{"missing EOF", "# TYPE a gauge\na 1 1000\na 2 1001\n", "line 4:"},
		{"time goes back", "# TYPE a gauge\na 1 1000\na 2 999\n# EOF\n", "line 3: sample of a at 999000 is not after"},
		{"empty", "# EOF\n", "no samples"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := ImportOpenMetrics(context.Background(), []byte(c.in), dir, 0)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			entries, _ := os.ReadDir(filepath.Join(dir, blocksDir))
			if len(entries) != 0 {
				t.Fatalf("failed import left %d entries in blocks/", len(entries))
			}
		})
	}
}

func TestInterruptedImportIsAllOrNothing(t *testing.T) {
	in := []byte("# TYPE a gauge\na 1 1000\na 2 10000\na 3 20000\n# EOF\n")
	for _, complete := range []bool{false, true} {
		dir := t.TempDir()
		blocks := filepath.Join(dir, blocksDir)
		os.MkdirAll(blocks, 0o755)
		stage := filepath.Join(blocks, newULID(time.Now())+importStageSuffix)
		os.Mkdir(stage, 0o755)
		series, err := parseOpenMetrics(context.Background(), in, &ImportResult{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := writeImportBlocks(context.Background(), stage, series, (2 * time.Hour).Milliseconds()); err != nil {
			t.Fatal(err)
		}
		if complete {
			os.WriteFile(filepath.Join(stage, importCompleteTag), nil, 0o644)
		}
		// A crash here; the next open finishes or discards the import.
		db := openTestDB(t, dir, testOptions())
		got := query(t, db, math.MinInt64, math.MaxInt64)
		db.Close()
		n := len(got[labels.FromStrings("__name__", "a").String()])
		if complete && n != 3 || !complete && n != 0 {
			t.Fatalf("complete=%v: %d samples visible", complete, n)
		}
		if _, err := os.Stat(stage); !os.IsNotExist(err) {
			t.Fatalf("stage directory left behind: %v", err)
		}
	}
}

func diffSeries(t *testing.T, got, want map[string][]sample) {
	t.Helper()
	n := 0
	for k, w := range want {
		g := got[k]
		for i := range min(len(g), len(w)) {
			if g[i].t != w[i].t || math.Float64bits(g[i].v) != math.Float64bits(w[i].v) {
				t.Errorf("%s sample %d: got %v want %v", k, i, g[i], w[i])
				n++
				break
			}
		}
		if n > 5 {
			return
		}
	}
}
