package integration

import (
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// Metrics collects the metric families of one collection. Types add
// samples by name; the first sample of a name fixes its help and type.
// The zero value is ready to use; it is not safe for concurrent use.
type Metrics struct {
	fams map[string]*dto.MetricFamily
}

// Gauge adds a gauge sample. labels are name, value pairs.
func (m *Metrics) Gauge(name, help string, v float64, labels ...string) {
	m.add(name, help, dto.MetricType_GAUGE, labels).Gauge = &dto.Gauge{Value: &v}
}

// Counter adds a counter sample. labels are name, value pairs.
func (m *Metrics) Counter(name, help string, v float64, labels ...string) {
	m.add(name, help, dto.MetricType_COUNTER, labels).Counter = &dto.Counter{Value: &v}
}

// Untyped adds an untyped sample, for the exporters that report some
// metrics without a type. labels are name, value pairs.
func (m *Metrics) Untyped(name, help string, v float64, labels ...string) {
	m.add(name, help, dto.MetricType_UNTYPED, labels).Untyped = &dto.Untyped{Value: &v}
}

// Summary adds a summary with the given quantiles (quantile → value).
// labels are name, value pairs.
func (m *Metrics) Summary(name, help string, count uint64, sum float64, quantiles map[float64]float64, labels ...string) {
	s := &dto.Summary{SampleCount: &count, SampleSum: &sum}
	qs := make([]float64, 0, len(quantiles))
	for q := range quantiles {
		qs = append(qs, q)
	}
	slices.Sort(qs)
	for _, q := range qs {
		v := quantiles[q]
		s.Quantile = append(s.Quantile, &dto.Quantile{Quantile: &q, Value: &v})
	}
	m.add(name, help, dto.MetricType_SUMMARY, labels).Summary = s
}

// Histogram adds a classic histogram: upperBounds ascending, cumulative[i]
// the observations at most upperBounds[i] (the +Inf bucket is count).
// labels are name, value pairs.
func (m *Metrics) Histogram(name, help string, count uint64, sum float64, upperBounds []float64, cumulative []uint64, labels ...string) {
	if len(upperBounds) != len(cumulative) {
		panic("BUG: histogram " + name + " needs as many bounds as counts")
	}
	h := &dto.Histogram{SampleCount: &count, SampleSum: &sum}
	for i := range upperBounds {
		h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: &upperBounds[i], CumulativeCount: &cumulative[i]})
	}
	m.add(name, help, dto.MetricType_HISTOGRAM, labels).Histogram = h
}

// Has reports whether a sample of the named family was added.
func (m *Metrics) Has(name string) bool {
	_, ok := m.fams[name]
	return ok
}

func (m *Metrics) add(name, help string, typ dto.MetricType, labels []string) *dto.Metric {
	if len(labels)%2 != 0 {
		panic("BUG: odd number of label arguments for " + name)
	}
	if m.fams == nil {
		m.fams = map[string]*dto.MetricFamily{}
	}
	f, ok := m.fams[name]
	if !ok {
		f = &dto.MetricFamily{Name: &name, Help: &help, Type: &typ}
		m.fams[name] = f
	}
	metric := &dto.Metric{}
	for i := 0; i < len(labels); i += 2 {
		metric.Label = append(metric.Label, &dto.LabelPair{Name: &labels[i], Value: &labels[i+1]})
	}
	// The exposition format wants label pairs sorted by name.
	slices.SortFunc(metric.Label, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	f.Metric = append(f.Metric, metric)
	return metric
}

// Families returns the families sorted by name, their series sorted by
// labels, as a registry's Gather does.
func (m *Metrics) Families() []*dto.MetricFamily {
	out := make([]*dto.MetricFamily, 0, len(m.fams))
	for _, f := range m.fams {
		slices.SortStableFunc(f.Metric, compareLabels)
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

func compareLabels(a, b *dto.Metric) int {
	for i := 0; i < len(a.Label) && i < len(b.Label); i++ {
		if c := strings.Compare(a.Label[i].GetName(), b.Label[i].GetName()); c != 0 {
			return c
		}
		if c := strings.Compare(a.Label[i].GetValue(), b.Label[i].GetValue()); c != 0 {
			return c
		}
	}
	return len(a.Label) - len(b.Label)
}
