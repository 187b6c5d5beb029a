package api

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/argus-mon/argus/internal/promql"
)

func TestAcceptsGrid(t *testing.T) {
	for h, want := range map[string]bool{
		"":                                   false,
		"application/json":                   false,
		"*/*":                                false,
		gridMediaType:                        true,
		"application/VND.argus.grid+json":    true,
		gridMediaType + ", application/json": true,
		"application/json, " + gridMediaType + ";q=0.5": true,
		gridMediaType + "; q=0":                         false,
		gridMediaType + ";q=0.0":                        false,
		"application/vnd.argus.grid+jsonx":              false,
	} {
		if got := acceptsGrid(h); got != want {
			t.Errorf("acceptsGrid(%q) = %v, want %v", h, got, want)
		}
	}
}

// valueEngine answers every query with a fixed value, annotations and
// (stats when asked for), or fails with err.
type valueEngine struct {
	v   parser.Value
	err error
}

func (e valueEngine) Query(_ context.Context, q Query) (QueryResult, error) {
	if e.err != nil {
		return QueryResult{}, e.err
	}
	res := QueryResult{Value: e.v, Warnings: []string{"w1"}, Infos: []string{"i1"}}
	if q.Stats != "" {
		res.Stats = &promql.QueryStats{Samples: &promql.QuerySamples{SamplesRead: 7}}
	}
	return res, nil
}

// rangeAnswer asks for a range query from 100 s to 400 s every 60 s with
// the given Accept header and returns the status, Content-Type, Vary and
// body.
func rangeAnswer(t *testing.T, eng QueryEngine, accept string) (int, string, []string, string) {
	t.Helper()
	a := New(Options{QueryEngine: eng})
	mux := http.NewServeMux()
	a.Register(mux)
	form := url.Values{"query": {"x"}, "start": {"100"}, "end": {"400"}, "step": {"60"}, "stats": {"1"}}
	req := httptest.NewRequest("GET", "/api/v1/query_range?"+form.Encode(), nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("Content-Type"), rec.Header().Values("Vary"), rec.Body.String()
}

func TestGridEncoding(t *testing.T) {
	m := promql.Matrix{
		// A gap at 220 s, NaN, +Inf and -Inf, a stale marker (a gap).
		{Metric: labels.FromStrings("__name__", "up", "job", "a"), Floats: []promql.FPoint{
			{T: 100_000, F: 1}, {T: 160_000, F: 2.5}, {T: 280_000, F: math.NaN()}, {T: 340_000, F: math.Inf(1)}, {T: 400_000, F: math.Inf(-1)},
		}},
		// Starts late, ends early: its offset is its first step.
		{Metric: labels.FromStrings("job", "b"), Floats: []promql.FPoint{
			{T: 220_000, F: 1e-9}, {T: 280_000, F: math.Float64frombits(value.StaleNaN)}, {T: 340_000, F: -3e21},
		}},
		{Metric: labels.EmptyLabels()},
	}
	code, ctype, vary, body := rangeAnswer(t, valueEngine{v: m}, "application/json;q=0.9, "+gridMediaType)
	want := `{"status":"success","data":{"resultType":"matrix","start":100,"step":60,"result":[` +
		`{"metric":{"__name__":"up","job":"a"},"offset":0,"grid":[1,2.5,null,"NaN","+Inf","-Inf"]},` +
		`{"metric":{"job":"b"},"offset":2,"grid":[1e-09,null,-3e+21]},` +
		`{"metric":{},"offset":0,"grid":[]}],` +
		`"stats":{"timings":{"evalTotalTime":0,"resultSortTime":0,"queryPreparationTime":0,"innerEvalTime":0,"execQueueTime":0,"execTotalTime":0},` +
		`"samples":{"totalQueryableSamples":0,"samplesRead":7,"seriesTouched":0,"peakSamples":0}}},` +
		`"warnings":["w1"],"infos":["i1"]}`
	if code != 200 || ctype != gridMediaType || body != want {
		t.Errorf("grid answer: %d %q\n%s\nwant\n%s", code, ctype, body, want)
	}
	if !json.Valid([]byte(body)) {
		t.Errorf("not JSON: %s", body)
	}
	if !hasVary(vary, "Accept") {
		t.Errorf("Vary: %q", vary)
	}

	// Any other client gets the standard encoding, byte for byte what
	// the encoder of the standard format writes.
	std, err := appendValue(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, accept := range []string{"", "application/json", "*/*", gridMediaType + ";q=0"} {
		code, ctype, vary, body := rangeAnswer(t, valueEngine{v: m}, accept)
		want := `{"status":"success","data":{"resultType":"matrix","result":` + string(std) +
			`,"stats":{"timings":{"evalTotalTime":0,"resultSortTime":0,"queryPreparationTime":0,"innerEvalTime":0,"execQueueTime":0,"execTotalTime":0},` +
			`"samples":{"totalQueryableSamples":0,"samplesRead":7,"seriesTouched":0,"peakSamples":0}}},"warnings":["w1"],"infos":["i1"]}`
		if code != 200 || ctype != "application/json" || body != want || !hasVary(vary, "Accept") {
			t.Errorf("Accept %q: %d %q %q\n%s\nwant\n%s", accept, code, ctype, vary, body, want)
		}
	}
}

// TestGridFallsBack: what the grid cannot say is answered in the standard
// encoding, and errors are the same whatever the client accepts.
func TestGridFallsBack(t *testing.T) {
	offGrid := promql.Matrix{{Metric: labels.FromStrings("a", "b"), Floats: []promql.FPoint{{T: 100_000, F: 1}, {T: 130_000, F: 2}}}}
	twice := promql.Matrix{{Metric: labels.FromStrings("a", "b"), Floats: []promql.FPoint{{T: 100_000, F: 1}, {T: 160_000, F: 2}, {T: 160_000, F: 3}}}}
	early := promql.Matrix{{Metric: labels.FromStrings("a", "b"), Floats: []promql.FPoint{{T: 40_000, F: 1}, {T: 100_000, F: 2}}}}
	for name, eng := range map[string]QueryEngine{
		"off the grid":     valueEngine{v: offGrid},
		"two on one step":  valueEngine{v: twice},
		"before the start": valueEngine{v: early},
		"scalar":           valueEngine{v: promql.Scalar{T: 100_000, V: 1}},
		"error":            valueEngine{err: errors.New("boom")},
		"parse error":      valueEngine{err: &parser.ParseErr{Err: errors.New("unexpected end of input")}},
	} {
		c1, t1, _, b1 := rangeAnswer(t, eng, gridMediaType)
		c2, t2, _, b2 := rangeAnswer(t, eng, "")
		if c1 != c2 || t1 != "application/json" || t2 != "application/json" || b1 != b2 {
			t.Errorf("%s: grid asked %d %q %s; not asked %d %q %s", name, c1, t1, b1, c2, t2, b2)
		}
	}
}

// TestGridInstantQueryUnchanged: only range queries have a grid.
func TestGridInstantQueryUnchanged(t *testing.T) {
	a := New(Options{QueryEngine: valueEngine{v: promql.Vector{{Metric: labels.FromStrings("a", "b"), T: 100_000, F: 1}}}})
	mux := http.NewServeMux()
	a.Register(mux)
	req := httptest.NewRequest("GET", "/api/v1/query?query=x&time=100", nil)
	req.Header.Set("Accept", gridMediaType)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	want := `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[100,"1"]}]},"warnings":["w1"],"infos":["i1"]}`
	if rec.Header().Get("Content-Type") != "application/json" || rec.Body.String() != want {
		t.Errorf("instant query: %q %s", rec.Header().Get("Content-Type"), rec.Body)
	}
}

func hasVary(vary []string, h string) bool {
	for _, v := range vary {
		if v == h {
			return true
		}
	}
	return false
}

// TestEngineGrid: an answer the engine wrote as a Grid is encoded as the
// same points in a Matrix are, in both encodings.
func TestEngineGrid(t *testing.T) {
	a := promql.Absent
	g := promql.Grid{Start: 100_000, Interval: 60_000, Series: []promql.GridSeries{
		{Metric: labels.FromStrings("__name__", "up", "job", "a"), First: 0, Values: []float64{1, 2.5, a, math.NaN(), math.Inf(1), math.Inf(-1)}},
		{Metric: labels.FromStrings("job", "b"), First: 2, Values: []float64{1e-9, a, a, -3e21}},
	}}
	m := g.Matrix()
	if len(m[1].Floats) != 2 || m[1].Floats[1] != (promql.FPoint{T: 400_000, F: -3e21}) {
		t.Fatalf("Grid.Matrix: %v", m)
	}
	for _, accept := range []string{"", gridMediaType} {
		_, ctype, _, fromGrid := rangeAnswer(t, valueEngine{v: g}, accept)
		_, _, _, fromMatrix := rangeAnswer(t, valueEngine{v: m}, accept)
		if fromGrid != fromMatrix || (accept != "") != (ctype == gridMediaType) {
			t.Errorf("Accept %q: %q\n%s\nfrom the matrix\n%s", accept, ctype, fromGrid, fromMatrix)
		}
	}
	// A grid that is not the query's (another start) is not re-encoded.
	g.Start = 40_000
	if _, ctype, _, _ := rangeAnswer(t, valueEngine{v: g}, gridMediaType); ctype != "application/json" {
		t.Errorf("grid with another start: %q", ctype)
	}
}
