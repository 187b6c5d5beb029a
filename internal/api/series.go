package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// checkContextEvery is how many series a loop reads between looks at the
// request's context.
const checkContextEvery = 128

// rangeParams are the parameters the series and label endpoints share.
type rangeParams struct {
	start, end time.Time
	limit      int
	matchers   [][]*labels.Matcher
}

// parseRangeParams reads limit, start, end and match[] in Prometheus's order
// (so the first bad one is reported). A bad match[] is reported as
// invalid parameter "match[]" when matchParamErr is set (series), bare
// otherwise (labels), as in Prometheus.
func (a *API) parseRangeParams(r *http.Request, matchParamErr bool) (rangeParams, *result) {
	var p rangeParams
	var err error
	if err := r.ParseForm(); err != nil {
		res := errResult(errorBadData, fmt.Errorf("error parsing form values: %w", err))
		return p, &res
	}
	if p.limit, err = parseLimit(r.FormValue("limit")); err != nil {
		res := invalidParam(err, "limit")
		return p, &res
	}
	if p.start, err = timeParam(r, "start", MinTime); err != nil {
		res := invalidParam(err, "start")
		return p, &res
	}
	if p.end, err = timeParam(r, "end", MaxTime); err != nil {
		res := invalidParam(err, "end")
		return p, &res
	}
	if p.matchers, err = a.parseMatchers(r.Form["match[]"]); err != nil {
		res := errResult(errorBadData, err)
		if matchParamErr {
			res = invalidParam(err, "match[]")
		}
		return p, &res
	}
	return p, nil
}

func (a *API) querier(p rangeParams) (storage.Querier, *result) {
	if a.opts.Queryable == nil {
		res := errResult(errorUnavailable, errors.New("no storage"))
		return nil, &res
	}
	q, err := a.opts.Queryable.Querier(timestamp.FromTime(p.start), timestamp.FromTime(p.end))
	if err != nil {
		res := storageError(err)
		return nil, &res
	}
	return q, nil
}

func warningStrings(ws annotations.Annotations) []string {
	var out []string
	for _, err := range ws {
		out = append(out, err.Error())
	}
	slices.Sort(out)
	return out
}

// series answers /api/v1/series: the label sets of the series matching any
// of the match[] selectors with samples in [start, end].
func (a *API) series(r *http.Request) result {
	if err := r.ParseForm(); err != nil {
		return errResult(errorBadData, fmt.Errorf("error parsing form values: %w", err))
	}
	if len(r.Form["match[]"]) == 0 {
		return errResult(errorBadData, errors.New("no match[] parameter provided"))
	}
	p, bad := a.parseRangeParams(r, true)
	if bad != nil {
		return *bad
	}
	q, bad := a.querier(p)
	if bad != nil {
		return *bad
	}
	defer q.Close()
	ctx := r.Context()
	hints := &storage.SelectHints{
		Start: timestamp.FromTime(p.start),
		End:   timestamp.FromTime(p.end),
		Func:  "series", // labels only, no samples
		Limit: hintLimit(p.limit),
	}
	var set storage.SeriesSet
	if len(p.matchers) == 1 {
		set = q.Select(ctx, false, hints, p.matchers[0]...)
	} else {
		// Sorted, so the merge can drop series selected twice.
		sets := make([]storage.SeriesSet, 0, len(p.matchers))
		for _, ms := range p.matchers {
			sets = append(sets, q.Select(ctx, true, hints, ms...))
		}
		set = storage.NewMergeSeriesSet(sets, 0, storage.ChainedSeriesMerge)
	}
	out := []labels.Labels{}
	var warnings []string
	for i := 1; set.Next(); i++ {
		if i%checkContextEvery == 0 && ctx.Err() != nil {
			return storageError(ctx.Err())
		}
		out = append(out, set.At().Labels())
		if p.limit > 0 && len(out) > p.limit {
			out = out[:p.limit]
			warnings = append(warnings, truncatedWarning)
			break
		}
	}
	if err := set.Err(); err != nil {
		return storageError(err)
	}
	return result{data: out, warnings: append(warningStrings(set.Warnings()), warnings...)}
}

// labelNames answers /api/v1/labels.
func (a *API) labelNames(r *http.Request) result {
	p, bad := a.parseRangeParams(r, false)
	if bad != nil {
		return *bad
	}
	q, bad := a.querier(p)
	if bad != nil {
		return *bad
	}
	defer q.Close()
	hints := &storage.LabelHints{Limit: hintLimit(p.limit)}
	names, ws, err := unionOf(p.matchers, func(ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelNames(r.Context(), hints, ms...)
	})
	if err != nil {
		return storageError(err)
	}
	return limited(names, p.limit, ws)
}

// labelValues answers /api/v1/label/<name>/values.
func (a *API) labelValues(r *http.Request) result {
	name := r.PathValue("name")
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.UTF8Validation.IsValidLabelName(name) {
		return errResult(errorBadData, fmt.Errorf("invalid label name: %q", name))
	}
	p, bad := a.parseRangeParams(r, false)
	if bad != nil {
		return *bad
	}
	q, bad := a.querier(p)
	if bad != nil {
		return *bad
	}
	defer q.Close()
	hints := &storage.LabelHints{Limit: hintLimit(p.limit)}
	vals, ws, err := unionOf(p.matchers, func(ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelValues(r.Context(), name, hints, ms...)
	})
	if err != nil {
		return storageError(err)
	}
	return limited(vals, p.limit, ws)
}

// unionOf calls get once per matcher set (once with none if there are none)
// and returns the sorted union of the answers.
func unionOf(sets [][]*labels.Matcher, get func([]*labels.Matcher) ([]string, annotations.Annotations, error)) ([]string, annotations.Annotations, error) {
	if len(sets) <= 1 {
		var ms []*labels.Matcher
		if len(sets) == 1 {
			ms = sets[0]
		}
		vals, ws, err := get(ms)
		slices.Sort(vals)
		return vals, ws, err
	}
	var all []string
	var ws annotations.Annotations
	for _, ms := range sets {
		vals, w, err := get(ms)
		if err != nil {
			return nil, ws, err
		}
		ws.Merge(w)
		all = append(all, vals...)
	}
	slices.Sort(all)
	return slices.Compact(all), ws, nil
}

func limited(vals []string, limit int, ws annotations.Annotations) result {
	if vals == nil {
		vals = []string{}
	}
	warnings := warningStrings(ws)
	if limit > 0 && len(vals) > limit {
		vals = vals[:limit]
		warnings = append(warnings, truncatedWarning)
	}
	return result{data: vals, warnings: warnings}
}
