package scrape

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"
	"go.uber.org/goleak"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/discovery"
	"github.com/argus-mon/argus/internal/tsdb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a manager scraping into a real storage.
type env struct {
	t      *testing.T
	db     *tsdb.DB
	mgr    *Manager
	cancel context.CancelFunc
	done   chan struct{}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db, err := tsdb.Open(context.Background(), t.TempDir(), tsdb.Options{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	mgr := NewManager(Options{
		NewAppender: func() Appender { return db.Appender() },
		Discovery:   discovery.Options{Poll: 20 * time.Millisecond},
	})
	ctx, cancel := context.WithCancel(context.Background())
	e := &env{t: t, db: db, mgr: mgr, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		mgr.Run(ctx)
	}()
	t.Cleanup(func() {
		e.cancel()
		<-e.done
		db.Close()
	})
	return e
}

// jobs parses scrape_configs YAML (global defaults applied) into jobs.
func jobs(t *testing.T, yml string) []*config.Scrape {
	t.Helper()
	c, err := config.Parse([]byte(yml), "test.yml")
	if err != nil {
		t.Fatal(err)
	}
	return c.ScrapeConfigs
}

func (e *env) apply(yml string) {
	e.t.Helper()
	if err := e.mgr.ApplyConfig(jobs(e.t, yml), nil); err != nil {
		e.t.Fatal(err)
	}
}

type sample struct {
	t int64
	v float64
}

// series returns every stored series matching the selector parts as labels
// string → samples.
func (e *env) series(ms ...*labels.Matcher) map[string][]sample {
	e.t.Helper()
	q, err := e.db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		e.t.Fatal(err)
	}
	defer q.Close()
	if len(ms) == 0 {
		ms = []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")}
	}
	out := map[string][]sample{}
	ss := q.Select(context.Background(), true, nil, ms...)
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() == upstream.ValFloat {
			t, v := it.At()
			out[ss.At().Labels().String()] = append(out[ss.At().Labels().String()], sample{t, v})
		}
	}
	if err := ss.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func eq(name, value string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchEqual, name, value)
}

// waitFor polls cond until it holds or the test times out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// exporter is a real HTTP target whose exposition the test can change.
type exporter struct {
	*httptest.Server
	mu       sync.Mutex
	body     string
	ctype    string
	status   int
	delay    time.Duration
	requests atomic.Int64
	lastReq  atomic.Pointer[http.Request]
}

func newExporter(t *testing.T, body string) *exporter {
	x := &exporter{body: body, ctype: "text/plain; version=0.0.4", status: 200}
	x.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x.requests.Add(1)
		x.lastReq.Store(r)
		x.mu.Lock()
		body, ctype, status, delay := x.body, x.ctype, x.status, x.delay
		x.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(x.Close)
	return x
}

func (x *exporter) set(body string) {
	x.mu.Lock()
	x.body = body
	x.mu.Unlock()
}

func (x *exporter) addr() string { return strings.TrimPrefix(x.URL, "http://") }

func isStale(v float64) bool { return value.IsStaleNaN(v) }

func last(s []sample) sample {
	if len(s) == 0 {
		return sample{v: math.NaN()}
	}
	return s[len(s)-1]
}

func TestScrapeTargetAndReportSeries(t *testing.T) {
	x := newExporter(t, "# HELP temp Temperature.\n# TYPE temp gauge\ntemp{room=\"a\"} 21.5\ntemp{room=\"b\"} 19\nevents_total 7\n")
	e := newEnv(t)
	e.apply(fmt.Sprintf(`
scrape_configs:
  - job_name: web
    scrape_interval: 100ms
    scrape_timeout: 90ms
    params: {format: [text]}
    static_configs:
      - targets: [%q]
        labels: {env: test}
`, x.addr()))
	waitFor(t, "three scrapes", func() bool {
		return len(e.series(eq("__name__", "up"))[fmt.Sprintf(`{__name__="up", env="test", instance=%q, job="web"}`, x.addr())]) >= 3
	})
	got := e.series(eq("__name__", "temp"))
	key := fmt.Sprintf(`{__name__="temp", env="test", instance=%q, job="web", room="a"}`, x.addr())
	if s := got[key]; len(s) < 3 || last(s).v != 21.5 {
		t.Fatalf("temp room a: %v (all: %v)", s, got)
	}
	up := e.series(eq("__name__", "up"))
	for _, s := range up {
		if last(s).v != 1 {
			t.Fatalf("up = %v", s)
		}
	}
	scraped := e.series(eq("__name__", "scrape_samples_scraped"))
	for _, s := range scraped {
		if last(s).v != 3 {
			t.Fatalf("scrape_samples_scraped = %v", s)
		}
	}
	added := e.series(eq("__name__", "scrape_series_added"))
	for _, s := range added {
		if s[0].v != 3 || last(s).v != 0 {
			t.Fatalf("scrape_series_added = %v, want 3 then 0", s)
		}
	}
	// Timestamps are a scrape interval apart (aligned to the schedule). A
	// scrape the busy machine started late stands out from its neighbours,
	// so the check is that some pair is an interval apart and that no two
	// scrapes came close to each other (a schedule run twice).
	s := got[key]
	aligned := false
	for i := 1; i < len(s); i++ {
		d := s[i].t - s[i-1].t
		if d < 50 {
			t.Fatalf("samples %d ms apart: %v", d, s)
		}
		aligned = aligned || d >= 90 && d <= 110
	}
	if !aligned {
		t.Fatalf("no two samples a scrape interval apart: %v", s)
	}
	r := x.lastReq.Load()
	if r.URL.Query().Get("format") != "text" || !strings.Contains(r.Header.Get("Accept"), "application/openmetrics-text") ||
		r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds") != "0.09" {
		t.Fatalf("request %s %v", r.URL, r.Header)
	}
	tg := e.mgr.Targets()
	if len(tg) != 1 || len(tg[0].Active) != 1 || tg[0].Active[0].State().Health != HealthGood {
		t.Fatalf("targets %+v", tg)
	}
	if md := tg[0].Active[0].Metadata()["temp"]; md.Type != "gauge" || md.Help != "Temperature." {
		t.Fatalf("metadata %+v", md)
	}
}

func TestStalenessWhenSeriesVanish(t *testing.T) {
	x := newExporter(t, "a 1\nb 2\n")
	e := newEnv(t)
	e.apply(fmt.Sprintf("scrape_configs:\n  - job_name: j\n    scrape_interval: 100ms\n    static_configs: [{targets: [%q]}]\n", x.addr()))
	waitFor(t, "b scraped twice", func() bool {
		return len(e.series(eq("__name__", "b"))) == 1 && len(firstOf(e.series(eq("__name__", "b")))) >= 2
	})
	x.set("a 1\n")
	waitFor(t, "b marked stale", func() bool { return isStale(last(firstOf(e.series(eq("__name__", "b")))).v) })
	// a goes on.
	n := len(firstOf(e.series(eq("__name__", "a"))))
	waitFor(t, "a scraped again", func() bool { return len(firstOf(e.series(eq("__name__", "a")))) > n })
	if isStale(last(firstOf(e.series(eq("__name__", "a")))).v) {
		t.Fatal("a marked stale")
	}
}

func firstOf(m map[string][]sample) []sample {
	for _, s := range m {
		return s
	}
	return nil
}

func TestTargetDownMarksSeriesStale(t *testing.T) {
	x := newExporter(t, "a 1\n")
	e := newEnv(t)
	e.apply(fmt.Sprintf("scrape_configs:\n  - job_name: j\n    scrape_interval: 100ms\n    static_configs: [{targets: [%q]}]\n", x.addr()))
	waitFor(t, "a scraped", func() bool { return len(firstOf(e.series(eq("__name__", "a")))) >= 1 })
	x.mu.Lock()
	x.status = 500
	x.mu.Unlock()
	waitFor(t, "up 0", func() bool { return last(firstOf(e.series(eq("__name__", "up")))).v == 0 })
	waitFor(t, "a stale", func() bool { return isStale(last(firstOf(e.series(eq("__name__", "a")))).v) })
	st := e.mgr.Targets()[0].Active[0].State()
	if st.Health != HealthBad || !strings.Contains(st.LastError, "500") {
		t.Fatalf("state %+v", st)
	}
}

func TestFileSDChangesAtRuntime(t *testing.T) {
	a := newExporter(t, "m{from=\"a\"} 1\n")
	b := newExporter(t, "m{from=\"b\"} 2\n")
	dir := t.TempDir()
	sd := filepath.Join(dir, "targets.json")
	writeSD := func(addr string) {
		tmp := sd + ".tmp"
		os.WriteFile(tmp, []byte(fmt.Sprintf(`[{"targets": [%q], "labels": {"team": "x"}}]`, addr)), 0o644)
		os.Rename(tmp, sd)
	}
	writeSD(a.addr())
	e := newEnv(t)
	e.apply(fmt.Sprintf("scrape_configs:\n  - job_name: j\n    scrape_interval: 100ms\n    file_sd_configs: [{files: [%q]}]\n", filepath.Join(dir, "*.json")))
	waitFor(t, "a scraped", func() bool { return len(e.series(eq("from", "a"))) == 1 })
	if got := e.series(eq("from", "a")); !strings.Contains(keys(got), `team="x"`) {
		t.Fatalf("file_sd labels missing: %v", got)
	}
	writeSD(b.addr())
	waitFor(t, "b scraped", func() bool { return len(e.series(eq("from", "b"))) == 1 })
	// a's loop stopped; two intervals later its series are stale.
	waitFor(t, "a stale", func() bool { return isStale(last(firstOf(e.series(eq("from", "a")))).v) })
	upA := e.series(eq("__name__", "up"), eq("instance", a.addr()))
	if !isStale(last(firstOf(upA)).v) {
		t.Fatalf("up of the removed target not stale: %v", upA)
	}
}

func keys(m map[string][]sample) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return strings.Join(ks, " ")
}

func TestReloadAddsAndRemovesJobs(t *testing.T) {
	x := newExporter(t, "m 1\n")
	e := newEnv(t)
	job := func(name string) string {
		return fmt.Sprintf("  - job_name: %s\n    scrape_interval: 100ms\n    static_configs: [{targets: [%q]}]\n", name, x.addr())
	}
	e.apply("scrape_configs:\n" + job("a") + job("b"))
	waitFor(t, "a and b scraped", func() bool { return len(e.series(eq("__name__", "m"))) == 2 })
	e.apply("scrape_configs:\n" + job("b") + job("c"))
	waitFor(t, "c scraped", func() bool { return len(e.series(eq("job", "c"), eq("__name__", "m"))) == 1 })
	waitFor(t, "a stale", func() bool { return isStale(last(firstOf(e.series(eq("job", "a"), eq("__name__", "m")))).v) })
	n := len(firstOf(e.series(eq("job", "b"), eq("__name__", "m"))))
	waitFor(t, "b still scraped", func() bool { return len(firstOf(e.series(eq("job", "b"), eq("__name__", "m")))) > n+2 })
	if s := firstOf(e.series(eq("job", "b"), eq("__name__", "m"))); isStale(last(s).v) {
		t.Fatal("unchanged job b got a staleness marker")
	}
	if got := len(e.mgr.Targets()); got != 2 {
		t.Fatalf("%d jobs", got)
	}
}

func TestShutdownWritesNoStaleness(t *testing.T) {
	x := newExporter(t, "m 1\n")
	e := newEnv(t)
	e.apply(fmt.Sprintf("scrape_configs:\n  - job_name: j\n    scrape_interval: 50ms\n    static_configs: [{targets: [%q]}]\n", x.addr()))
	waitFor(t, "scraped", func() bool { return len(firstOf(e.series(eq("__name__", "m")))) >= 2 })
	e.cancel()
	<-e.done
	time.Sleep(150 * time.Millisecond)
	if isStale(last(firstOf(e.series(eq("__name__", "m")))).v) {
		t.Fatal("shutdown wrote a staleness marker")
	}
}

func TestLabelsLimitsAndBadTargets(t *testing.T) {
	cases := []struct {
		name   string
		job    string
		body   string
		ctype  string
		delay  time.Duration
		up     float64
		errSub string
		check  func(t *testing.T, e *env)
	}{
		{name: "honor_labels false renames clashes", job: "", body: "m{job=\"theirs\",instance=\"x\"} 1\n", up: 1, check: func(t *testing.T, e *env) {
			if len(e.series(eq("exported_job", "theirs"), eq("job", "j"), eq("exported_instance", "x"))) != 1 {
				t.Fatalf("no exported_ labels: %v", e.series(eq("__name__", "m")))
			}
		}},
		{name: "honor_labels true keeps theirs", job: "    honor_labels: true\n", body: "m{job=\"theirs\"} 1\n", up: 1, check: func(t *testing.T, e *env) {
			if len(e.series(eq("job", "theirs"), eq("__name__", "m"))) != 1 {
				t.Fatal("honor_labels ignored")
			}
		}},
		{name: "metric_relabel drops", job: "    metric_relabel_configs: [{source_labels: [__name__], regex: drop_me, action: drop}]\n", body: "drop_me 1\nkeep_me 2\n", up: 1, check: func(t *testing.T, e *env) {
			if len(e.series(eq("__name__", "drop_me"))) != 0 || len(e.series(eq("__name__", "keep_me"))) != 1 {
				t.Fatal("relabel drop not applied")
			}
			if last(firstOf(e.series(eq("__name__", "scrape_samples_post_metric_relabeling")))).v != 1 {
				t.Fatal("post relabel count wrong")
			}
		}},
		{name: "sample_limit", job: "    sample_limit: 2\n", body: "a 1\nb 2\nc 3\n", up: 0, errSub: "sample limit exceeded", check: func(t *testing.T, e *env) {
			if len(e.series(eq("__name__", "a"))) != 0 {
				t.Fatal("samples of a failed scrape stored")
			}
		}},
		{name: "label_limit", job: "    label_limit: 3\n", body: "a{x=\"1\",y=\"2\"} 1\n", up: 0, errSub: "label limit exceeded"},
		{name: "label_value_length_limit", job: "    label_value_length_limit: 4\n", body: "a{x=\"12345\"} 1\n", up: 0, errSub: "longer than 4"},
		{name: "body_size_limit", job: "    body_size_limit: 10B\n", body: "a_long_metric_name 1\n", up: 0, errSub: "body size limit"},
		{name: "garbage", body: "this is { not metrics\n", up: 0, errSub: "parse"},
		{name: "invalid utf-8", body: "a{x=\"\xff\"} 1\n", up: 0, errSub: ""},
		{name: "series without a name", body: "{x=\"1\"} 1\n", up: 0, errSub: "metric name not set"},
		{name: "relabeling removes the name", job: "    metric_relabel_configs: [{regex: __name__, action: labeldrop}]\n", body: "a 1\n", up: 0, errSub: "missing metric name"},
		{name: "slow target times out", job: "    scrape_timeout: 50ms\n", body: "a 1\n", delay: time.Second, up: 0, errSub: "deadline"},
		{name: "duplicate series are dropped, not fatal", body: "a 1\na 2\nb 3\n", up: 1, check: func(t *testing.T, e *env) {
			if s := firstOf(e.series(eq("__name__", "a"))); len(s) == 0 || s[0].v != 1 {
				t.Fatalf("a = %v", s)
			}
		}},
		{name: "openmetrics", body: "# TYPE a counter\na_total 5\n# EOF\n", ctype: "application/openmetrics-text; version=1.0.0; charset=utf-8", up: 1, check: func(t *testing.T, e *env) {
			if len(e.series(eq("__name__", "a_total"))) != 1 {
				t.Fatal("openmetrics not parsed")
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := newExporter(t, c.body)
			x.delay = c.delay
			if c.ctype != "" {
				x.ctype = c.ctype
			}
			e := newEnv(t)
			e.apply(fmt.Sprintf("scrape_configs:\n  - job_name: j\n    scrape_interval: 100ms\n%s    static_configs: [{targets: [%q]}]\n", c.job, x.addr()))
			waitFor(t, "a scrape", func() bool { return len(e.series(eq("__name__", "up"))) == 1 })
			if up := last(firstOf(e.series(eq("__name__", "up")))).v; up != c.up {
				t.Fatalf("up = %v, want %v (state %+v)", up, c.up, e.mgr.Targets()[0].Active[0].State())
			}
			if c.errSub != "" {
				if st := e.mgr.Targets()[0].Active[0].State(); !strings.Contains(st.LastError, c.errSub) {
					t.Fatalf("last error %q, want %q", st.LastError, c.errSub)
				}
			}
			if c.check != nil {
				c.check(t, e)
			}
		})
	}
}

func TestTargetLimit(t *testing.T) {
	x := newExporter(t, "a 1\n")
	y := newExporter(t, "a 1\n")
	e := newEnv(t)
	e.apply(fmt.Sprintf("scrape_configs:\n  - job_name: j\n    scrape_interval: 100ms\n    target_limit: 1\n    static_configs: [{targets: [%q, %q]}]\n", x.addr(), y.addr()))
	waitFor(t, "both reported", func() bool { return len(e.series(eq("__name__", "up"))) == 2 })
	for _, tg := range e.mgr.Targets()[0].Active {
		if st := tg.State(); !strings.Contains(st.LastError, "target_limit exceeded") {
			t.Fatalf("state %+v", st)
		}
	}
	if x.requests.Load()+y.requests.Load() != 0 {
		t.Fatal("targets over the limit were scraped")
	}
}

func TestRelabelDropsTargetsAndKeepsThemListed(t *testing.T) {
	x := newExporter(t, "a 1\n")
	e := newEnv(t)
	e.apply(fmt.Sprintf(`
scrape_configs:
  - job_name: j
    scrape_interval: 100ms
    relabel_configs:
      - {source_labels: [env], regex: dev, action: drop}
      - {target_label: team, replacement: ops}
    static_configs:
      - {targets: [%q], labels: {env: prod}}
      - {targets: ["dev-host:9100"], labels: {env: dev}}
`, x.addr()))
	waitFor(t, "scraped", func() bool { return len(e.series(eq("__name__", "a"), eq("team", "ops"))) == 1 })
	tg := e.mgr.Targets()[0]
	if len(tg.Active) != 1 || len(tg.Dropped) != 1 || tg.Dropped[0].Discovered.Get("__address__") != "dev-host:9100" {
		t.Fatalf("active %d dropped %+v", len(tg.Active), tg.Dropped)
	}
}

func TestOffsetIsStable(t *testing.T) {
	sc := jobs(t, "scrape_configs:\n  - job_name: j\n    static_configs: [{targets: [\"h:1\"]}]\n")[0]
	m := newMetrics(nil)
	p1, _ := newPool(context.Background(), sc, nil, discardLogger(), m, newBuffers(), 7)
	p2, _ := newPool(context.Background(), sc, nil, discardLogger(), m, newBuffers(), 7)
	lb := labels.NewBuilder(labels.EmptyLabels())
	disc := discoveredLabels(lb, sc, model.LabelSet{"__address__": "h:1"}, nil)
	lset, _ := populateLabels(lb, sc, disc)
	l1, _ := p1.newLoop(&Target{Labels: lset})
	l2, _ := p2.newLoop(&Target{Labels: lset})
	if l1.offset != l2.offset || l1.offset >= time.Minute {
		t.Fatalf("offsets %s %s", l1.offset, l2.offset)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestMetadataFollowsPages: metadata compared with the last page line by line
// still picks up every change (text, type, a family added or moved).
func TestMetadataFollowsPages(t *testing.T) {
	l, tg, db := testLoop(t, "")
	ts := int64(1000)
	for i, c := range []struct{ page, want string }{
		{"# HELP a First.\n# TYPE a gauge\na 1\n", "a gauge First."},
		{"# HELP a First.\n# TYPE a gauge\na 1\n", "a gauge First."},
		{"# HELP a Second.\n# TYPE a gauge\na 1\n", "a gauge Second."},
		{"# HELP a Second.\n# TYPE a counter\na 1\n", "a counter Second."},
		{"# HELP b B.\n# TYPE b gauge\nb 1\n# HELP a Second.\n# TYPE a counter\na 1\n", "a counter Second.|b gauge B."},
		{"# HELP a Third.\n# TYPE a counter\na 1\n# HELP b B.\n# TYPE b gauge\nb 1\n", "a counter Third.|b gauge B."},
	} {
		ts += 1000
		app := db.Appender()
		if _, err := l.append(app, []byte(c.page), textContentType, ts); err != nil {
			t.Fatal(err)
		}
		app.Commit()
		if got := metaString(tg); got != c.want {
			t.Fatalf("page %d: metadata %q, want %q", i, got, c.want)
		}
	}
}

// staleCounter counts the staleness markers appended per metric name.
type staleCounter struct {
	next  Appender
	stale map[string]int
}

func (a *staleCounter) Append(ref uint64, ls labels.Labels, t int64, v float64) (uint64, error) {
	if value.IsStaleNaN(v) {
		a.stale[ls.Get(labels.MetricName)]++
	}
	return a.next.Append(ref, ls, t, v)
}
func (a *staleCounter) Commit() error   { return a.next.Commit() }
func (a *staleCounter) Rollback() error { return a.next.Rollback() }

// TestStalenessAcrossRepeatedPages: the shortcut for a page that repeats the
// last one never hides a series that went away, whatever came before.
func TestStalenessAcrossRepeatedPages(t *testing.T) {
	l, _, db := testLoop(t, "")
	ts := int64(1000)
	for i, c := range []struct{ page, stale string }{
		{"a 1\nb 1\n", ""},
		{"a 2\nb 2\n", ""},
		{"a 3\nb 3\n", ""},
		{"a 4\n", "b"},
		{"a 5\n", ""},
		{"a 6\nb 6\n", ""},
		{"b 7\na 7\n", ""},
		{"b 8\na 8 8500\n", "a"}, // a has its own timestamp: no longer tracked, as in Prometheus.
		{"b 9\na 9\n", ""},
		{"b 10\na 10\n", ""},
		{"", "a,b"}, // a failed scrape
		{"b 11\na 11\n", ""},
		{"b 12\na 12\n", ""},
		{"b 13\n", "a"},
	} {
		ts += 1000
		app := &staleCounter{next: db.Appender(), stale: map[string]int{}}
		if _, err := l.append(app, []byte(c.page), textContentType, ts); err != nil {
			t.Fatal(err)
		}
		app.Commit()
		var got []string
		for name := range app.stale {
			got = append(got, name)
		}
		slices.Sort(got)
		if strings.Join(got, ",") != c.stale {
			t.Fatalf("page %d %q: stale %v, want %q", i, c.page, got, c.stale)
		}
	}
}

// TestMetadataAfterFailedScrape: metadata a failed scrape never took in is
// taken from the next page even though its lines repeat the failed page's.
func TestMetadataAfterFailedScrape(t *testing.T) {
	l, tg, db := testLoop(t, "    sample_limit: 2\n")
	app := db.Appender()
	if _, err := l.append(app, []byte("a 1\nb 1\nx 1\n# HELP c C.\nc 1\n"), textContentType, 1000); !errors.Is(err, errSampleLimit) {
		t.Fatalf("error %v, want the sample limit", err)
	}
	app.Rollback()
	app = db.Appender()
	if _, err := l.append(app, []byte("a 1\n# HELP c C.\nc 1\n"), textContentType, 2000); err != nil {
		t.Fatal(err)
	}
	app.Commit()
	if md := tg.Metadata()["c"]; md.Help != "C." {
		t.Fatalf("metadata of c: %+v", md)
	}
}

// testLoop is a loop of job j (with the extra job settings in jobYAML, each
// line indented by four spaces) for target h:1, scraping into a fresh
// storage: for tests that feed pages to loop.append directly.
func testLoop(t *testing.T, jobYAML string) (*loop, *Target, *tsdb.DB) {
	t.Helper()
	db, err := tsdb.Open(context.Background(), t.TempDir(), tsdb.Options{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sc := jobs(t, "scrape_configs:\n  - job_name: j\n"+jobYAML+"    static_configs: [{targets: [\"h:1\"]}]\n")[0]
	p, _ := newPool(context.Background(), sc, nil, discardLogger(), newMetrics(nil), newBuffers(), 0)
	lb := labels.NewBuilder(labels.EmptyLabels())
	lset, _ := populateLabels(lb, sc, discoveredLabels(lb, sc, model.LabelSet{"__address__": "h:1"}, nil))
	tg := &Target{Labels: lset}
	l, err := p.newLoop(tg)
	if err != nil {
		t.Fatal(err)
	}
	return l, tg, db
}

func metaString(tg *Target) string {
	var got []string
	for name, md := range tg.Metadata() {
		got = append(got, name+" "+string(md.Type)+" "+md.Help)
	}
	slices.Sort(got)
	return strings.Join(got, "|")
}

// TestMetadataEdgeCases: metadata a failed scrape parsed is shown (as
// Prometheus shows it), a family repeated on a page ends with its last line
// whatever the previous page said, and families gone from the pages are
// dropped after a while.
func TestMetadataEdgeCases(t *testing.T) {
	for _, ct := range []string{textContentType, "application/openmetrics-text; version=1.0.0"} {
		l, tg, db := testLoop(t, "")
		ts := int64(1000)
		suffix := ""
		if ct != textContentType {
			suffix = "# EOF\n"
		}
		for i, c := range []struct {
			page, want string
			fail       bool
		}{
			{"# HELP a Old.\n# TYPE a gauge\na 1\n", "a gauge Old.", false},
			{"# HELP a New.\n# TYPE a gauge\na 1\nb{ 1\n", "a gauge New.", true},
			{"# HELP a New.\n# TYPE a gauge\na 1\n", "a gauge New.", false},
			{"# HELP a X.\n# HELP b B.\n# TYPE a gauge\na 1\n", "a gauge X.|b  B.", false},
			{"# HELP a X.\n# HELP b B.\n# TYPE a gauge\na 1\n", "a gauge X.|b  B.", false},
			// The second line equals the last page's second line, but the
			// first has just changed the same family.
			{"# HELP b Q.\n# HELP b B.\n# TYPE a gauge\na 1\n", "a gauge X.|b  B.", false},
			{"# HELP a X.\n# TYPE a gauge\na 1\n# HELP a Y.\n", "a gauge Y.|b  B.", false},
			{"# HELP a X.\n# TYPE a gauge\na 1\n", "a gauge X.|b  B.", false},
		} {
			ts += 1000
			app := db.Appender()
			page := c.page
			if !c.fail {
				page += suffix
			}
			_, err := l.append(app, []byte(page), ct, ts)
			if (err != nil) != c.fail {
				t.Fatalf("%s page %d: err %v", ct, i, err)
			}
			if err != nil {
				app.Rollback()
				app = db.Appender()
			}
			app.Commit()
			if got := metaString(tg); got != c.want {
				t.Fatalf("%s page %d: metadata %q, want %q", ct, i, got, c.want)
			}
		}
		// b is gone from the pages: dropped within metaSweepEvery pages.
		for range metaSweepEvery {
			ts += 1000
			app := db.Appender()
			if _, err := l.append(app, []byte("# HELP a X.\n# TYPE a gauge\na 1\n"+suffix), ct, ts); err != nil {
				t.Fatal(err)
			}
			app.Commit()
		}
		if got := metaString(tg); got != "a gauge X." {
			t.Fatalf("%s: metadata %q after b left the page", ct, got)
		}
	}
}
