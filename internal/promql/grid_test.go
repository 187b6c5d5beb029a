package promql

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/promqltest"
)

// TestGridResult checks which range queries answer with a Grid and that
// a Grid holds the points a Matrix would: gaps, late starts, staleness
// markers, and series that merge once their names are dropped.
func TestGridResult(t *testing.T) {
	st := promqltest.LoadedStorage(t, `
load 1m
	a{x="1"} 1 2 _ _ _ _ _ 8
	a{x="2"} _ _ _ 4 5
	a{x="3"} 1 stale 3
	m1{x="1"} 1 2 _ _
	m2{x="1"} _ _ 3 4
	m3{x="1"} 1 2
	m4{x="1"} 1 2
`)
	defer st.Close()
	ctx := context.Background()
	run := func(t *testing.T, ng *Engine, qs string) *Result {
		t.Helper()
		q, err := ng.NewRangeQuery(ctx, st, nil, qs, time.Unix(0, 0), time.Unix(420, 0), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(q.Close)
		return q.Exec(ctx)
	}
	ng := NewEngine(EngineOpts{})

	res := run(t, ng, `max_over_time(a[1m])`)
	g, ok := res.Value.(Grid)
	if res.Err != nil || !ok {
		t.Fatalf("got %T, %v; want a Grid", res.Value, res.Err)
	}
	if g.Start != 0 || g.Interval != 60_000 || len(g.Series) != 3 {
		t.Fatalf("start %d, interval %d, %d series; want 0, 60000, 3", g.Start, g.Interval, len(g.Series))
	}
	want := []struct {
		metric string
		first  int
		values []float64
	}{
		{`{x="1"}`, 0, []float64{1, 2, Absent, Absent, Absent, Absent, Absent, 8}},
		{`{x="2"}`, 3, []float64{4, 5}},
		// The staleness marker at 1m ends the series there; max_over_time
		// skips it, and the window at 2m holds the sample at 2m.
		{`{x="3"}`, 0, []float64{1, Absent, 3}},
	}
	for i, w := range want {
		s := g.Series[i]
		if s.Metric.String() != w.metric || s.First != w.first || !sameBits(s.Values, w.values) {
			t.Errorf("series %d: %s first %d values %v; want %s first %d values %v", i, s.Metric, s.First, s.Values, w.metric, w.first, w.values)
		}
	}
	if pts := g.Matrix()[0].Floats; len(pts) != 3 || pts[2] != (FPoint{T: 420_000, F: 8}) {
		t.Errorf("as a matrix, series 0 has points %v; want 3 ending with 8 at 420000", pts)
	}

	// A selector keeps its name; the marker at 1m leaves that step empty.
	res = run(t, ng, `a{x="3"}`)
	g, ok = res.Value.(Grid)
	if !ok || len(g.Series) != 1 || g.Series[0].Metric.Get(labels.MetricName) != "a" || !sameBits(g.Series[0].Values, []float64{1, Absent, 3, 3, 3, 3, 3}) {
		t.Fatalf("a{x=\"3\"}: got %v", res.Value)
	}

	// An aggregation answers with a Matrix.
	if res := run(t, ng, `sum(a)`); res.Err != nil {
		t.Fatal(res.Err)
	} else if _, ok := res.Value.(Matrix); !ok {
		t.Fatalf("sum(a): got %T, want a Matrix", res.Value)
	}

	for _, delayed := range []bool{false, true} {
		ng := NewEngine(EngineOpts{EnableDelayedNameRemoval: delayed})
		// Two series that are the same without their names merge where
		// they have no step in common...
		res := run(t, ng, `max_over_time({__name__=~"m1|m2"}[1m])`)
		m, ok := res.Value.(Matrix)
		if res.Err != nil || !ok || len(m) != 1 || len(m[0].Floats) != 4 || m[0].Metric.String() != `{x="1"}` {
			t.Errorf("delayed=%v: merged series: got %v, %v", delayed, res.Value, res.Err)
		}
		// ...and fail the query where they have.
		res = run(t, ng, `max_over_time({__name__=~"m3|m4"}[1m])`)
		if res.Err == nil || !strings.Contains(res.Err.Error(), "same labelset") {
			t.Errorf("delayed=%v: colliding series: got %v, %v", delayed, res.Value, res.Err)
		}
	}
}

// TestStreamedInstantResult: an instant query whose top-level expression
// streams its series answers with a Vector written as it streams, and two
// series that are the same without their names fail it.
func TestStreamedInstantResult(t *testing.T) {
	st := promqltest.LoadedStorage(t, `
load 1m
	a{x="1"} 1 2
	a{x="2"} _ 4
	m3{x="1"} 1 2
	m4{x="1"} 1 2
`)
	defer st.Close()
	ctx := context.Background()
	for _, delayed := range []bool{false, true} {
		ng := NewEngine(EngineOpts{EnableDelayedNameRemoval: delayed})
		run := func(qs string) *Result {
			q, err := ng.NewInstantQuery(ctx, st, nil, qs, time.Unix(60, 0))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(q.Close)
			return q.Exec(ctx)
		}
		res := run(`max_over_time(a[2m])`)
		v, ok := res.Value.(Vector)
		if res.Err != nil || !ok || len(v) != 2 || v[0].Metric.String() != `{x="1"}` || v[0].F != 2 || v[0].T != 60_000 || v[1].F != 4 {
			t.Errorf("delayed=%v: got %v, %v", delayed, res.Value, res.Err)
		}
		res = run(`a`)
		if v, ok := res.Value.(Vector); !ok || len(v) != 2 || !labels.Equal(v[1].Metric, labels.FromStrings("__name__", "a", "x", "2")) {
			t.Errorf("delayed=%v: selector: got %v, %v", delayed, res.Value, res.Err)
		}
		res = run(`max_over_time({__name__=~"m3|m4"}[1m])`)
		if res.Err == nil || !strings.Contains(res.Err.Error(), "same labelset") {
			t.Errorf("delayed=%v: colliding series: got %v, %v", delayed, res.Value, res.Err)
		}
	}
}

func sameBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}
