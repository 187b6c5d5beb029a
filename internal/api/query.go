package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/argus-mon/argus/internal/promql"
)

// QueryEngine evaluates PromQL for /api/v1/query and /api/v1/query_range. It
// is the seam where argus's engine plugs in; until it does, Options has none
// and both endpoints answer "unavailable".
//
// Query is called concurrently. ctx carries the request's cancellation and
// the query timeout. A *QueryError answers with its type; an error of type
// *parser.ParseErr or parser.ParseErrors is the query's fault and answers
// bad_data; context.Canceled answers canceled and context.DeadlineExceeded
// timeout; anything else execution.
type QueryEngine interface {
	Query(ctx context.Context, q Query) (QueryResult, error)
}

// Query is one PromQL evaluation: an instant query at Start (End equal to
// Start and Step 0) or a range query from Start to End every Step.
type Query struct {
	Expr       string
	Start, End time.Time
	Step       time.Duration
	// LookbackDelta overrides the engine's lookback delta when non-zero.
	LookbackDelta time.Duration
	// Stats is the stats parameter: when set, the answer carries the
	// query's statistics, with per-step counts for "all" if the engine
	// enables them.
	Stats string
}

// QueryResult is an evaluation's outcome: a value of argus's engine
// (promql.Vector, Matrix, Scalar or String) and the annotations as text.
type QueryResult struct {
	Value    parser.Value
	Warnings []string
	Infos    []string
	// Release, when set, is called once the answer is written: the engine
	// recycles the Value's memory, which must not be used afterwards.
	Release func()
	// Stats are the query's statistics, answered as data.stats when set.
	Stats *promql.QueryStats
}

// QueryError is an engine error with the API error type it answers with.
type QueryError struct {
	Type string // "bad_data", "execution", "canceled", "timeout" or "internal"
	Err  error
}

func (e *QueryError) Error() string { return e.Err.Error() }
func (e *QueryError) Unwrap() error { return e.Err }

// queryData is the data of a query answer.
type queryData struct {
	ResultType parser.ValueType   `json:"resultType"`
	Result     queryValue         `json:"result"`
	Stats      *promql.QueryStats `json:"stats,omitempty"`
}

// maxPointsPerSeries bounds the steps of a range query, as in Prometheus.
const maxPointsPerSeries = 11000

var errNoEngine = errors.New("PromQL queries are not available yet: argus has no query engine")

// query answers /api/v1/query.
func (a *API) query(r *http.Request) result {
	if a.opts.QueryEngine == nil {
		return errResult(errorUnavailable, errNoEngine)
	}
	ts, err := timeParam(r, "time", time.Now())
	if err != nil {
		return invalidParam(err, "time")
	}
	return a.runQuery(r, Query{Expr: r.FormValue("query"), Start: ts, End: ts})
}

// queryRange answers /api/v1/query_range.
func (a *API) queryRange(r *http.Request) result {
	if a.opts.QueryEngine == nil {
		return errResult(errorUnavailable, errNoEngine)
	}
	start, err := parseTime(r.FormValue("start"))
	if err != nil {
		return invalidParam(err, "start")
	}
	end, err := parseTime(r.FormValue("end"))
	if err != nil {
		return invalidParam(err, "end")
	}
	if end.Before(start) {
		return invalidParam(errors.New("end timestamp must not be before start time"), "end")
	}
	step, err := parseDuration(r.FormValue("step"))
	if err != nil {
		return invalidParam(err, "step")
	}
	if step <= 0 {
		return invalidParam(errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"), "step")
	}
	if end.Sub(start)/step > maxPointsPerSeries {
		return errResult(errorBadData, errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"))
	}
	res := a.runQuery(r, Query{Expr: r.FormValue("query"), Start: start, End: end, Step: step})
	// The encoding depends on the Accept header (argus's own grid encoding
	// for its web UI, see gridMediaType).
	res.vary = "Accept"
	if acceptsGrid(r.Header.Get("Accept")) {
		res, _ = toGrid(res, start, step)
	}
	return res
}

// runQuery reads the parameters both query endpoints share (timeout,
// lookback_delta), runs the query and classifies its error.
func (a *API) runQuery(r *http.Request, q Query) result {
	ctx := r.Context()
	if s := r.FormValue("timeout"); s != "" {
		timeout, err := parseDuration(s)
		if err != nil {
			return invalidParam(err, "timeout")
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if s := r.FormValue("lookback_delta"); s != "" {
		d, err := parseDuration(s)
		if err != nil {
			return invalidParam(fmt.Errorf("error parsing lookback delta duration: %w", err), "lookback_delta")
		}
		q.LookbackDelta = d
	}
	q.Stats = r.FormValue("stats")
	res, err := a.opts.QueryEngine.Query(ctx, q)
	if err != nil {
		var pe *parser.ParseErr
		var pes parser.ParseErrors
		var qe *QueryError
		switch {
		case errors.As(err, &qe):
			if qe.Type == string(errorBadData) {
				return invalidParam(qe.Err, "query")
			}
			return errResult(errorType(qe.Type), qe.Err)
		case errors.As(err, &pe), errors.As(err, &pes):
			return invalidParam(err, "query")
		case errors.Is(err, context.Canceled):
			return errResult(errorCanceled, err)
		case errors.Is(err, context.DeadlineExceeded):
			return errResult(errorTimeout, err)
		}
		return errResult(errorExec, err)
	}
	return result{data: queryData{ResultType: res.Value.Type(), Result: queryValue{res.Value}, Stats: res.Stats}, warnings: res.Warnings, infos: res.Infos, release: res.Release}
}
