package api

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/argus-mon/argus/internal/tsdb"
)

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"0", "1700000000.123", "-1.5", "1e99", "NaN", "+Inf", "2024-02-29T12:00:00Z",
		"2024-02-29T12:00:00.123456789+02:00", minTimeText, maxTimeText, "9223372036854775807", "abc", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := parseTime(s)
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("error does not name the input: %v", err)
			}
			return
		}
		if ts.Before(MinTime) || ts.After(MaxTime) {
			t.Fatalf("%q: %v outside [MinTime, MaxTime]", s, ts)
		}
		// Milliseconds fit an int64 and round-trip.
		ms := timestamp.FromTime(ts)
		if back := timestamp.Time(ms); back.UnixMilli() != ms {
			t.Fatalf("%q: %d ms does not round-trip", s, ms)
		}
		if v, err := strconv.ParseFloat(s, 64); err == nil && math.Abs(v) < 1e15 {
			// Unix seconds are read to the millisecond.
			if d := math.Abs(float64(ms)/1000 - v); d > 0.0015 {
				t.Fatalf("%q read as %d ms", s, ms)
			}
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"15", "0.5", "-1", "1m30s", "1y", "5m", "1e300", "NaN", "9223372036.854775807", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("error does not name the input: %v", err)
			}
			return
		}
		if v, err := strconv.ParseFloat(s, 64); err == nil {
			if got := d.Seconds(); math.Abs(got-v) > 1e-6*math.Max(1, math.Abs(v)) {
				t.Fatalf("%q read as %v", s, d)
			}
		}
	})
}

// FuzzSeriesRequest sends arbitrary match[], start, end and limit parameters
// to the series and label endpoints over a real storage: every answer is a
// success or a bad_data error, and the API's selector check agrees with the
// upstream parser.
func FuzzSeriesRequest(f *testing.F) {
	db, err := tsdb.Open(context.Background(), f.TempDir(), tsdb.Options{FlushInterval: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	app := db.Appender()
	for i, lset := range []labels.Labels{
		labels.FromStrings("__name__", "up", "job", "a"),
		labels.FromStrings("__name__", "up", "job", "b", "zone", "é"),
		labels.FromStrings("__name__", "http_requests_total", "job", "a", "code", "200"),
	} {
		app.Append(0, lset, 1000, float64(i))
	}
	if err := app.Commit(); err != nil {
		f.Fatal(err)
	}
	a := New(Options{Queryable: db})
	mux := http.NewServeMux()
	a.Register(mux)
	for _, seed := range [][4]string{
		{"up", "", "", ""}, {`{job=~"a|b"}`, "0", "2000", "1"}, {`{__name__=~".*"}`, "", "", ""},
		{`up{job="a"} or`, "", "", ""}, {`{"zone"="é"}`, "-1e3", "1e3", "0"}, {"up", "abc", "", ""}, {"up", "", "", "-1"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	p := parser.NewParser(parser.Options{})
	f.Fuzz(func(t *testing.T, match, start, end, limit string) {
		q := "match[]=" + urlEscape(match) + "&start=" + urlEscape(start) + "&end=" + urlEscape(end) + "&limit=" + urlEscape(limit)
		for _, path := range []string{"/api/v1/series", "/api/v1/labels", "/api/v1/label/job/values"} {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path+"?"+q, nil))
			if rec.Code != 200 && rec.Code != 400 {
				t.Fatalf("%s?%s: %d %s", path, q, rec.Code, rec.Body)
			}
		}
		sets, err := a.parseMatchers([]string{match})
		ms, uerr := p.ParseMetricSelector(match)
		switch {
		case uerr != nil && err == nil:
			t.Fatalf("%q: accepted, upstream parser says %v", match, uerr)
		case uerr == nil && err == nil && len(sets[0]) != len(ms):
			t.Fatalf("%q: %d matchers, upstream %d", match, len(sets[0]), len(ms))
		case uerr == nil && err != nil && selectsSomething(ms):
			t.Fatalf("%q: refused (%v) though it selects something", match, err)
		}
	})
}

func urlEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		b.WriteString("%" + strconv.FormatUint(uint64(c)>>4, 16) + strconv.FormatUint(uint64(c)&15, 16))
	}
	return b.String()
}
