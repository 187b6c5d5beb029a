package promql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// FPoint is one float sample of a series: a timestamp in milliseconds and a value.
type FPoint struct {
	T int64
	F float64
}

func (p FPoint) String() string {
	return strconv.FormatFloat(p.F, 'f', -1, 64) + " @[" + strconv.FormatInt(p.T, 10) + "]"
}

// Sample is one element of an instant vector.
type Sample struct {
	Metric labels.Labels
	T      int64
	F      float64
	// DropName is set when the metric name is to be removed from Metric at the
	// end of evaluation (Prometheus 3.x delayed name removal).
	DropName bool
}

func (s Sample) String() string {
	return s.Metric.String() + " => " + FPoint{T: s.T, F: s.F}.String()
}

// Vector is an instant vector: one sample per series at one timestamp.
type Vector []Sample

// Type implements parser.Value.
func (Vector) Type() parser.ValueType { return parser.ValueTypeVector }

func (v Vector) String() string {
	parts := make([]string, len(v))
	for i, s := range v {
		parts[i] = s.String()
	}
	return strings.Join(parts, "\n")
}

// Series is one series of a Matrix, its points in ascending time order.
type Series struct {
	Metric   labels.Labels
	Floats   []FPoint
	DropName bool
}

func (s Series) String() string {
	parts := make([]string, len(s.Floats))
	for i, p := range s.Floats {
		parts[i] = p.String()
	}
	return s.Metric.String() + " =>\n" + strings.Join(parts, "\n")
}

// Matrix is a range vector, or the result of a range query.
type Matrix []Series

// Type implements parser.Value.
func (Matrix) Type() parser.ValueType { return parser.ValueTypeMatrix }

func (m Matrix) String() string {
	parts := make([]string, len(m))
	for i, s := range m {
		parts[i] = s.String()
	}
	return strings.Join(parts, "\n")
}

// TotalSamples returns the number of points in m.
func (m Matrix) TotalSamples() int {
	n := 0
	for _, s := range m {
		n += len(s.Floats)
	}
	return n
}

func (m Matrix) Len() int           { return len(m) }
func (m Matrix) Less(i, j int) bool { return labels.Compare(m[i].Metric, m[j].Metric) < 0 }
func (m Matrix) Swap(i, j int)      { m[i], m[j] = m[j], m[i] }

// Scalar is a single float value at a timestamp.
type Scalar struct {
	T int64
	V float64
}

// Type implements parser.Value.
func (Scalar) Type() parser.ValueType { return parser.ValueTypeScalar }

func (s Scalar) String() string {
	return fmt.Sprintf("scalar: %v @[%v]", s.V, s.T)
}

// String is a string value at a timestamp.
type String struct {
	T int64
	V string
}

// Type implements parser.Value.
func (String) Type() parser.ValueType { return parser.ValueTypeString }

func (s String) String() string { return s.V }
