package rulefmt

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

func TestDetectLegacy(t *testing.T) {
	// The 1.x rule file of the write-up argus grew from, copied in.
	seed := []byte(legacySeed)
	for name, tc := range map[string]struct {
		in       string
		legacy   bool
		wantLine int
		wantYAML []string
	}{
		"seed": {in: string(seed), legacy: true, wantLine: 1, wantYAML: []string{
			"alert: HighRequestRate", "expr: sum(irate(nginx_http_requests_total[5m])) > 0.25",
			"summary: High request rate on {{ $labels.instance }}",
		}},
		"record and alert": {in: "# comment\n\njob:up:sum{team=\"x\"} = sum by (job) (up)\nALERT Down\n  IF up == 0\n  FOR 5m\n  LABELS { severity = \"page\" }\n  ANNOTATIONS { summary = 'down' }\n",
			legacy: true, wantLine: 3, wantYAML: []string{"record: job:up:sum", "team: x", "alert: Down", "for: 5m", "severity: page", "summary: down"}},
		"yaml":      {in: "groups:\n- name: x\n"},
		"yaml list": {in: "- ALERT x\n"},
		"empty":     {in: ""},
	} {
		t.Run(name, func(t *testing.T) {
			l := DetectLegacy([]byte(tc.in))
			if (l != nil) != tc.legacy {
				t.Fatalf("legacy %v, want %v", l != nil, tc.legacy)
			}
			if l == nil {
				return
			}
			if l.Line != tc.wantLine {
				t.Errorf("line %d, want %d", l.Line, tc.wantLine)
			}
			for _, w := range tc.wantYAML {
				if !strings.Contains(l.Converted, w) {
					t.Errorf("translation lacks %q:\n%s", w, l.Converted)
				}
			}
			// The translation is a valid rule file.
			if _, errs := Parse([]byte(l.Converted), parser.NewParser(parser.Options{})); len(errs) > 0 {
				t.Errorf("translation does not load: %v\n%s", errs, l.Converted)
			}
		})
	}
}

const legacySeed = `ALERT HighRequestRate
  IF sum(irate(nginx_http_requests_total[5m])) > 0.25
  ANNOTATIONS {
    summary = "High request rate on {{ $labels.instance }}",
    description = "{{ $labels.instance }} has a median request rate above 0.25 (current value: {{ $value }}s)",
  }
`

// FuzzDetectLegacy checks that hostile input never panics and that a
// translation, when offered, is YAML that decodes into rule groups.
func FuzzDetectLegacy(f *testing.F) {
	f.Add(legacySeed)
	f.Add("a = b\nALERT X IF y FOR 1m LABELS {a=\"b\"}")
	f.Add("ALERT X\n IF (\"IF\" {FOR} 'x\\'')")
	f.Fuzz(func(t *testing.T, in string) {
		l := DetectLegacy([]byte(in))
		if l == nil || l.Converted == "" {
			return
		}
		if _, errs := Parse([]byte(l.Converted), parser.NewParser(parser.Options{})); len(errs) > 0 {
			for _, e := range errs {
				if strings.Contains(e.Error(), "yaml:") {
					t.Fatalf("translation is not YAML rule groups: %v\n%s", e, l.Converted)
				}
			}
		}
	})
}
