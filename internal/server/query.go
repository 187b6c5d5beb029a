package server

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"

	"github.com/argus-mon/argus/internal/api"
	"github.com/argus-mon/argus/internal/promql"
)

// QueryOptions are the PromQL engine's limits, Prometheus's --query.* flags.
type QueryOptions struct {
	// Timeout bounds one query. Default 2m.
	Timeout time.Duration
	// MaxSamples bounds the samples a query holds in memory at once.
	// Default 50,000,000.
	MaxSamples int
	// MaxConcurrency is how many queries run at once; more wait. Default 20.
	MaxConcurrency int
	// LookbackDelta is how far back an instant selector looks. Default 5m.
	LookbackDelta time.Duration
	// Parser are the parser's options: the experimental PromQL features
	// switched on with --enable-feature.
	Parser parser.Options
	// DelayedNameRemoval keeps __name__ until the end of a query's
	// evaluation (--enable-feature=promql-delayed-name-removal).
	DelayedNameRemoval bool
	// PerStepStats lets a query's stats=all ask for its sample counts per
	// step (--enable-feature=promql-per-step-stats).
	PerStepStats bool
}

// PromQLFeature switches an --enable-feature option of Prometheus's on in
// opts. It reports whether the name is a PromQL feature argus knows, and
// whether it is accepted only for compatibility (always on in Prometheus 3
// and argus, so naming it changes nothing).
func PromQLFeature(opts *QueryOptions, name string) (known, noop bool) {
	switch name {
	case "promql-experimental-functions":
		opts.Parser.EnableExperimentalFunctions = true
	case "promql-binop-fill-modifiers":
		opts.Parser.EnableBinopFillModifiers = true
	case "promql-unquoted-utf8-names":
		opts.Parser.EnableUnquotedUTF8Names = true
	case "promql-delayed-name-removal":
		opts.DelayedNameRemoval = true
	case "promql-per-step-stats":
		opts.PerStepStats = true
	case "promql-duration-expr", "promql-extended-range-selectors", "promql-at-modifier", "promql-negative-offset":
		return true, true
	default:
		return false, false
	}
	return true, false
}

func (o QueryOptions) withDefaults() QueryOptions {
	if o.Timeout <= 0 {
		o.Timeout = promql.DefaultTimeout
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = promql.DefaultMaxSamples
	}
	if o.MaxConcurrency <= 0 {
		o.MaxConcurrency = 20
	}
	if o.LookbackDelta <= 0 {
		o.LookbackDelta = promql.DefaultLookbackDelta
	}
	return o
}

// queryEngine runs the API's queries on argus's engine over the storage.
type queryEngine struct {
	ng *promql.Engine
	db storage.Queryable
}

// queryOpts are the per-query options of an API query.
type queryOpts struct {
	lookback time.Duration // 0: the engine's
	perStep  bool
}

func (o queryOpts) LookbackDelta() time.Duration { return o.lookback }
func (o queryOpts) EnablePerStepStats() bool     { return o.perStep }

// maxAnnotations bounds the warnings and infos of one answer, as Prometheus
// does.
const maxAnnotations = 10

func (e queryEngine) Query(ctx context.Context, q api.Query) (api.QueryResult, error) {
	var (
		qry promql.Query
		err error
	)
	// As in Prometheus, stats=all asks for the per-step counts, which the
	// engine gives only if they are enabled.
	opts := queryOpts{lookback: q.LookbackDelta, perStep: q.Stats == "all"}
	if q.Step == 0 {
		qry, err = e.ng.NewInstantQuery(ctx, e.db, opts, q.Expr, q.Start)
	} else {
		qry, err = e.ng.NewRangeQuery(ctx, e.db, opts, q.Expr, q.Start, q.End, q.Step)
	}
	if err != nil {
		return api.QueryResult{}, classifyQueryError(err, true)
	}
	res := qry.Exec(ctx)
	if res.Err != nil {
		qry.Close()
		return api.QueryResult{}, classifyQueryError(res.Err, false)
	}
	warnings, infos := res.Warnings.AsStrings(q.Expr, maxAnnotations, maxAnnotations)
	// The result lives in the engine's recycled memory until Close: the API
	// closes the query once the answer is written.
	out := api.QueryResult{Value: res.Value, Warnings: warnings, Infos: infos, Release: qry.Close}
	if q.Stats != "" {
		out.Stats = qry.Stats()
	}
	return out, nil
}

// classifyQueryError gives an engine error the API error type Prometheus
// answers it with. An error from preparing the query (not a parse error,
// which the API recognises itself) is the query's fault: bad_data.
func classifyQueryError(err error, preparing bool) error {
	var (
		timeout  promql.ErrQueryTimeout
		canceled promql.ErrQueryCanceled
		tooMany  promql.ErrTooManySamples
		stErr    promql.ErrStorage
	)
	switch {
	case errors.As(err, &timeout):
		return &api.QueryError{Type: "timeout", Err: err}
	case errors.As(err, &canceled):
		return &api.QueryError{Type: "canceled", Err: err}
	case errors.As(err, &tooMany):
		return &api.QueryError{Type: "execution", Err: err}
	case errors.As(err, &stErr):
		return &api.QueryError{Type: "internal", Err: err}
	case preparing:
		return &api.QueryError{Type: "bad_data", Err: err}
	}
	return &api.QueryError{Type: "execution", Err: err}
}
