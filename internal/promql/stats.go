package promql

import (
	"encoding/json"
	"time"

	"github.com/prometheus/prometheus/util/stats"
)

// QueryStats is what a query measured about its own execution, with the
// JSON of Prometheus's stats (util/stats.BuiltinStats), which the HTTP API
// returns under "stats" when asked.
type QueryStats struct {
	Timings QueryTimings  `json:"timings"`
	Samples *QuerySamples `json:"samples,omitempty"`
}

// QueryTimings are the phases of a query's execution, in seconds. They are
// Prometheus's phases: argus selects series while it evaluates, so its
// preparation time covers only opening the querier.
type QueryTimings struct {
	// EvalTotalTime is preparation, evaluation and result sorting.
	EvalTotalTime float64 `json:"evalTotalTime"`
	// ResultSortTime is sorting and converting the result.
	ResultSortTime float64 `json:"resultSortTime"`
	// QueryPreparationTime is opening the storage querier.
	QueryPreparationTime float64 `json:"queryPreparationTime"`
	// InnerEvalTime is evaluating the expression.
	InnerEvalTime float64 `json:"innerEvalTime"`
	// ExecQueueTime is waiting for a slot among the concurrent queries.
	ExecQueueTime float64 `json:"execQueueTime"`
	// ExecTotalTime is the whole of Exec.
	ExecTotalTime float64 `json:"execTotalTime"`
}

// QuerySamples counts the samples a query worked on, as Prometheus counts
// them (see the fields of util/stats.QuerySamples for the definitions).
type QuerySamples struct {
	// TotalQueryableSamplesPerStep is set only with per-step stats.
	TotalQueryableSamplesPerStep []StepStat `json:"totalQueryableSamplesPerStep,omitempty"`
	// TotalQueryableSamples is the samples the evaluation consumed: a
	// selector's sample at each step it is used, a range function's whole
	// window at each step, so overlapping windows count a sample again.
	TotalQueryableSamples int64 `json:"totalQueryableSamples"`
	// SamplesReadPerStep is set only with per-step stats.
	SamplesReadPerStep []StepStat `json:"samplesReadPerStep,omitempty"`
	// SamplesRead is like TotalQueryableSamples but counts a sample shared
	// by the windows of successive steps once.
	SamplesRead int64 `json:"samplesRead"`
	// SeriesTouched is the sum over the query's selectors of the series
	// each matched.
	SeriesTouched int64 `json:"seriesTouched"`
	// PeakSamples is the most samples the query held in memory at once,
	// the number EngineOpts.MaxSamples limits. argus streams where
	// Prometheus materialises, so its peak is usually lower.
	PeakSamples int `json:"peakSamples"`
}

// StepStat is a per-step count, written in JSON as [seconds, count] like a
// sample of the query API.
type StepStat struct {
	T int64 // milliseconds
	V int64
}

// MarshalJSON writes s as Prometheus does.
func (s StepStat) MarshalJSON() ([]byte, error) {
	return json.Marshal([...]any{float64(s.T) / 1000, s.V})
}

// queryTimer measures the phases of one execution.
type queryTimer struct {
	queue, prepare, inner, sort, eval, total time.Duration
}

func (t queryTimer) timings() QueryTimings {
	return QueryTimings{
		EvalTotalTime:        t.eval.Seconds(),
		ResultSortTime:       t.sort.Seconds(),
		QueryPreparationTime: t.prepare.Seconds(),
		InnerEvalTime:        t.inner.Seconds(),
		ExecQueueTime:        t.queue.Seconds(),
		ExecTotalTime:        t.total.Seconds(),
	}
}

// sampleStats converts the counters the evaluation kept. They are upstream's
// util/stats.QuerySamples, a leaf package that does not link its engine, so
// that the subquery attribution rules are Prometheus's own.
func sampleStats(qs *stats.QuerySamples, peak int) *QuerySamples {
	out := &QuerySamples{
		TotalQueryableSamples: qs.TotalSamples,
		SamplesRead:           qs.SamplesRead,
		SeriesTouched:         qs.TotalSeries,
		PeakSamples:           peak,
	}
	if qs.EnablePerStepStats {
		out.TotalQueryableSamplesPerStep = stepStats(qs.TotalSamplesPerStep, qs.StartTimestamp, qs.Interval)
		out.SamplesReadPerStep = stepStats(qs.SamplesReadPerStep, qs.StartTimestamp, qs.Interval)
	}
	return out
}

func stepStats(counts []int64, start, interval int64) []StepStat {
	if counts == nil {
		return nil
	}
	out := make([]StepStat, len(counts))
	for i, c := range counts {
		out[i] = StepStat{T: start + int64(i)*interval, V: c}
	}
	return out
}
