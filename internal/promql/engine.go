package promql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/stats"
)

// Default values of EngineOpts fields left at zero.
const (
	// DefaultLookbackDelta is how far back an instant selector looks for a sample.
	DefaultLookbackDelta = 5 * time.Minute
	// DefaultTimeout bounds a query's execution when EngineOpts.Timeout is zero.
	DefaultTimeout = 2 * time.Minute
	// DefaultMaxSamples bounds the samples a query may hold in memory when
	// EngineOpts.MaxSamples is zero (Prometheus's --query.max-samples default).
	DefaultMaxSamples = 50000000
)

// The error types mirror upstream promql's so the HTTP API maps them to the
// same error types and status codes.
type (
	// ErrQueryTimeout is returned when a query ran out of time.
	ErrQueryTimeout string
	// ErrQueryCanceled is returned when a query's context was canceled.
	ErrQueryCanceled string
	// ErrTooManySamples is returned when a query would hold more samples in
	// memory than EngineOpts.MaxSamples.
	ErrTooManySamples string
	// ErrStorage is returned when the storage failed while a query read it.
	ErrStorage struct{ Err error }
)

func (e ErrQueryTimeout) Error() string  { return "query timed out in " + string(e) }
func (e ErrQueryCanceled) Error() string { return "query was canceled in " + string(e) }
func (e ErrTooManySamples) Error() string {
	return "query processing would load too many samples into memory in " + string(e)
}
func (e ErrStorage) Error() string { return e.Err.Error() }
func (e ErrStorage) Unwrap() error { return e.Err }

// ErrNativeHistograms is returned by queries that read native histogram
// samples, which argus's engine does not evaluate yet.
var ErrNativeHistograms = errors.New("native histograms are not supported yet by argus")

// env names the phase in timeout, cancellation and sample-limit errors, as upstream does.
const env = "query execution"

// EngineOpts configures an Engine. Zero values mean the documented defaults.
type EngineOpts struct {
	// Logger receives unexpected evaluation failures; nil discards.
	Logger *slog.Logger
	// MaxSamples bounds the samples one query may hold in memory at once
	// (default DefaultMaxSamples).
	MaxSamples int
	// Timeout bounds one query's execution (default DefaultTimeout).
	Timeout time.Duration
	// MaxConcurrent bounds the queries executing at once; further queries
	// wait for a slot or for their context. Zero means unbounded.
	MaxConcurrent int
	// LookbackDelta is how far back an instant selector looks for a sample
	// (default DefaultLookbackDelta); a query may override it.
	LookbackDelta time.Duration
	// NoStepSubqueryIntervalFn gives the step of a subquery written without
	// one, from its range in milliseconds (default: one minute).
	NoStepSubqueryIntervalFn func(rangeMillis int64) int64
	// DisableAtModifier rejects queries using @ (upstream's EnableAtModifier, inverted
	// so the zero value is the Prometheus 3.x default).
	DisableAtModifier bool
	// DisableNegativeOffset rejects queries using negative offsets.
	DisableNegativeOffset bool
	// EnableDelayedNameRemoval keeps __name__ on series until the end of the
	// evaluation instead of removing it at the function or operator that
	// changes the metric's meaning (Prometheus's experimental
	// promql-delayed-name-removal feature; off by default there too).
	EnableDelayedNameRemoval bool
	// Parser parses query strings; nil means parser.NewParser with default
	// options (experimental functions off).
	Parser parser.Parser
	// EnablePerStepStats lets a query ask for its sample counts per step
	// (Prometheus's promql-per-step-stats feature): they cost a slice of
	// counters per query and an update per sample, so they are opt-in.
	EnablePerStepStats bool
}

// QueryOpts are per-query options. Upstream's promql.QueryOpts implementations
// satisfy it.
type QueryOpts interface {
	// LookbackDelta overrides the engine's lookback delta when positive.
	LookbackDelta() time.Duration
	// EnablePerStepStats asks for the query's sample counts per step; it
	// is honoured only if the engine enables them.
	EnablePerStepStats() bool
}

// Engine parses and evaluates PromQL queries. It is safe for concurrent use.
type Engine struct {
	logger        *slog.Logger
	maxSamples    int
	timeout       time.Duration
	lookbackDelta time.Duration
	noStepSubqFn  func(int64) int64
	disableAt     bool
	disableNegOff bool
	delayedNames  bool
	perStepStats  bool
	parser        parser.Parser
	// slots limits concurrent queries; nil when unbounded.
	slots chan struct{}
	pools enginePools
}

// NewEngine returns an Engine configured by opts.
func NewEngine(opts EngineOpts) *Engine {
	ng := &Engine{
		logger:        opts.Logger,
		maxSamples:    opts.MaxSamples,
		timeout:       opts.Timeout,
		lookbackDelta: opts.LookbackDelta,
		noStepSubqFn:  opts.NoStepSubqueryIntervalFn,
		disableAt:     opts.DisableAtModifier,
		disableNegOff: opts.DisableNegativeOffset,
		delayedNames:  opts.EnableDelayedNameRemoval,
		perStepStats:  opts.EnablePerStepStats,
		parser:        opts.Parser,
	}
	if ng.logger == nil {
		ng.logger = slog.New(slog.DiscardHandler)
	}
	if ng.maxSamples <= 0 {
		ng.maxSamples = DefaultMaxSamples
	}
	if ng.timeout <= 0 {
		ng.timeout = DefaultTimeout
	}
	if ng.lookbackDelta <= 0 {
		ng.lookbackDelta = DefaultLookbackDelta
	}
	if ng.noStepSubqFn == nil {
		ng.noStepSubqFn = func(int64) int64 { return time.Minute.Milliseconds() }
	}
	if ng.parser == nil {
		ng.parser = parser.NewParser(parser.Options{})
	}
	if opts.MaxConcurrent > 0 {
		ng.slots = make(chan struct{}, opts.MaxConcurrent)
	}
	return ng
}

// Result is the outcome of executing a query.
type Result struct {
	Value    parser.Value
	Warnings annotations.Annotations
	Err      error
}

// Query is a parsed query ready to be executed once.
type Query interface {
	// Exec evaluates the query. It may be called once.
	Exec(ctx context.Context) *Result
	// Close releases the query's resources.
	Close()
	// Statement returns the parsed statement.
	Statement() parser.Statement
	// Cancel aborts a running Exec.
	Cancel()
	// String returns the query text.
	String() string
	// Stats returns what the last Exec measured: its timings, and the
	// samples it worked on if it got as far as evaluating.
	Stats() *QueryStats
}

type query struct {
	ng        *Engine
	queryable storage.Queryable
	qs        string
	stmt      *parser.EvalStmt
	cancel    context.CancelFunc
	// bufs is the memory of the evaluation, results included, until Close.
	bufs *evalBuffers
	// perStepStats is set when the engine and the query options ask for
	// per-step sample counts.
	perStepStats bool
	timer        queryTimer
	samples      *QuerySamples
}

// NewInstantQuery parses qs for evaluation at ts.
func (ng *Engine) NewInstantQuery(_ context.Context, q storage.Queryable, opts QueryOpts, qs string, ts time.Time) (Query, error) {
	return ng.newQuery(q, opts, qs, ts, ts, 0, false)
}

// NewRangeQuery parses qs for evaluation at every step from start to end.
func (ng *Engine) NewRangeQuery(_ context.Context, q storage.Queryable, opts QueryOpts, qs string, start, end time.Time, step time.Duration) (Query, error) {
	return ng.newQuery(q, opts, qs, start, end, step, true)
}

func (ng *Engine) newQuery(q storage.Queryable, opts QueryOpts, qs string, start, end time.Time, step time.Duration, isRange bool) (Query, error) {
	expr, err := ng.parser.ParseExpr(qs)
	if err != nil {
		return nil, err
	}
	if err := ng.validateOpts(expr); err != nil {
		return nil, err
	}
	if isRange {
		if step <= 0 {
			return nil, fmt.Errorf("zero or negative query resolution step widths are not accepted. Try a positive integer")
		}
		if t := expr.Type(); t != parser.ValueTypeVector && t != parser.ValueTypeScalar {
			return nil, fmt.Errorf("invalid expression type %q for range query, must be Scalar or instant Vector", parser.DocumentedType(t))
		}
	}
	lookback := ng.lookbackDelta
	if opts != nil && opts.LookbackDelta() > 0 {
		lookback = opts.LookbackDelta()
	}
	expr, err = preprocessExpr(expr, start, end, step)
	if err != nil {
		return nil, err
	}
	return &query{
		ng:           ng,
		queryable:    q,
		qs:           qs,
		perStepStats: ng.perStepStats && opts != nil && opts.EnablePerStepStats(),
		stmt: &parser.EvalStmt{
			Expr: expr, Start: start, End: end, Interval: step, LookbackDelta: lookback,
		},
	}, nil
}

// Errors returned by validateOpts when a disabled feature is used.
var (
	ErrValidationAtModifierDisabled     = errors.New("@ modifier is disabled")
	ErrValidationNegativeOffsetDisabled = errors.New("negative offset is disabled")
)

func (ng *Engine) validateOpts(expr parser.Expr) error {
	if !ng.disableAt && !ng.disableNegOff {
		return nil
	}
	var err error
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		var ts *int64
		var startOrEnd parser.ItemType
		var off time.Duration
		switch n := node.(type) {
		case *parser.VectorSelector:
			ts, startOrEnd, off = n.Timestamp, n.StartOrEnd, n.OriginalOffset
		case *parser.SubqueryExpr:
			ts, startOrEnd, off = n.Timestamp, n.StartOrEnd, n.OriginalOffset
		default:
			return nil
		}
		if ng.disableAt && (ts != nil || startOrEnd == parser.START || startOrEnd == parser.END) {
			err = ErrValidationAtModifierDisabled
			return err
		}
		if ng.disableNegOff && off < 0 {
			err = ErrValidationNegativeOffsetDisabled
			return err
		}
		return nil
	})
	return err
}

func (q *query) Statement() parser.Statement { return q.stmt }
func (q *query) String() string              { return q.qs }

func (q *query) Stats() *QueryStats {
	return &QueryStats{Timings: q.timer.timings(), Samples: q.samples}
}

// Close returns the query's memory to the engine: the result must not be
// used afterwards.
func (q *query) Close() {
	if q.bufs != nil {
		q.ng.pools.putBuffers(q.bufs)
		q.bufs = nil
	}
}

func (q *query) Cancel() {
	if q.cancel != nil {
		q.cancel()
	}
}

// acquire waits for a query slot; the returned func releases it.
func (ng *Engine) acquire(ctx context.Context) (func(), error) {
	if ng.slots == nil {
		return func() {}, nil
	}
	select {
	case ng.slots <- struct{}{}:
		return func() { <-ng.slots }, nil
	case <-ctx.Done():
		return nil, contextErr(ctx.Err(), "query queue")
	}
}

func contextErr(err error, where string) error {
	switch {
	case errors.Is(err, context.Canceled):
		return ErrQueryCanceled(where)
	case errors.Is(err, context.DeadlineExceeded):
		return ErrQueryTimeout(where)
	default:
		return err
	}
}

// Exec evaluates the query.
func (q *query) Exec(ctx context.Context) *Result {
	begin := time.Now()
	q.timer = queryTimer{}
	defer func() { q.timer.total = time.Since(begin) }()
	ctx, cancel := context.WithTimeout(ctx, q.ng.timeout)
	q.cancel = cancel
	defer cancel()

	release, err := q.ng.acquire(ctx)
	q.timer.queue = time.Since(begin)
	if err != nil {
		return &Result{Err: err}
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return &Result{Err: contextErr(err, "expression evaluation")}
	}
	v, ws, err := q.exec(ctx)
	return &Result{Value: v, Warnings: ws, Err: err}
}

func (q *query) exec(ctx context.Context) (parser.Value, annotations.Annotations, error) {
	begin := time.Now()
	defer func() { q.timer.eval = time.Since(begin) }()
	s := q.stmt
	mint, maxt := findMinMaxTime(s)
	querier, err := q.queryable.Querier(mint, maxt)
	q.timer.prepare = time.Since(begin)
	if err != nil {
		return nil, nil, err
	}
	defer querier.Close()

	start, end := s.Start.UnixMilli(), s.End.UnixMilli()
	interval := s.Interval.Milliseconds()
	if start == end && interval == 0 {
		interval = 1
	}
	if q.bufs == nil {
		q.bufs = q.ng.pools.getBuffers()
	}
	ev := &evaluator{
		bufs:          q.bufs,
		pools:         &q.ng.pools,
		ctx:           ctx,
		start:         start,
		end:           end,
		interval:      interval,
		lookback:      s.LookbackDelta.Milliseconds(),
		querier:       querier,
		hints:         selectHints(s, q.ng.noStepSubqFn),
		maxSamples:    q.ng.maxSamples,
		noStepSubqFn:  q.ng.noStepSubqFn,
		delayedNames:  q.ng.delayedNames,
		logger:        q.ng.logger,
		annos:         annotations.New(),
		selectedCache: map[*parser.VectorSelector][]storage.Series{},
		samples:       new(sampleCount),
		stats:         stats.NewQuerySamples(q.perStepStats),
	}
	ev.steps = int((end-start)/interval) + 1
	isInstant := s.Start.Equal(s.End) && s.Interval == 0
	ev.instant = isInstant
	ev.stats.InitStepTracking(start, end, interval)
	if ev.steps == 1 {
		ev.shared = findSharedInputs(s.Expr)
	}
	innerBegin := time.Now()
	val, err := ev.run(s.Expr)
	q.timer.inner = time.Since(innerBegin)
	q.samples = sampleStats(ev.stats, ev.samples.peak)
	ws := *ev.annos
	if err != nil {
		return nil, ws, err
	}
	sortBegin := time.Now()
	defer func() { q.timer.sort = time.Since(sortBegin) }()
	switch v := val.(type) {
	case String:
		return v, ws, nil
	case Grid:
		sort.Sort(v)
		return v, ws, nil
	case Vector:
		return v, ws, nil
	case Matrix:
		if !isInstant {
			sort.Sort(v)
			return v, ws, nil
		}
		switch s.Expr.Type() {
		case parser.ValueTypeVector:
			vec := make(Vector, 0, len(v))
			for _, sr := range v {
				if len(sr.Floats) > 0 {
					vec = append(vec, Sample{Metric: sr.Metric, T: start, F: sr.Floats[0].F})
				}
			}
			return vec, ws, nil
		case parser.ValueTypeScalar:
			f := math.NaN()
			if len(v) > 0 && len(v[0].Floats) > 0 {
				f = v[0].Floats[0].F
			}
			return Scalar{T: start, V: f}, ws, nil
		default:
			sort.Sort(v)
			return v, ws, nil
		}
	}
	return nil, ws, fmt.Errorf("BUG: unexpected result type %T", val)
}
