package promql

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
)

// TestInfoDifferential compares info() with upstream's over the
// differential test's data plus info series that churn: target_info
// changes version half-way (the old series goes stale) and is missing for
// one instance; build_info exists for one job only.
func TestInfoDifferential(t *testing.T) {
	st := diffData(t, 1)
	defer st.Close()
	app := st.AppenderV2(context.Background())
	add := func(lbls labels.Labels, from, to int64, stale bool) {
		for ts := from; ts < to; ts += 30000 {
			if _, err := app.Append(0, lbls, 0, ts, 1, nil, nil, storage.AppendV2Options{}); err != nil {
				t.Fatal(err)
			}
		}
		if stale {
			if _, err := app.Append(0, lbls, 0, to, math.Float64frombits(value.StaleNaN), nil, nil, storage.AppendV2Options{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, job := range []string{"api", "db", "web"} {
		for inst := range 3 {
			if job == "db" && inst == 2 {
				continue
			}
			id := []string{"__name__", "target_info", "job", job, "instance", fmt.Sprintf("i%d", inst)}
			add(labels.FromStrings(append(id, "version", "v1.0", "region", "eu")...), 7000, 3600000+7000*int64(inst), true)
			add(labels.FromStrings(append(id, "version", "v1.1", "region", "eu")...), 3600000+7000*int64(inst)+15000, 2*3600000, false)
		}
		if job == "api" {
			add(labels.FromStrings("__name__", "build_info", "job", job, "instance", "i0", "build", "abc"), 0, 2*3600000, false)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}

	ours := upstreamEngine{newTestEngine(false)}
	theirs := newUpstreamEngine(false)
	queries := []string{
		"info(req_total)", "info(rate(req_total[5m]))", `info(temp, {version=~"v1.1"})`,
		`info(up, {__name__=~".+_info"})`, "info(sum by (job, instance) (req_total))",
		"info(req_total offset 5m)", "info(req_total @ 3600)", `info(req_total, {region="eu"})`,
		"sum by (version) (info(up))", `info(req_total, {__name__="build_info"})`,
		`info({__name__=~"req_total|target_info"})`, "info(max_over_time(temp[10m:1m] offset 2m))",
		`info(req_total, {__name__!~"build.*"})`, "info(sum(req_total))", `info(temp, {nope=~".*"})`,
	}
	runs := []struct{ start, end, step time.Duration }{
		{3601*time.Second + 3*time.Millisecond, 0, 0},
		{-95 * time.Second, 35 * time.Minute, 17*time.Second + 300*time.Millisecond},
		{50 * time.Minute, 110 * time.Minute, 61 * time.Second},
	}
	compared, answered := 0, 0
	for _, q := range queries {
		for _, r := range runs {
			start, end := time.Unix(0, 0).Add(r.start), time.Unix(0, 0).Add(r.end)
			if r.step == 0 {
				end = start
			}
			ok, err := diffQueryStorages(ours, theirs, st, st, q, start, end, r.step)
			if err != nil {
				t.Errorf("%s (start %v, step %v): %v", q, r.start, r.step, err)
			}
			compared++
			if ok {
				answered++
			}
		}
	}
	if answered < compared*3/4 {
		t.Errorf("only %d of %d queries have a non-empty answer", answered, compared)
	}
	t.Logf("%d queries compared, %d with a non-empty answer", compared, answered)
}
