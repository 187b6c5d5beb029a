package ruletest

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/argus-mon/argus/internal/tsdb"
)

// errNativeHistograms is the error for tests using native histograms,
// which argus's storage does not hold yet.
var errNativeHistograms = errors.New("native histograms are not supported yet by argus")

// inputSeries are the samples of input_series not yet appended.
type inputSeries struct {
	series []loadedSeries
}

type loadedSeries struct {
	lset    labels.Labels
	samples []sample
}

type sample struct {
	t int64
	v float64
}

// loadSeries expands input_series: values at start, start+interval, ...,
// in the notation of PromQL test files ("1+2x3 _ stale").
func loadSeries(tg *testGroup, p parser.Parser, start time.Time) (*inputSeries, error) {
	in := &inputSeries{}
	gap := time.Duration(tg.Interval)
	for _, s := range tg.InputSeries {
		lset, vals, err := p.ParseSeriesDesc(s.Series + " " + s.Values)
		if err != nil {
			return nil, err
		}
		ls := loadedSeries{lset: lset}
		ts := start
		for _, v := range vals {
			if v.Histogram != nil {
				return nil, fmt.Errorf("series %s: %w", s.Series, errNativeHistograms)
			}
			if !v.Omitted {
				ls.samples = append(ls.samples, sample{ts.UnixMilli(), v.Value})
			}
			ts = ts.Add(gap)
		}
		in.series = append(in.series, ls)
	}
	return in, nil
}

// appendTill appends the samples up to ts (milliseconds).
func (in *inputSeries) appendTill(db *tsdb.DB, ts int64) error {
	app := db.Appender()
	for i := range in.series {
		s := &in.series[i]
		n := 0
		for ; n < len(s.samples) && s.samples[n].t <= ts; n++ {
			if _, err := app.Append(0, s.lset, s.samples[n].t, s.samples[n].v); err != nil {
				app.Rollback()
				return fmt.Errorf("input series %s at %d: %w", s.lset, s.samples[n].t, err)
			}
		}
		s.samples = s.samples[n:]
	}
	return app.Commit()
}
