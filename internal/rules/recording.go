package rules

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/argus-mon/argus/internal/promql"
	"github.com/argus-mon/argus/internal/rulefmt"
)

// RecordingRule records the result of an expression as a new series.
type RecordingRule struct {
	name   string
	expr   parser.Expr
	labels labels.Labels
	*ruleStatus
}

// NewRecordingRule returns a rule recording expr as name with labels added.
func NewRecordingRule(name string, expr parser.Expr, lset labels.Labels) *RecordingRule {
	return &RecordingRule{name: name, expr: expr, labels: lset, ruleStatus: newRuleStatus()}
}

func (r *RecordingRule) Name() string          { return r.name }
func (r *RecordingRule) Query() parser.Expr    { return r.expr }
func (r *RecordingRule) Labels() labels.Labels { return r.labels }

func (r *RecordingRule) eval(ctx context.Context, queryOffset time.Duration, ts time.Time, query QueryFunc, limit int) (promql.Vector, error) {
	vector, err := query(ctx, r.expr.String(), ts.Add(-queryOffset))
	if err != nil {
		return nil, err
	}
	lb := labels.NewBuilder(labels.EmptyLabels())
	seen := make(map[uint64]struct{}, len(vector))
	for i := range vector {
		s := &vector[i]
		lb.Reset(s.Metric)
		lb.Set(model.MetricNameLabel, r.name)
		r.labels.Range(func(l labels.Label) { lb.Set(l.Name, l.Value) })
		s.Metric = lb.Labels()
		h := s.Metric.Hash()
		if _, dup := seen[h]; dup {
			return nil, errDuplicateRecordingLabelSet
		}
		seen[h] = struct{}{}
	}
	if limit > 0 && len(vector) > limit {
		return nil, fmt.Errorf("exceeded limit of %d with %d series", limit, len(vector))
	}
	return vector, nil
}

func (r *RecordingRule) String() string {
	b, err := yaml.Marshal(rulefmt.Rule{Record: r.name, Expr: r.expr.String(), Labels: r.labels.Map()})
	if err != nil {
		return fmt.Sprintf("error marshaling recording rule: %q", err.Error())
	}
	return string(b)
}
