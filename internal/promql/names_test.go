package promql

import (
	"testing"

	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/promqltest"
)

// nameRemovalScript shows where the two __name__ removal modes give
// different answers; its expectations are those of the immediate mode,
// Prometheus's default.
const nameRemovalScript = `
load 1m
	a_total{job="x"} 0+10x10
	b_total{job="x"} 0+20x10
	c{job="x"} 5x10

# The name is gone before the aggregation groups by it.
eval instant at 5m sum by (__name__) (rate(a_total[5m]))
	{} 0.16666666666666666

# label_replace no longer sees it.
eval instant at 5m label_replace(rate(a_total[5m]), "src", "$1", "__name__", "(.*)")
	{job="x"} 0.16666666666666666

# Two series that lose their names collide inside the query, even under an
# aggregation that would have told them apart by nothing else.
eval_fail instant at 5m sum(rate({__name__=~"a_total|b_total"}[5m]))
	expected_fail_message vector cannot contain metrics with the same labelset

eval_fail instant at 5m sum(abs({__name__=~"a_total|b_total"}))
	expected_fail_message vector cannot contain metrics with the same labelset

# A bool comparison drops the name at once, so the group_left output
# labels collide within the operation.
eval_fail instant at 5m {__name__=~"a_total|b_total"} >= bool ignoring(job) group_left c
	expected_fail_message multiple matches for labels: grouping labels must ensure unique matches

# Names set again by label_replace stay.
eval instant at 5m label_replace(abs(c), "__name__", "d", "", "")
	d{job="x"} 5

# last_over_time keeps the name in both modes.
eval instant at 5m last_over_time(c[5m])
	c{job="x"} 5
`

// TestImmediateNameRemoval runs the script on argus's engine in its default
// mode and on upstream's engine in the same mode, so the expectations are
// checked against Prometheus as well.
func TestImmediateNameRemoval(t *testing.T) {
	t.Run("argus", func(t *testing.T) {
		promqltest.RunTest(t, nameRemovalScript, upstreamEngine{newTestEngine(false)})
	})
	t.Run("upstream", func(t *testing.T) {
		promqltest.RunTest(t, nameRemovalScript, newUpstreamEngine(false))
	})
}

// TestDelayedNameRemovalDiffers checks that the script's expectations are
// specific to the immediate mode: with delayed removal, both engines fail it.
func TestDelayedNameRemovalDiffers(t *testing.T) {
	for name, ng := range map[string]upstream.QueryEngine{
		"argus":    upstreamEngine{newTestEngine(true)},
		"upstream": newUpstreamEngine(true),
	} {
		ft := &failRecorder{TB: t}
		func() {
			defer func() { _ = recover() }()
			promqltest.RunTest(ft, nameRemovalScript, ng)
		}()
		if !ft.failed {
			t.Errorf("%s: the immediate-mode script passed with delayed name removal", name)
		}
	}
}

// failRecorder is a testing.TB that notes a failure instead of failing the
// test; FailNow unwinds with a panic the caller recovers.
type failRecorder struct {
	testing.TB
	failed bool
}

func (f *failRecorder) Fail()                 { f.failed = true }
func (f *failRecorder) Error(...any)          { f.failed = true }
func (f *failRecorder) Errorf(string, ...any) { f.failed = true }
func (f *failRecorder) FailNow()              { f.failed = true; panic(f) }
func (f *failRecorder) Fatal(...any)          { f.FailNow() }
func (f *failRecorder) Fatalf(string, ...any) { f.FailNow() }
func (f *failRecorder) Failed() bool          { return f.failed }
