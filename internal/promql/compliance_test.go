package promql

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"text/template"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"
	"gopkg.in/yaml.v3"
)

// The compliance tests run the query set of the PromQL compliance tester
// (github.com/prometheus/compliance, promql/promql-test-queries.yml, copied
// to testdata/compliance) on both engines over the same synthetic "demo
// service" data, and require the same answers (see diffQuery).

// complianceVariants is the tester's value table for template variables
// (promql/testcases/expand.go), which the query file does not contain.
var complianceVariants = map[string][]string{
	"range":                {"1s", "15s", "1m", "5m", "15m", "1h"},
	"offset":               {"1m", "5m", "10m"},
	"simpleAggrOp":         {"sum", "avg", "max", "min", "count", "stddev", "stdvar"},
	"simpleTimeAggrOp":     {"sum", "avg", "max", "min", "count", "stddev", "stdvar", "absent", "last"},
	"topBottomOp":          {"topk", "bottomk"},
	"quantile":             {"-0.5", "0.1", "0.5", "0.75", "0.95", "0.90", "0.99", "1", "1.5"},
	"arithBinOp":           {"+", "-", "*", "/", "%", "^"},
	"compBinOp":            {"==", "!=", "<", ">", "<=", ">="},
	"binOp":                {"+", "-", "*", "/", "%", "^", "==", "!=", "<", ">", "<=", ">="},
	"simpleMathFunc":       {"abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "round"},
	"extrapolatedRateFunc": {"delta", "rate", "increase"},
	"clampFunc":            {"clamp_min", "clamp_max"},
	"instantRateFunc":      {"idelta", "irate"},
	"dateFunc":             {"day_of_month", "day_of_week", "days_in_month", "hour", "minute", "month", "year"},
	"smoothingFactor":      {"0.1", "0.5", "0.8"},
	"trendFactor":          {"0.1", "0.5", "0.8"},
}

// complianceCase is one expanded query of the compliance tester.
type complianceCase struct {
	query      string
	shouldFail bool
}

// loadComplianceQueries reads and expands the tester's query file: a case
// with several variant_args expands to the cross product of their values,
// the first argument varying slowest, as the tester does.
func loadComplianceQueries(t testing.TB) []complianceCase {
	raw, err := os.ReadFile(filepath.Join("testdata", "compliance", "promql-test-queries.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		TestCases []struct {
			Query          string   `yaml:"query"`
			VariantArgs    []string `yaml:"variant_args"`
			SkipComparison bool     `yaml:"skip_comparison"`
			ShouldFail     bool     `yaml:"should_fail"`
		} `yaml:"test_cases"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatalf("parse query file: %v", err)
	}
	var out []complianceCase
	for _, tc := range file.TestCases {
		tmpl, err := template.New("q").Option("missingkey=error").Parse(tc.Query)
		if err != nil {
			t.Fatalf("query template %q: %v", tc.Query, err)
		}
		var expand func(args []string, vals map[string]string)
		expand = func(args []string, vals map[string]string) {
			if len(args) == 0 {
				var b bytes.Buffer
				if err := tmpl.Execute(&b, vals); err != nil {
					t.Fatalf("expand %q: %v", tc.Query, err)
				}
				out = append(out, complianceCase{query: b.String(), shouldFail: tc.ShouldFail})
				return
			}
			values, ok := complianceVariants[args[0]]
			if !ok {
				t.Fatalf("query %q: unknown variant arg %q", tc.Query, args[0])
			}
			for _, v := range values {
				vals[args[0]] = v
				expand(args[1:], vals)
			}
		}
		expand(tc.VariantArgs, map[string]string{})
	}
	return out
}

// demoStart is when the synthetic demo data begins, in milliseconds:
// 2024-03-14T07:41:17.390Z, an ordinary working day, so date functions see
// non-trivial values, and not on a round second.
const demoStart int64 = 1710402077390

// demoDuration is how much demo data there is: the tester's queries look
// at most 1h25m (range, offset, lookback) before the start of their range,
// which ends 12 minutes before the data does.
const demoDuration = 100 * time.Minute

// demoTarget is one scraped demo service instance.
type demoTarget struct {
	instance string
	// phase is the offset of its scrapes within the 5s interval.
	phase int64
	cpus  float64
	// restartAt, if not zero, is when the instance restarts: its scrapes
	// fail for downFor, then its counters start again from zero.
	restartAt, downFor int64
}

// demoAPIRoutes are the label sets of demo_api_request_duration_seconds
// with the request rate per second and the median latency of each.
var demoAPIRoutes = []struct {
	method, path, status string
	rate, median         float64
}{
	{"GET", "/api/foo", "200", 8, 0.012},
	{"POST", "/api/foo", "200", 2, 0.035},
	{"GET", "/api/bar", "200", 5, 0.004},
	{"POST", "/api/bar", "500", 0.3, 0.25},
	{"GET", "/api/nonexistent", "404", 1, 0.0008},
}

// demoBuckets are the demo service's histogram buckets:
// prometheus.ExponentialBuckets(0.0001, 1.5, 25).
func demoBuckets() []float64 {
	b := make([]float64, 25)
	for i := range b {
		b[i] = 0.0001 * math.Pow(1.5, float64(i))
	}
	return b
}

// demoSeries holds the state of one synthetic series between scrapes.
type demoSeries struct {
	lbls labels.Labels
	ref  storage.SeriesRef
	// counter is the value of a counter, which add* methods increase.
	counter float64
	// scraped is the timestamp of the series' last sample.
	scraped int64
	// stale is set when no sample was written since the last stale marker
	// (or ever).
	stale bool
}

// demoScraper appends one target's samples as Prometheus's scrape loop
// would: a value per series per scrape, stale markers for series that
// disappear or when the target goes down.
type demoScraper struct {
	t      testing.TB
	app    storage.AppenderV2
	base   []string
	series []*demoSeries
	// now is the timestamp of the current scrape.
	now int64
}

// newSeries returns a series of the target named name with the extra labels kv.
func (s *demoScraper) newSeries(name string, kv ...string) *demoSeries {
	lset := append(append([]string{"__name__", name}, s.base...), kv...)
	ds := &demoSeries{lbls: labels.FromStrings(lset...), stale: true}
	s.series = append(s.series, ds)
	return ds
}

// set writes v as ds's sample of the current scrape.
func (s *demoScraper) set(ds *demoSeries, v float64) {
	ref, err := s.app.Append(ds.ref, ds.lbls, 0, s.now, v, nil, nil, storage.AppendV2Options{})
	if err != nil {
		s.t.Fatalf("append %v: %v", ds.lbls, err)
	}
	ds.ref, ds.scraped, ds.stale = ref, s.now, false
}

// inc increases the counter ds by d and writes it.
func (s *demoScraper) inc(ds *demoSeries, d float64) {
	ds.counter += d
	s.set(ds, ds.counter)
}

// endScrape writes stale markers for the series not in this scrape.
func (s *demoScraper) endScrape() {
	for _, ds := range s.series {
		if ds.scraped != s.now && !ds.stale {
			if _, err := s.app.Append(ds.ref, ds.lbls, 0, s.now, math.Float64frombits(value.StaleNaN), nil, nil, storage.AppendV2Options{}); err != nil {
				s.t.Fatal(err)
			}
			ds.stale = true
		}
	}
}

// loadDemoData appends the demo service's metrics, scraped every 5s from
// three instances for demoDuration, to each of the storages.
func loadDemoData(t testing.TB, stores ...storage.Storage) {
	targets := []demoTarget{
		{instance: "demo.promlabs.com:10000", phase: 1234, cpus: 4},
		{instance: "demo.promlabs.com:10001", phase: 2871, cpus: 4, restartAt: demoStart + (70*time.Minute + 7*time.Second).Milliseconds(), downFor: 25000},
		{instance: "demo.promlabs.com:10002", phase: 4412, cpus: 8},
	}
	for _, st := range stores {
		for i, tg := range targets {
			app := st.AppenderV2(context.Background())
			scrapeDemoTarget(t, app, tg, uint64(i))
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// demoAPISeries are the series of demo_api_request_duration_seconds for one route.
type demoAPISeries struct {
	buckets    []*demoSeries // one per demoBuckets, then +Inf
	sum, count *demoSeries
}

// scrapeDemoTarget simulates the scrapes of one target. The values follow
// the shapes of the real demo service: counters that only grow (until a
// restart), gauges that drift, a histogram fed by log-normal latencies, a
// batch job that succeeds most of the time and a metric that comes and goes.
func scrapeDemoTarget(t testing.TB, app storage.AppenderV2, tg demoTarget, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0xdeadbeef))
	s := &demoScraper{t: t, app: app, base: []string{"instance", tg.instance, "job", "demo"}}
	bounds := demoBuckets()
	var (
		up           = s.newSeries("up")
		numCPUs      = s.newSeries("demo_num_cpus")
		cpuUser      = s.newSeries("demo_cpu_usage_seconds_total", "mode", "user")
		cpuSystem    = s.newSeries("demo_cpu_usage_seconds_total", "mode", "system")
		cpuIdle      = s.newSeries("demo_cpu_usage_seconds_total", "mode", "idle")
		memUsed      = s.newSeries("demo_memory_usage_bytes", "type", "used")
		memBuffers   = s.newSeries("demo_memory_usage_bytes", "type", "buffers")
		memCached    = s.newSeries("demo_memory_usage_bytes", "type", "cached")
		memFree      = s.newSeries("demo_memory_usage_bytes", "type", "free")
		diskUsage    = s.newSeries("demo_disk_usage_bytes")
		diskTotal    = s.newSeries("demo_disk_total_bytes")
		shipped      = s.newSeries("demo_items_shipped_total")
		batchSuccess = s.newSeries("demo_batch_last_success_timestamp_seconds")
		batchBytes   = s.newSeries("demo_batch_last_run_processed_bytes")
		intermittent = s.newSeries("demo_intermittent_metric")
		api          = make([]demoAPISeries, len(demoAPIRoutes))
	)
	for i, r := range demoAPIRoutes {
		kv := []string{"method", r.method, "path", r.path, "status", r.status}
		for _, b := range bounds {
			api[i].buckets = append(api[i].buckets, s.newSeries("demo_api_request_duration_seconds_bucket", append(kv, "le", labels.FormatOpenMetricsFloat(b))...))
		}
		api[i].buckets = append(api[i].buckets, s.newSeries("demo_api_request_duration_seconds_bucket", append(kv, "le", "+Inf")...))
		api[i].sum = s.newSeries("demo_api_request_duration_seconds_sum", kv...)
		api[i].count = s.newSeries("demo_api_request_duration_seconds_count", kv...)
	}
	var (
		lastSuccess = float64(demoStart)/1000 - 97.25
		processed   = 2.5e6
		disk        = 3.1e10 + float64(seed)*1e9
		showMetric  = true
		counts      = make([]float64, len(bounds)+1)
	)
	end := demoStart + demoDuration.Milliseconds()
	for ts := demoStart + tg.phase; ts < end; ts += 5000 {
		// Scrape timestamps are usually exact multiples of the interval, but
		// sometimes a few milliseconds late, and now and then a scrape is lost.
		s.now = ts
		if rng.IntN(40) == 0 {
			s.now += 1 + rng.Int64N(9)
		}
		if rng.IntN(400) == 0 {
			continue
		}
		if tg.restartAt != 0 && ts >= tg.restartAt && ts < tg.restartAt+tg.downFor {
			// A failed scrape: only up is written, the target's other series
			// get stale markers, and the restarted process counts from zero.
			s.set(up, 0)
			s.endScrape()
			for _, ds := range s.series {
				ds.counter = 0
			}
			continue
		}
		elapsed := float64(s.now-demoStart) / 1000
		s.set(up, 1)
		s.set(numCPUs, tg.cpus)

		// CPU time: about 5s per CPU per scrape, split across modes.
		busy := 0.35 + 0.25*math.Sin(elapsed/1800+float64(seed)) + 0.05*rng.Float64()
		s.inc(cpuUser, 5*tg.cpus*busy*0.7)
		s.inc(cpuSystem, 5*tg.cpus*busy*0.3)
		s.inc(cpuIdle, 5*tg.cpus*(1-busy))

		// Memory: 8GiB split between used, free, buffers and cached, with
		// integer byte counts as a real process reports them.
		total := 8 * float64(1<<30)
		used := math.Round(total * (0.4 + 0.1*math.Sin(elapsed/600) + 0.01*rng.NormFloat64()))
		buffers := math.Round(total * (0.05 + 0.005*rng.Float64()))
		cached := math.Round(total * (0.2 + 0.05*math.Cos(elapsed/900)))
		s.set(memUsed, used)
		s.set(memBuffers, buffers)
		s.set(memCached, cached)
		s.set(memFree, total-used-buffers-cached)

		// Disk: grows steadily, a cleanup now and then.
		disk += 2e5 + 1e5*rng.Float64()
		if rng.IntN(700) == 0 {
			disk *= 0.6
		}
		s.set(diskUsage, math.Round(disk))
		s.set(diskTotal, 1e11)

		// API requests: per route, a Poisson-ish count of log-normal latencies.
		for i, r := range demoAPIRoutes {
			n := max(0, int(r.rate*5+rng.NormFloat64()*math.Sqrt(r.rate*5)+0.5))
			clear(counts)
			var sum float64
			for range n {
				d := r.median * math.Exp(0.6*rng.NormFloat64())
				sum += d
				counts[sort.SearchFloat64s(bounds, d)]++
			}
			cum := 0.0
			for j, c := range counts {
				cum += c
				s.inc(api[i].buckets[j], cum)
			}
			s.inc(api[i].sum, sum)
			s.inc(api[i].count, float64(n))
		}
		s.inc(shipped, float64(rng.IntN(4)))

		// The batch job runs every 5 minutes and fails one time in five.
		if int64(elapsed)%300 < 5 && rng.IntN(5) != 0 {
			lastSuccess = float64(s.now) / 1000
			processed = 2e6 + 1e6*rng.Float64()
		}
		s.set(batchSuccess, lastSuccess)
		s.set(batchBytes, math.Round(processed))

		// demo_intermittent_metric is exposed for a few minutes, then not.
		if rng.IntN(30) == 0 {
			showMetric = !showMetric
		}
		if showMetric {
			s.set(intermittent, 42+float64(seed))
		}
		s.endScrape()
	}
}

// complianceRun is one way of running the compliance queries: the tester's
// usual one (the 10 minutes before 12 minutes ago, at a 10s resolution),
// or odd start times and steps.
type complianceRun struct {
	name       string
	start, end time.Time
	step       time.Duration
}

func complianceRuns() []complianceRun {
	end := time.UnixMilli(demoStart).Add(demoDuration - 12*time.Minute).Add(437 * time.Millisecond)
	first := time.UnixMilli(demoStart)
	return []complianceRun{
		{"usual", end.Add(-10 * time.Minute), end, 10 * time.Second},
		// Starts before the data, crosses its beginning, and steps oddly.
		{"odd", first.Add(-4*time.Minute - 321*time.Millisecond), first.Add(43 * time.Minute), 17*time.Second + 300*time.Millisecond},
		// Around the restart of one instance, stepping faster than the scrapes.
		{"restart", first.Add(67*time.Minute + 1*time.Millisecond), first.Add(74 * time.Minute), 3*time.Second + 700*time.Millisecond},
		// An instant query at an odd time.
		{"instant", first.Add(time.Hour + 33*time.Minute + 47*time.Second + 123*time.Millisecond), time.Time{}, 0},
	}
}

// complianceExclusions are compliance queries not compared, with the reason.
// Each must be a case where upstream itself gives no stable answer; there
// are none so far.
var complianceExclusions = map[string]string{}

// outdatedShouldFail are should_fail queries that Prometheus 3 accepts: the
// query file predates UTF-8 label names, so "~invalid" is now a valid name.
// Both engines must still agree on them.
var outdatedShouldFail = map[string]string{
	`label_replace(demo_num_cpus, "~invalid", "", "src", "(.*)")`: "any UTF-8 string is a valid label name since Prometheus 3.0",
	`label_join(demo_num_cpus, "~invalid", "-", "instance")`:      "any UTF-8 string is a valid label name since Prometheus 3.0",
}

var complianceFull = flag.Bool("compliance.full", false, "run every compliance query in every run and storage, even under -race or -short")

// TestComplianceQueries compares the engine with upstream's on the
// compliance tester's queries over the demo data: upstream's engine reads
// upstream's test storage, argus's engine reads the same storage, then
// argus's own. Under -race or -short, only the tester's usual run is
// complete, the other runs get a sample of the queries and argus's storage
// is left out (-compliance.full runs everything).
func TestComplianceQueries(t *testing.T) {
	sample := (raceEnabled || testing.Short()) && !*complianceFull
	ref := teststorage.New(t)
	defer ref.Close()
	stores := []storage.Storage{ref}
	var ours storage.Storage
	if !sample {
		// Loading a second storage costs more than its sample of queries
		// under the race detector, so argus's storage is compared in
		// ordinary runs only.
		ours = newArgusStorage(t)
		defer ours.Close()
		stores = append(stores, ours)
	}
	loadDemoData(t, stores...)
	cases := loadComplianceQueries(t)
	if len(cases) != 539 {
		t.Fatalf("expanded %d queries, the tester has 539", len(cases))
	}
	t.Run("upstream-storage", func(t *testing.T) {
		for i, run := range complianceRuns() {
			stride := 1
			if sample && run.name != "usual" {
				stride = 10
			}
			t.Run(run.name, func(t *testing.T) {
				t.Parallel()
				runComplianceQueries(t, run, cases, i, stride, ref, ref)
			})
		}
	})
	t.Run("argus-storage", func(t *testing.T) {
		if ours == nil {
			t.Skip("under -race or -short; -compliance.full runs it")
		}
		for i, run := range complianceRuns() {
			stride := 1
			t.Run(run.name, func(t *testing.T) {
				t.Parallel()
				runComplianceQueries(t, run, cases, i, stride, ref, ours)
			})
		}
	})
}

// runComplianceQueries runs every stride-th case, starting at the offset-th
// modulo stride, on both engines and compares their answers.
func runComplianceQueries(t *testing.T, run complianceRun, cases []complianceCase, offset, stride int, ref, ours storage.Storage) {
	oursNg := upstreamEngine{newTestEngine(false)}
	theirs := newUpstreamEngine(false)
	failures, compared, answered := 0, 0, 0
	defer func() {
		// Most queries select data at every run's time: a run comparing
		// mostly empty answers would prove little.
		t.Logf("%d queries compared, %d with a non-empty answer", compared, answered)
		if answered < compared*3/4 {
			t.Errorf("only %d of %d queries have a non-empty answer", answered, compared)
		}
	}()
	for i, c := range cases {
		if i%stride != offset%stride {
			continue
		}
		compared++
		if reason, ok := complianceExclusions[c.query]; ok {
			t.Logf("not compared: %s: %s", c.query, reason)
			continue
		}
		end := run.end
		if run.step == 0 {
			end = run.start
		}
		ok, err := diffQueryStorages(oursNg, theirs, ours, ref, c.query, run.start, end, run.step)
		if ok {
			answered++
		}
		if _, outdated := outdatedShouldFail[c.query]; err == nil && c.shouldFail && !outdated {
			err = checkFails(theirs, ref, c.query, run.start, end, run.step)
		}
		if err != nil {
			failures++
			t.Errorf("%s: %v", c.query, err)
			if failures > 20 {
				t.Fatal("too many differences")
			}
		}
	}
}

// checkFails returns an error unless upstream fails q, as the tester
// expects of should_fail queries (both engines agree on it already).
func checkFails(ng upstream.QueryEngine, st storage.Storage, q string, start, end time.Time, step time.Duration) error {
	ctx := context.Background()
	qry, err := newQuery(ctx, ng, st, nil, q, start, end, step)
	if err != nil {
		return nil
	}
	defer qry.Close()
	if qry.Exec(ctx).Err == nil {
		return fmt.Errorf("should fail, but both engines succeed")
	}
	return nil
}
