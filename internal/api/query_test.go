package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/argus-mon/argus/internal/promql"
)

// recordingEngine is a test double of the QueryEngine seam: it records the
// query it is given and answers a string value, or fails with err.
type recordingEngine struct {
	got Query
	err error
}

func (e *recordingEngine) Query(ctx context.Context, q Query) (QueryResult, error) {
	e.got = q
	if e.err != nil {
		return QueryResult{}, e.err
	}
	if _, ok := ctx.Deadline(); ok && q.Expr == "deadline?" {
		return QueryResult{}, context.DeadlineExceeded
	}
	return QueryResult{Value: promql.String{T: q.End.UnixMilli(), V: q.Expr}, Warnings: []string{"w"}}, nil
}

// TestQueryEngineSeam checks the plumbing of the query endpoints through the
// QueryEngine interface: parameters, error classification and the answer's
// shape, with a recording stand-in for the engine (the server's tests run
// the real one).
func TestQueryEngineSeam(t *testing.T) {
	eng := &recordingEngine{}
	a := New(Options{QueryEngine: eng})
	mux := http.NewServeMux()
	a.Register(mux)
	do := func(method, path string, form url.Values) (int, apiResponse) {
		t.Helper()
		var req *http.Request
		if method == http.MethodGet {
			req = httptest.NewRequest(method, path+"?"+form.Encode(), nil)
		} else {
			req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		var r apiResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatalf("%s: %q", path, rec.Body)
		}
		return rec.Code, r
	}

	code, r := do("GET", "/api/v1/query", url.Values{"query": {"hello"}, "time": {"100.5"}, "lookback_delta": {"1m"}})
	// Milliseconds always in three digits, as Prometheus writes them.
	if code != 200 || string(r.Data) != `{"resultType":"string","result":[100.500,"hello"]}` || len(r.Warnings) != 1 {
		t.Errorf("instant query: %d %s %v", code, r.Data, r.Warnings)
	}
	if !eng.got.Start.Equal(time.UnixMilli(100500)) || eng.got.Step != 0 || eng.got.LookbackDelta != time.Minute {
		t.Errorf("instant query given to the engine: %+v", eng.got)
	}
	code, r = do("POST", "/api/v1/query_range", url.Values{"query": {"x"}, "start": {"0"}, "end": {"60"}, "step": {"15s"}})
	if code != 200 || eng.got.Step != 15*time.Second || !eng.got.End.Equal(time.Unix(60, 0)) {
		t.Errorf("range query: %d %s %+v", code, r.Data, eng.got)
	}
	code, r = do("GET", "/api/v1/query", url.Values{"query": {"deadline?"}, "timeout": {"1s"}})
	if code != 503 || r.ErrorType != "timeout" {
		t.Errorf("timeout: %d %s %q", code, r.ErrorType, r.Error)
	}

	for _, tc := range []struct {
		name string
		form url.Values
		code int
		typ  string
		msg  string
	}{
		{"end before start", url.Values{"start": {"10"}, "end": {"5"}, "step": {"1"}}, 400, "bad_data", `invalid parameter "end": end timestamp must not be before start time`},
		{"zero step", url.Values{"start": {"0"}, "end": {"5"}, "step": {"0"}}, 400, "bad_data", `invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer`},
		{"bad step", url.Values{"start": {"0"}, "end": {"5"}, "step": {"x"}}, 400, "bad_data", `invalid parameter "step": cannot parse "x" to a valid duration`},
		{"too many points", url.Values{"start": {"0"}, "end": {"100000"}, "step": {"1"}}, 400, "bad_data", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"},
		{"missing start", url.Values{"end": {"5"}, "step": {"1"}}, 400, "bad_data", `invalid parameter "start": cannot parse "" to a valid timestamp`},
		{"bad timeout", url.Values{"start": {"0"}, "end": {"5"}, "step": {"1"}, "timeout": {"soon"}}, 400, "bad_data", `invalid parameter "timeout": cannot parse "soon" to a valid duration`},
	} {
		code, r := do("GET", "/api/v1/query_range", tc.form)
		if code != tc.code || r.ErrorType != tc.typ || r.Error != tc.msg {
			t.Errorf("%s: %d %s %q", tc.name, code, r.ErrorType, r.Error)
		}
	}

	eng.err = &parser.ParseErr{Err: errors.New("unexpected end of input")}
	if code, r = do("GET", "/api/v1/query", url.Values{"query": {"sum("}}); code != 400 || r.ErrorType != "bad_data" {
		t.Errorf("parse error: %d %s %q", code, r.ErrorType, r.Error)
	}
	eng.err = errors.New("out of memory budget")
	if code, r = do("GET", "/api/v1/query", url.Values{"query": {"x"}}); code != 422 || r.ErrorType != "execution" {
		t.Errorf("execution error: %d %s %q", code, r.ErrorType, r.Error)
	}
	eng.err = context.Canceled
	if code, r = do("GET", "/api/v1/query", url.Values{"query": {"x"}}); code != 499 || r.ErrorType != "canceled" {
		t.Errorf("canceled: %d %s %q", code, r.ErrorType, r.Error)
	}
}

// statsEngine answers with fixed stats when the query asks for them.
type statsEngine struct{ got Query }

func (e *statsEngine) Query(_ context.Context, q Query) (QueryResult, error) {
	e.got = q
	res := QueryResult{Value: promql.Scalar{T: 1000, V: 1}}
	if q.Stats != "" {
		res.Stats = &promql.QueryStats{
			Timings: promql.QueryTimings{EvalTotalTime: 0.5, ExecTotalTime: 1},
			Samples: &promql.QuerySamples{TotalQueryableSamples: 3, SamplesRead: 2, SeriesTouched: 1, PeakSamples: 4},
		}
		if q.Stats == "all" {
			res.Stats.Samples.TotalQueryableSamplesPerStep = []promql.StepStat{{T: 1000, V: 3}}
			res.Stats.Samples.SamplesReadPerStep = []promql.StepStat{{T: 1000, V: 2}}
		}
	}
	return res, nil
}

// TestQueryStatsParam: the stats parameter reaches the engine and its stats
// are answered as data.stats in Prometheus's JSON, and only when asked for.
func TestQueryStatsParam(t *testing.T) {
	eng := &statsEngine{}
	a := New(Options{QueryEngine: eng})
	mux := http.NewServeMux()
	a.Register(mux)
	const (
		timings = `"timings":{"evalTotalTime":0.5,"resultSortTime":0,"queryPreparationTime":0,"innerEvalTime":0,"execQueueTime":0,"execTotalTime":1}`
		samples = `"totalQueryableSamples":3,"samplesRead":2,"seriesTouched":1,"peakSamples":4`
		result  = `{"resultType":"scalar","result":[1,"1"]`
	)
	for _, c := range []struct {
		path, stats, want string
	}{
		{"/api/v1/query", "", result + `}`},
		{"/api/v1/query", "1", result + `,"stats":{` + timings + `,"samples":{` + samples + `}}}`},
		{"/api/v1/query_range", "true", result + `,"stats":{` + timings + `,"samples":{` + samples + `}}}`},
		{"/api/v1/query", "all", result + `,"stats":{` + timings + `,"samples":{"totalQueryableSamplesPerStep":[[1,3]],"totalQueryableSamples":3,"samplesReadPerStep":[[1,2]],` +
			`"samplesRead":2,"seriesTouched":1,"peakSamples":4}}}`},
	} {
		form := url.Values{"query": {"1"}, "time": {"1"}, "start": {"1"}, "end": {"1"}, "step": {"1"}}
		if c.stats != "" {
			form.Set("stats", c.stats)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", c.path+"?"+form.Encode(), nil))
		var r apiResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatalf("%s: %q", c.path, rec.Body)
		}
		if rec.Code != 200 || eng.got.Stats != c.stats || string(r.Data) != c.want {
			t.Errorf("%s stats=%q: %d, engine got %q, data\n%s\nwant\n%s", c.path, c.stats, rec.Code, eng.got.Stats, r.Data, c.want)
		}
	}
}
