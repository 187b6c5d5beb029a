package integrationtest

import (
	"os"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// Shape is a metric family's type and label names (sorted, joined by
// commas): what must match an exporter's for its queries to work.
type Shape struct {
	Type   string
	Labels string
}

// Shapes returns the shape of each family by name. The label names are
// those of the family's first series; LabelsAgree checks the others.
func Shapes(fams []*dto.MetricFamily) map[string]Shape {
	out := map[string]Shape{}
	for _, f := range fams {
		s := Shape{Type: strings.ToLower(f.GetType().String())}
		if len(f.Metric) > 0 {
			s.Labels = labelNames(f.Metric[0])
		}
		out[f.GetName()] = s
	}
	return out
}

// LabelsAgree returns the families whose series do not all have the same
// label names.
func LabelsAgree(fams []*dto.MetricFamily) []string {
	var bad []string
	for _, f := range fams {
		for _, m := range f.Metric[1:] {
			if labelNames(m) != labelNames(f.Metric[0]) {
				bad = append(bad, f.GetName())
				break
			}
		}
	}
	return bad
}

func labelNames(m *dto.Metric) string {
	var names []string
	for _, l := range m.Label {
		names = append(names, l.GetName())
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// Value returns the value of the gauge or counter series of the named
// family with the given label pairs (name, value, ...), and whether there
// is one.
func Value(fams []*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.Metric {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.Label {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue series
				}
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Untyped != nil:
				return m.Untyped.GetValue(), true
			}
		}
	}
	return 0, false
}

// ReadShapes reads an exporter's metrics as listed in a test data file, for
// exporters Debian does not package: one metric a line, its name, type and
// label names (comma separated, none if absent); # starts a comment.
func ReadShapes(t testing.TB, path string) map[string]Shape {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Shape{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(line, "#") {
			continue
		}
		s := Shape{Type: f[1]}
		if len(f) > 2 {
			s.Labels = f[2]
		}
		out[f[0]] = s
	}
	return out
}
