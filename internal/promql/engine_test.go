package promql

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"
)

func loadTestData(t *testing.T) storage.Storage {
	t.Helper()
	return promqltest.LoadedStorage(t, `
load 1m
	metric{a="1"} 0+1x100
	metric{a="2"} 0+2x100
`)
}

func TestEngineLimits(t *testing.T) {
	st := loadTestData(t)
	defer st.Close()
	ctx := context.Background()

	t.Run("max samples", func(t *testing.T) {
		ng := NewEngine(EngineOpts{MaxSamples: 50})
		q, err := ng.NewRangeQuery(ctx, st, nil, "metric", time.Unix(0, 0), time.Unix(3600, 0), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		res := q.Exec(ctx)
		var tooMany ErrTooManySamples
		if !errors.As(res.Err, &tooMany) || !strings.Contains(res.Err.Error(), "query processing would load too many samples into memory in query execution") {
			t.Fatalf("got %v, want ErrTooManySamples", res.Err)
		}
	})

	t.Run("canceled", func(t *testing.T) {
		ng := NewEngine(EngineOpts{})
		q, err := ng.NewInstantQuery(ctx, st, nil, "metric", time.Unix(60, 0))
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		var canceled ErrQueryCanceled
		if res := q.Exec(cctx); !errors.As(res.Err, &canceled) {
			t.Fatalf("got %v, want ErrQueryCanceled", res.Err)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		ng := NewEngine(EngineOpts{Timeout: time.Nanosecond})
		q, err := ng.NewInstantQuery(ctx, st, nil, "metric", time.Unix(60, 0))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
		var timeout ErrQueryTimeout
		if res := q.Exec(ctx); !errors.As(res.Err, &timeout) {
			t.Fatalf("got %v, want ErrQueryTimeout", res.Err)
		}
	})

	t.Run("max concurrent", func(t *testing.T) {
		ng := NewEngine(EngineOpts{MaxConcurrent: 1})
		release, err := ng.acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		q, err := ng.NewInstantQuery(ctx, st, nil, "metric", time.Unix(60, 0))
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		var timeout ErrQueryTimeout
		if res := q.Exec(wctx); !errors.As(res.Err, &timeout) {
			t.Fatalf("query waiting for a slot: got %v, want ErrQueryTimeout", res.Err)
		}
		release()
		if res := q.Exec(ctx); res.Err != nil {
			t.Fatalf("after release: %v", res.Err)
		}
	})
}

func TestNativeHistogramsFail(t *testing.T) {
	st := teststorage.New(t)
	defer st.Close()
	app := st.AppenderV2(context.Background())
	h := &histogram.Histogram{Count: 1, Sum: 1, Schema: 0, ZeroThreshold: 0.001, ZeroCount: 1}
	if _, err := app.Append(0, labels.FromStrings("__name__", "h"), 0, 1000, 0, h, nil, storage.AppendV2Options{}); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	ng := NewEngine(EngineOpts{})
	for _, qs := range []string{"h", "rate(h[5m])", "sum(h)", "histogram_quantile(0.5, h)"} {
		q, err := ng.NewInstantQuery(context.Background(), st, nil, qs, time.Unix(10, 0))
		if err != nil {
			t.Fatal(err)
		}
		if res := q.Exec(context.Background()); !errors.Is(res.Err, ErrNativeHistograms) {
			t.Errorf("%s: got %v, want ErrNativeHistograms", qs, res.Err)
		}
	}
}

func TestRangeQueryValidation(t *testing.T) {
	ng := NewEngine(EngineOpts{})
	if _, err := ng.NewRangeQuery(context.Background(), nil, nil, "metric[5m]", time.Unix(0, 0), time.Unix(60, 0), time.Second); err == nil {
		t.Error("range query of a range vector: want error")
	}
	if _, err := ng.NewRangeQuery(context.Background(), nil, nil, "metric", time.Unix(0, 0), time.Unix(60, 0), 0); err == nil {
		t.Error("zero step: want error")
	}
	ng = NewEngine(EngineOpts{DisableAtModifier: true})
	if _, err := ng.NewInstantQuery(context.Background(), nil, nil, "metric @ 10", time.Unix(0, 0)); !errors.Is(err, ErrValidationAtModifierDisabled) {
		t.Errorf("@ disabled: got %v", err)
	}
}
