package loadgen

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// run collects steps scrapes: timestamps and values[step][series].
func run(t *testing.T, g *Generator, steps int) ([]int64, [][]float64) {
	t.Helper()
	ts := make([]int64, steps)
	vals := make([][]float64, steps)
	for i := range steps {
		ts[i], vals[i] = g.Next(nil)
	}
	return ts, vals
}

func mustNew(t *testing.T, opts Options) *Generator {
	t.Helper()
	g, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestTemplateSeries(t *testing.T) {
	t.Parallel()
	g := mustNew(t, Options{Targets: 3})
	tpl, err := parseTemplate(nodeExporterTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(g.Series()), 3*len(tpl.samples); got != want {
		t.Fatalf("series: got %d, want %d", got, want)
	}
	if len(tpl.samples) < 400 {
		t.Fatalf("template has only %d samples; is the capture truncated?", len(tpl.samples))
	}
	for i, s := range g.Series() {
		if i > 0 && labels.Compare(g.Series()[i-1], s) >= 0 {
			t.Fatalf("series not sorted at %d: %s >= %s", i, g.Series()[i-1], s)
		}
		if s.Get("job") != "node" || !strings.HasPrefix(s.Get("instance"), "host-") {
			t.Fatalf("missing target labels: %s", s)
		}
	}
}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	opts := Options{Targets: 2, Seed: 42, Interval: 5 * time.Second, Start: 1_700_000_000_000}
	ts1, v1 := run(t, mustNew(t, opts), 50)
	ts2, v2 := run(t, mustNew(t, opts), 50)
	for i := range ts1 {
		if ts1[i] != ts2[i] {
			t.Fatalf("step %d: timestamps differ: %d != %d", i, ts1[i], ts2[i])
		}
		for j := range v1[i] {
			if math.Float64bits(v1[i][j]) != math.Float64bits(v2[i][j]) {
				t.Fatalf("step %d series %d: %v != %v", i, j, v1[i][j], v2[i][j])
			}
		}
	}
	opts.Seed = 43
	_, v3 := run(t, mustNew(t, opts), 2)
	same := 0
	for j := range v3[1] {
		if v3[1][j] == v1[1][j] {
			same++
		}
	}
	if same == len(v3[1]) {
		t.Fatal("a different seed gave the same values")
	}
}

// TestEverySeriesChanges checks the storage worst case the generator exists
// for, monotonic counters, and the timestamp grid.
func TestEverySeriesChanges(t *testing.T) {
	t.Parallel()
	opts := Options{Targets: 2, Seed: 7, Start: 1_000}
	g := mustNew(t, opts)
	ts, vals := run(t, g, 200)
	tpl, _ := parseTemplate(nodeExporterTemplate)
	counters := 0
	for j, s := range g.Series() {
		name := s.Get(labels.MetricName)
		counter := isCounterLike(name, tpl.families[familyIndex(tpl, name)])
		if counter {
			counters++
		}
		for i := 1; i < len(vals); i++ {
			prev, cur := vals[i-1][j], vals[i][j]
			if math.Float64bits(prev) == math.Float64bits(cur) {
				t.Fatalf("%s unchanged at step %d: %v", s, i, cur)
			}
			if counter && cur < prev {
				t.Fatalf("counter %s decreased at step %d: %v -> %v", s, i, prev, cur)
			}
		}
	}
	if counters < 100 {
		t.Fatalf("only %d counters found", counters)
	}
	for i, tt := range ts {
		grid := opts.Start + int64(i)*DefaultInterval.Milliseconds()
		if d := tt - grid; d < -3 || d > 3 {
			t.Fatalf("step %d: timestamp %d is %d ms off the grid", i, tt, d)
		}
	}
}

func familyIndex(tpl *template, name string) int {
	for i, f := range tpl.families {
		if belongsTo(name, f) {
			return i
		}
	}
	return -1
}

// TestPrecision checks that values keep the decimal shape of the template:
// CPU seconds in hundredths, and disk seconds computed as ms × 0.001 with
// the binary noise that brings.
func TestPrecision(t *testing.T) {
	t.Parallel()
	g := mustNew(t, Options{Seed: 1})
	_, vals := run(t, g, 100)
	for j, s := range g.Series() {
		name := s.Get(labels.MetricName)
		for i := range vals {
			v := vals[i][j]
			switch name {
			case "node_cpu_seconds_total":
				if _, frac, _ := strings.Cut(strconv.FormatFloat(v, 'f', -1, 64), "."); len(frac) > 2 {
					t.Fatalf("%s = %v is not in hundredths", s, v)
				}
			case "node_disk_io_time_weighted_seconds_total":
				if ms := math.Round(v * 1000); ms*0.001 != v {
					t.Fatalf("%s = %v is not ms × 0.001", s, v)
				}
			case "node_memory_MemFree_bytes":
				if math.Mod(v, 4096) != 0 {
					t.Fatalf("%s = %v is not whole pages", s, v)
				}
			}
		}
	}
}

const histogramTemplate = `# TYPE req_seconds histogram
req_seconds_bucket{path="/a",le="0.1"} 10
req_seconds_bucket{path="/a",le="1"} 25
req_seconds_bucket{path="/a",le="+Inf"} 30
req_seconds_sum{path="/a"} 12.5
req_seconds_count{path="/a"} 30
req_seconds_bucket{path="/b",le="0.1"} 0
req_seconds_bucket{path="/b",le="1"} 0
req_seconds_bucket{path="/b",le="+Inf"} 0
req_seconds_sum{path="/b"} 0
req_seconds_count{path="/b"} 0
# TYPE up gauge
up 1
`

func TestHistogramBuckets(t *testing.T) {
	t.Parallel()
	g := mustNew(t, Options{Targets: 2, Seed: 3, Template: []byte(histogramTemplate)})
	_, vals := run(t, g, 100)
	for _, path := range []string{"/a", "/b"} {
		for _, inst := range []string{"host-0:9100", "host-1:9100"} {
			idx := func(name, le string) int {
				for j, s := range g.Series() {
					if s.Get(labels.MetricName) == name && s.Get("path") == path && s.Get("instance") == inst && s.Get("le") == le {
						return j
					}
				}
				t.Fatalf("no series %s %s %s", name, path, le)
				return -1
			}
			b1, b2, inf := idx("req_seconds_bucket", "0.1"), idx("req_seconds_bucket", "1.0"), idx("req_seconds_bucket", "+Inf")
			count := idx("req_seconds_count", "")
			for i, v := range vals {
				if v[b1] > v[b2] || v[b2] > v[inf] {
					t.Fatalf("step %d %s: buckets not cumulative: %v %v %v", i, path, v[b1], v[b2], v[inf])
				}
				if v[count] != v[inf] {
					t.Fatalf("step %d %s: count %v != +Inf bucket %v", i, path, v[count], v[inf])
				}
			}
		}
	}
}

// TestOpenMetrics parses the written file with Prometheus's own parser and
// checks it holds exactly what Next produces.
func TestOpenMetrics(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"node", Options{Targets: 2, Seed: 9, Start: 1_700_000_000_000, Interval: 5 * time.Second}},
		{"histogram", Options{Targets: 2, Seed: 9, Start: -50_000, Template: []byte(histogramTemplate)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const steps = 30
			w := mustNew(t, tc.opts)
			var buf bytes.Buffer
			if err := w.WriteOpenMetrics(&buf, steps); err != nil {
				t.Fatal(err)
			}
			ref := mustNew(t, tc.opts)
			ts, vals := run(t, ref, steps)
			want := map[string][]sample{}
			for j, s := range ref.Series() {
				for i := range ts {
					want[s.String()] = append(want[s.String()], sample{ts[i], vals[i][j]})
				}
			}
			got := parseOM(t, buf.Bytes())
			if len(got) != len(want) {
				t.Fatalf("got %d series, want %d", len(got), len(want))
			}
			for k, w := range want {
				g := got[k]
				if len(g) != len(w) {
					t.Fatalf("%s: got %d samples, want %d", k, len(g), len(w))
				}
				for i := range w {
					if g[i].t != w[i].t || math.Float64bits(g[i].v) != math.Float64bits(w[i].v) {
						t.Fatalf("%s sample %d: got %v, want %v", k, i, g[i], w[i])
					}
				}
			}
			// Writing must have advanced the generator like Next.
			t1, v1 := w.Next(nil)
			t2, v2 := ref.Next(nil)
			if t1 != t2 || v1[0] != v2[0] || v1[len(v1)-1] != v2[len(v2)-1] {
				t.Fatal("generator state after WriteOpenMetrics differs from after Next")
			}
		})
	}
}

type sample struct {
	t int64
	v float64
}

func parseOM(t *testing.T, b []byte) map[string][]sample {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("# EOF\n")) {
		t.Fatal("output does not end with # EOF")
	}
	p := textparse.NewOpenMetricsParser(b, labels.NewSymbolTable())
	out := map[string][]sample{}
	types := 0
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch e {
		case textparse.EntryType:
			types++
		case textparse.EntrySeries:
			_, ts, v := p.Series()
			if ts == nil {
				t.Fatal("sample without timestamp")
			}
			var lset labels.Labels
			p.Labels(&lset)
			k := lset.String()
			if s := out[k]; len(s) > 0 && s[len(s)-1].t >= *ts {
				t.Fatalf("%s: samples out of time order", k)
			}
			out[k] = append(out[k], sample{*ts, v})
		}
	}
	if types == 0 {
		t.Fatal("no # TYPE lines")
	}
	return out
}

func TestOMTimestamp(t *testing.T) {
	t.Parallel()
	check := func(ms int64) {
		t.Helper()
		b, err := appendOMTimestamp(nil, ms)
		if err != nil {
			t.Fatal(err)
		}
		s, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			t.Fatal(err)
		}
		// The conversion Prometheus's OpenMetrics parser does.
		if got := int64(s * 1000); got != ms {
			t.Fatalf("%d ms written as %s reads back as %d", ms, b, got)
		}
	}
	for ms := int64(-2000); ms < 2000; ms++ {
		check(ms)
	}
	for ms := int64(1_700_000_000_000); ms < 1_700_000_100_000; ms += 7 {
		check(ms)
	}
}

func TestDecompose(t *testing.T) {
	t.Parallel()
	f := func(v float64, wantExp int, wantMul bool) {
		t.Helper()
		m, d := decompose(v)
		if d.exp != wantExp || d.mul != wantMul {
			t.Fatalf("decompose(%v) = %d, %+v; want exp %d mul %v", v, m, d, wantExp, wantMul)
		}
		if got := d.value(m); got != v && math.Abs(v) < maxExactInt {
			t.Fatalf("decompose(%v) = %d × 10^%d gives back %v", v, m, d.exp, got)
		}
	}
	f(0, 0, false)
	f(330.86, -2, false)
	f(8.50555904e+08, 0, false)
	f(0.23800000000000002, -3, true)
	f(12.104000000000001, -3, true)
	f(7.3589e-05, -9, false)
	f(-125000, 0, false)
	f(1.8446744073709552e+19, 5, false)
}

func TestOptionErrors(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]Options{
		"negative targets":   {Targets: -1},
		"sub-ms interval":    {Interval: 1500 * time.Microsecond},
		"jitter > interval":  {Interval: time.Second, Jitter: time.Second},
		"empty template":     {Template: []byte("# nothing\n")},
		"malformed template": {Template: []byte("foo{ 1\n")},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
