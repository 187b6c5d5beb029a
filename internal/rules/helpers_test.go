package rules

import (
	"slices"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

func parseSeries(s string) (labels.Labels, error) {
	return parser.NewParser(parser.Options{}).ParseMetric(s)
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func sorted(s []string) []string { slices.Sort(s); return s }
