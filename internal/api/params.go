package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// MinTime and MaxTime are the defaults of optional start and end parameters,
// the values Prometheus uses (and clients such as Grafana send back): far
// enough out for any data, close enough that milliseconds since the epoch
// fit an int64.
var (
	MinTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	MaxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()
)

// minTimeText and maxTimeText are MinTime and MaxTime as RFC 3339, which
// time.Parse cannot read back (their years have more than four digits).
var (
	minTimeText = MinTime.Format(time.RFC3339Nano)
	maxTimeText = MaxTime.Format(time.RFC3339Nano)
)

// maxSelectors bounds the match[] parameters of one request. Each selector
// is a separate index lookup; no client sends anything near this many.
const maxSelectors = 1000

// parseTime reads a timestamp as Prometheus does: unix seconds with an
// optional fraction (rounded to milliseconds), or RFC 3339. Unlike
// Prometheus, it refuses NaN, infinities and times outside [MinTime,
// MaxTime], whose milliseconds would not fit an int64.
func parseTime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || f < float64(MinTime.Unix()) || f > float64(MaxTime.Unix()) {
			return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
		}
		sec, frac := math.Modf(f)
		frac = math.Round(frac*1000) / 1000
		return time.Unix(int64(sec), int64(frac*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if t.Before(MinTime) || t.After(MaxTime) {
			return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
		}
		return t, nil
	}
	switch s {
	case minTimeText:
		return MinTime, nil
	case maxTimeText:
		return MaxTime, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// timeParam reads the time parameter name, or def when it is absent. The
// error is worded as Prometheus words it.
func timeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time value for '%s': %w", name, err)
	}
	return t, nil
}

// parseDuration reads a duration as Prometheus does: seconds with an optional
// fraction, or a Prometheus duration such as 1m30s.
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		ns := f * float64(time.Second)
		// float64(math.MaxInt64) is 2^63, which int64 cannot hold; NaN fails
		// every comparison.
		if math.IsNaN(ns) || ns >= float64(math.MaxInt64) || ns < float64(math.MinInt64) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ns), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// parseLimit reads a limit parameter; 0 (also when absent) means none.
func parseLimit(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, errors.New("limit must be non-negative")
	}
	return n, nil
}

// hintLimit is the limit asked of the storage: one more than the API's, so
// the handler can tell whether it truncated.
func hintLimit(limit int) int {
	if limit > 0 && limit < math.MaxInt {
		return limit + 1
	}
	return limit
}

// truncatedWarning is Prometheus's warning for a result cut to the limit.
const truncatedWarning = "results truncated due to limit"

// parseMatchers parses match[] selectors. Like Prometheus it refuses a
// selector every one of whose matchers matches the empty string, which would
// select every series.
func (a *API) parseMatchers(selectors []string) ([][]*labels.Matcher, error) {
	if len(selectors) > maxSelectors {
		return nil, fmt.Errorf("too many match[] selectors: %d, at most %d", len(selectors), maxSelectors)
	}
	sets, err := a.parser.ParseMetricSelectors(selectors)
	if err != nil {
		return nil, err
	}
	for _, ms := range sets {
		if !selectsSomething(ms) {
			return nil, errors.New("match[] must contain at least one non-empty matcher")
		}
	}
	return sets, nil
}

func selectsSomething(ms []*labels.Matcher) bool {
	for _, m := range ms {
		if m != nil && !m.Matches("") {
			return true
		}
	}
	return false
}
