package promql

import (
	"testing"
	"time"
)

// TestExtendedDifferential compares the anchored and smoothed modifiers
// with upstream's over the differential test's data (gaps, resets, stale
// markers, NaN), at odd start times and steps.
func TestExtendedDifferential(t *testing.T) {
	st := diffData(t, 1)
	defer st.Close()
	ours := upstreamEngine{newTestEngine(false)}
	theirs := newUpstreamEngine(false)
	queries := []string{
		"rate(req_total[5m] anchored)", "increase(req_total[1m] anchored)", "delta(temp[2m] anchored)",
		"changes(up[5m] anchored)", "resets(req_total[10m] anchored)", "changes(temp[30s] anchored)",
		"rate(req_total[5m] smoothed)", "increase(req_total[1m] smoothed)", "delta(temp[2m] smoothed)",
		"increase(req_total[20s] smoothed)", "rate(req_total[1h] anchored offset 3m)",
		"increase(req_total[5m] smoothed @ 3600)", "temp smoothed", "req_total offset 1m smoothed",
		"up @ 1800.5 smoothed", "sum by (job) (rate(req_total[5m] smoothed))",
		"max_over_time(temp[5m] anchored)", "deriv(temp[5m] smoothed)",
	}
	runs := []struct {
		start, end time.Duration
		step       time.Duration
	}{
		{617 * time.Second, 617 * time.Second, 0},
		{3599*time.Second + 999*time.Millisecond, 3599*time.Second + 999*time.Millisecond, 0},
		{-77 * time.Second, 40 * time.Minute, 13*time.Second + 700*time.Millisecond},
		{50 * time.Minute, 2*time.Hour + 7*time.Minute, 61 * time.Second},
	}
	compared, answered := 0, 0
	for _, q := range queries {
		for _, r := range runs {
			start := time.Unix(0, 0).Add(r.start)
			ok, err := diffQueryStorages(ours, theirs, st, st, q, start, time.Unix(0, 0).Add(r.end), r.step)
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
