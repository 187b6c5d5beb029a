package rules

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/storage"

	"github.com/argus-mon/argus/internal/promql"
)

// Engine is the part of argus's PromQL engine that rules use.
type Engine interface {
	NewInstantQuery(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string, ts time.Time) (promql.Query, error)
}

// EngineQueryFunc evaluates instant queries with ng over q, as Prometheus's
// rule manager does: a scalar becomes a vector of one sample without
// labels; other result types are errors.
func EngineQueryFunc(ng Engine, q storage.Queryable) QueryFunc {
	return func(ctx context.Context, qs string, ts time.Time) (promql.Vector, error) {
		qry, err := ng.NewInstantQuery(ctx, q, nil, qs, ts)
		if err != nil {
			return nil, err
		}
		defer qry.Close()
		res := qry.Exec(ctx)
		if res.Err != nil {
			return nil, res.Err
		}
		switch v := res.Value.(type) {
		case promql.Vector:
			return v, nil
		case promql.Scalar:
			return promql.Vector{{T: v.T, F: v.V}}, nil
		default:
			return nil, fmt.Errorf("rule result is not a vector or scalar: %s", res.Value.Type())
		}
	}
}
