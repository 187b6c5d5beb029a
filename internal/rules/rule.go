package rules

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/argus-mon/argus/internal/promql"
)

// QueryFunc evaluates an instant query at ts. A scalar result comes back
// as a one-sample vector without labels. It is called from the group's
// goroutine (and from template functions on it).
type QueryFunc func(ctx context.Context, qs string, ts time.Time) (promql.Vector, error)

// Appender writes rule results to storage. One is used by one goroutine
// for one evaluation of one rule, then committed. Append returns the
// storage's errors for rejected samples (storage.ErrOutOfOrderSample,
// storage.ErrDuplicateSampleForTimestamp, storage.ErrOutOfBounds).
type Appender interface {
	Append(ref uint64, l labels.Labels, t int64, v float64) (uint64, error)
	Commit() error
	Rollback() error
}

// NotifyFunc hands alerts that need sending to the notifier. expr is the
// rule's expression (for the generator URL). It must not block for long:
// it is called on the group's goroutine.
type NotifyFunc func(ctx context.Context, expr string, alerts ...*Alert)

// Health is the outcome of a rule's last evaluation, with the values the
// Prometheus API uses.
type Health string

// The health of a rule.
const (
	HealthUnknown Health = "unknown" // not evaluated yet
	HealthGood    Health = "ok"      // last evaluation succeeded
	HealthBad     Health = "err"     // last evaluation failed; see LastError
)

// Rule is a recording or an alerting rule. The concrete types are
// *RecordingRule and *AlertingRule.
type Rule interface {
	// Name is the recorded metric name or the alert name.
	Name() string
	// Query is the rule's expression.
	Query() parser.Expr
	// Labels are the labels the rule adds (templates for alerts).
	Labels() labels.Labels
	// Health, LastError, EvaluationTimestamp and EvaluationDuration describe
	// the last evaluation.
	Health() Health
	LastError() error
	EvaluationTimestamp() time.Time
	EvaluationDuration() time.Duration
	// String is the rule in the rule file format.
	String() string

	eval(ctx context.Context, queryOffset time.Duration, ts time.Time, query QueryFunc, limit int) (promql.Vector, error)
	status() *ruleStatus
}

// ruleStatus is the last evaluation's outcome, shared by both rule types.
type ruleStatus struct {
	mu       sync.Mutex
	health   Health
	lastErr  error
	evalTime time.Time
	evalDur  time.Duration
}

func newRuleStatus() *ruleStatus { return &ruleStatus{health: HealthUnknown} }

func (s *ruleStatus) set(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErr = err
	if err != nil {
		s.health = HealthBad
	} else {
		s.health = HealthGood
	}
}

// setTemplateError records a template error of an evaluation that
// otherwise succeeded: the rule stays healthy (as in Prometheus, whose
// alerts carry the error in their text) but the error is shown as its
// last error.
func (s *ruleStatus) setTemplateError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErr = fmt.Errorf("expanding templates: %w", err)
}

func (s *ruleStatus) setEvaluation(ts time.Time, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evalTime, s.evalDur = ts, d
}

func (s *ruleStatus) Health() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.health
}

func (s *ruleStatus) LastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

func (s *ruleStatus) EvaluationTimestamp() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evalTime
}

func (s *ruleStatus) EvaluationDuration() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evalDur
}

func (s *ruleStatus) status() *ruleStatus { return s }

// errDuplicateLabelSet is returned when a rule's result has two series with
// the same labels once the rule's labels are applied.
var (
	errDuplicateRecordingLabelSet = errors.New("vector contains metrics with the same labelset after applying rule labels")
	errDuplicateAlertLabelSet     = errors.New("vector contains metrics with the same labelset after applying alert labels")
)

// fromMaps merges label maps, later ones winning, into labels.
func fromMaps(maps ...map[string]string) labels.Labels {
	merged := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			merged[k] = v
		}
	}
	return labels.FromMap(merged)
}
