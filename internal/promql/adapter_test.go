package promql

import (
	"context"
	"errors"
	"time"
	"unsafe"

	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/stats"
)

// upstreamEngine adapts Engine to upstream's promql.QueryEngine, converting
// results to upstream's types, so upstream test harnesses can drive it.
type upstreamEngine struct{ ng *Engine }

var _ upstream.QueryEngine = upstreamEngine{}

func queryOpts(opts upstream.QueryOpts) QueryOpts {
	if opts == nil {
		return nil
	}
	return opts
}

func (a upstreamEngine) NewInstantQuery(ctx context.Context, q storage.Queryable, opts upstream.QueryOpts, qs string, ts time.Time) (upstream.Query, error) {
	qry, err := a.ng.NewInstantQuery(ctx, q, queryOpts(opts), qs, ts)
	if err != nil {
		return nil, err
	}
	return upstreamQuery{qry}, nil
}

func (a upstreamEngine) NewRangeQuery(ctx context.Context, q storage.Queryable, opts upstream.QueryOpts, qs string, start, end time.Time, step time.Duration) (upstream.Query, error) {
	qry, err := a.ng.NewRangeQuery(ctx, q, queryOpts(opts), qs, start, end, step)
	if err != nil {
		return nil, err
	}
	return upstreamQuery{qry}, nil
}

type upstreamQuery struct{ q Query }

func (u upstreamQuery) Exec(ctx context.Context) *upstream.Result {
	r := u.q.Exec(ctx)
	return &upstream.Result{Value: toUpstream(r.Value), Warnings: r.Warnings, Err: toUpstreamErr(r.Err)}
}
func (u upstreamQuery) Close()                      { u.q.Close() }
func (u upstreamQuery) Statement() parser.Statement { return u.q.Statement() }
func (u upstreamQuery) Stats() *stats.Statistics    { return toUpstreamStats(u.q.Stats()) }
func (u upstreamQuery) Cancel()                     { u.q.Cancel() }
func (u upstreamQuery) String() string              { return u.q.String() }

func toUpstreamErr(err error) error {
	var (
		timeout  ErrQueryTimeout
		canceled ErrQueryCanceled
		samples  ErrTooManySamples
		st       ErrStorage
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &timeout):
		return upstream.ErrQueryTimeout(timeout)
	case errors.As(err, &canceled):
		return upstream.ErrQueryCanceled(canceled)
	case errors.As(err, &samples):
		return upstream.ErrTooManySamples(samples)
	case errors.As(err, &st):
		return upstream.ErrStorage{Err: st.Err}
	}
	return err
}

func toUpstream(v parser.Value) parser.Value {
	switch v := v.(type) {
	case Vector:
		out := make(upstream.Vector, len(v))
		for i, s := range v {
			out[i] = upstream.Sample{Metric: s.Metric, T: s.T, F: s.F}
		}
		return out
	case Grid:
		return toUpstream(v.Matrix())
	case Matrix:
		out := make(upstream.Matrix, len(v))
		for i, s := range v {
			out[i] = upstream.Series{Metric: s.Metric, Floats: asUpstreamPoints(s.Floats)}
		}
		return out
	case Scalar:
		return upstream.Scalar{T: v.T, V: v.V}
	case String:
		return upstream.String{T: v.T, V: v.V}
	}
	return v
}

// asUpstreamPoints returns pts as upstream's point type without copying
// them: the API writes argus's own values, so the benchmarks should not
// charge argus's engine for a conversion only the tests make. The layouts
// are checked to be identical.
func asUpstreamPoints(pts []FPoint) []upstream.FPoint {
	var a FPoint
	var b upstream.FPoint
	if unsafe.Sizeof(a) != unsafe.Sizeof(b) || unsafe.Offsetof(a.T) != unsafe.Offsetof(b.T) || unsafe.Offsetof(a.F) != unsafe.Offsetof(b.F) {
		panic("BUG: FPoint layouts differ")
	}
	if len(pts) == 0 {
		return nil
	}
	return unsafe.Slice((*upstream.FPoint)(unsafe.Pointer(unsafe.SliceData(pts))), len(pts))
}

// toUpstreamStats converts a query's stats to upstream's. Only the sample
// counts convert: upstream's timers cannot be set from outside their
// package, so its timings stay zero.
func toUpstreamStats(s *QueryStats) *stats.Statistics {
	out := &stats.Statistics{Timers: stats.NewQueryTimers()}
	if s.Samples == nil {
		out.Samples = stats.NewQuerySamples(false)
		return out
	}
	sm := s.Samples
	perStep := sm.TotalQueryableSamplesPerStep != nil
	out.Samples = stats.NewQuerySamples(perStep)
	out.Samples.TotalSamples = sm.TotalQueryableSamples
	out.Samples.SamplesRead = sm.SamplesRead
	out.Samples.TotalSeries = sm.SeriesTouched
	out.Samples.PeakSamples = sm.PeakSamples
	if perStep {
		steps := sm.TotalQueryableSamplesPerStep
		out.Samples.StartTimestamp = steps[0].T
		if len(steps) > 1 {
			out.Samples.Interval = steps[1].T - steps[0].T
		} else {
			out.Samples.Interval = 1
		}
		for _, st := range steps {
			out.Samples.TotalSamplesPerStep = append(out.Samples.TotalSamplesPerStep, st.V)
		}
		for _, st := range sm.SamplesReadPerStep {
			out.Samples.SamplesReadPerStep = append(out.Samples.SamplesReadPerStep, st.V)
		}
	}
	return out
}
