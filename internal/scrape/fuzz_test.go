package scrape

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/argus-mon/argus/internal/tsdb"
)

// fuzzJob exercises every step between the page and the storage: honor_labels
// off (clashing scraped labels become exported_*), metric relabeling that
// drops, rewrites and removes labels, and the label and sample limits.
const fuzzJob = `
scrape_configs:
  - job_name: fuzz
    sample_limit: 200
    label_limit: 8
    label_name_length_limit: 40
    label_value_length_limit: 200
    static_configs: [{targets: ["h:9100"], labels: {env: prod}}]
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: drop_.*
        action: drop
      - regex: secret
        action: labeldrop
      - source_labels: [__name__, mode]
        separator: ":"
        regex: (.+):(idle|user)
        target_label: cpu_mode
        replacement: $2
`

// recordingAppender checks every label set handed to the storage before
// passing it on, and remembers what was appended.
type recordingAppender struct {
	t    *testing.T
	next Appender
	got  map[string]labels.Labels
}

func (a *recordingAppender) Append(ref uint64, ls labels.Labels, ts int64, v float64) (uint64, error) {
	checkStoredLabels(a.t, ls)
	ref, err := a.next.Append(ref, ls, ts, v)
	if err == nil && !value.IsStaleNaN(v) {
		a.got[ls.String()] = ls.Copy()
	}
	return ref, err
}

func (a *recordingAppender) Commit() error   { return a.next.Commit() }
func (a *recordingAppender) Rollback() error { return a.next.Rollback() }

// checkStoredLabels is what must hold for anything the scrape path stores.
func checkStoredLabels(t *testing.T, ls labels.Labels) {
	t.Helper()
	if ls.Get(labels.MetricName) == "" {
		t.Fatalf("series without a name stored: %s", ls)
	}
	if !ls.IsValid(model.UTF8Validation) {
		t.Fatalf("invalid label set stored: %q", ls.String())
	}
	if name, dup := ls.HasDuplicateLabelNames(); dup {
		t.Fatalf("label %q repeated in stored %s", name, ls)
	}
	prev := ""
	ls.Range(func(l labels.Label) {
		if l.Name <= prev {
			t.Fatalf("labels not sorted in stored %s", ls)
		}
		prev = l.Name
		if l.Value == "" {
			t.Fatalf("empty label %q stored in %s", l.Name, ls)
		}
	})
	if ls.Len() > 8 {
		t.Fatalf("label_limit 8 exceeded by stored %s", ls)
	}
	if ls.Get("job") != "fuzz" || ls.Get("instance") != "h:9100" || ls.Get("env") != "prod" {
		t.Fatalf("target labels missing or overridden in %s", ls)
	}
	if strings.HasPrefix(ls.Get(labels.MetricName), "drop_") || ls.Has("secret") {
		t.Fatalf("metric relabeling not applied to %s", ls)
	}
}

// FuzzScrapeAppend feeds arbitrary pages through the scrape path (either
// parser, the series cache, target labels, metric relabeling, limits) into a
// real storage: the process must not panic, what is stored must be valid and
// relabeled, and what a committed scrape acknowledged must be readable.
func FuzzScrapeAppend(f *testing.F) {
	for _, seed := range []string{
		"a 1\nb{x=\"y\"} 2\n",
		"# HELP node_cpu x\n# TYPE node_cpu counter\nnode_cpu{cpu=\"0\",mode=\"idle\"} 3\nnode_cpu{cpu=\"0\",mode=\"user\"} 4\n",
		"drop_me 1\nkeep{secret=\"s\",job=\"other\",instance=\"i\"} 2\n",
		"dup 1\ndup 2\n",
		"ts 1 1700000000000\nnan NaN\ninf +Inf\n",
		"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n",
		"# TYPE o counter\n# UNIT o seconds\no_total 1\n# EOF\n",
		"{\"utf8.name\",a=\"b\"} 1\n",
		"bad{ 1\n",
		"a{a=\"\xff\"} 1\n",
	} {
		f.Add([]byte(seed), uint8(0))
		f.Add([]byte(seed), uint8(1))
	}
	db, err := tsdb.Open(context.Background(), f.TempDir(), tsdb.Options{FlushInterval: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	sc := jobs(&testing.T{}, fuzzJob)[0]
	lb := labels.NewBuilder(labels.EmptyLabels())
	lset, _ := populateLabels(lb, sc, discoveredLabels(lb, sc, model.LabelSet{"__address__": "h:9100", "env": "prod"}, nil))
	// Each input gets timestamps after all earlier ones, so inputs do not
	// reject each other's samples as out of order.
	var clock atomic.Int64
	clock.Store(1_700_000_000_000)
	contentTypes := []string{textContentType, "application/openmetrics-text; version=1.0.0; charset=utf-8"}

	f.Fuzz(func(t *testing.T, page []byte, ct uint8) {
		p, err := newPool(context.Background(), sc, func() Appender { return db.Appender() }, discardLogger(), newMetrics(nil), newBuffers(), 0)
		if err != nil {
			t.Fatal(err)
		}
		l, err := p.newLoop(&Target{Labels: lset})
		if err != nil {
			t.Fatal(err)
		}
		contentType := contentTypes[int(ct)%len(contentTypes)]
		// Twice the same page (the second through the series cache), then an
		// empty one, which marks everything stale.
		for i, body := range [][]byte{page, page, nil} {
			ts := clock.Add(15_000)
			app := &recordingAppender{t: t, next: db.Appender(), got: map[string]labels.Labels{}}
			res, err := l.append(app, body, contentType, ts)
			if err != nil {
				if rerr := app.Rollback(); rerr != nil {
					t.Fatal(rerr)
				}
				if i == 2 {
					t.Fatalf("staleness-only scrape failed: %v", err)
				}
				if errors.Is(err, errSampleLimit) && res.added <= 200 {
					t.Fatalf("sample limit error with %d samples", res.added)
				}
				continue
			}
			if res.added > 200 {
				t.Fatalf("%d samples accepted with sample_limit 200", res.added)
			}
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				checkReadable(t, db, app.got)
			}
		}
	})
}

// checkReadable reads back every series a committed scrape stored.
func checkReadable(t *testing.T, db *tsdb.DB, want map[string]labels.Labels) {
	t.Helper()
	q, err := db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for s, ls := range want {
		var ms []*labels.Matcher
		ls.Range(func(l labels.Label) { ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, l.Name, l.Value)) })
		ss := q.Select(context.Background(), false, nil, ms...)
		found := false
		for ss.Next() {
			if labels.Equal(ss.At().Labels(), ls) {
				found = ss.At().Iterator(nil).Next() == upstream.ValFloat || found
			}
		}
		if err := ss.Err(); err != nil {
			t.Fatal(err)
		}
		if !found {
			t.Fatalf("acknowledged series %s not readable", s)
		}
	}
}
