package template

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	uppromql "github.com/prometheus/prometheus/promql"
	uptemplate "github.com/prometheus/prometheus/template"

	"github.com/argus-mon/argus/internal/promql"
)

// queryResult is what the query function of both implementations answers.
var queryResult = []struct {
	lset labels.Labels
	v    float64
}{
	{labels.FromStrings("__name__", "up", "instance", "b:9100", "job", "node"), 1},
	{labels.FromStrings("__name__", "up", "instance", "a:9100", "job", "node"), 0},
}

func argusQuery(_ context.Context, q string, _ time.Time) (promql.Vector, error) {
	if q == "fail" {
		return nil, errorString("query failed")
	}
	var v promql.Vector
	for _, s := range queryResult {
		v = append(v, promql.Sample{Metric: s.lset, F: s.v})
	}
	return v, nil
}

func upstreamQuery(_ context.Context, q string, _ time.Time) (uppromql.Vector, error) {
	if q == "fail" {
		return nil, errorString("query failed")
	}
	var v uppromql.Vector
	for _, s := range queryResult {
		v = append(v, uppromql.Sample{Metric: s.lset, F: s.v})
	}
	return v, nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

// templateCases are expanded by argus and by upstream Prometheus with the
// same alert data; the answers must be equal.
var templateCases = []string{
	"{{ $labels.instance }} is down ({{ $value }})",
	"{{ $externalLabels.site }} {{ $externalURL }}",
	"{{ humanize 1234567.0 }} {{ humanize 0.000123 }} {{ humanize 0 }} {{ humanize -1e30 }} {{ humanize \"12\" }}",
	"{{ humanize1024 1048576.0 }} {{ humanize1024 0.5 }}",
	"{{ humanizeDuration 3661 }} {{ humanizeDuration 0.0012 }} {{ humanizeDuration -90 }} {{ humanizeDuration \"123.5\" }}",
	"{{ humanizePercentage 0.1234 }} {{ humanizeTimestamp 1700000000 }} {{ humanizeTimestamp 1700000000.123 }}",
	"{{ printf \"%.2f\" $value }} {{ printf \"%s-%d\" \"a\" 3 }}",
	"{{ title \"hello world\" }} {{ toUpper \"abc\" }} {{ toLower \"ABC\" }}",
	"{{ match \"^a.c$\" \"abc\" }} {{ reReplaceAll \"(a+)\" \"<$1>\" \"caab\" }}",
	"{{ stripPort \"host:9090\" }} {{ stripPort \"[::1]:80\" }} {{ stripDomain \"a.example.com:80\" }} {{ stripDomain \"10.0.0.1:80\" }}",
	"{{ graphLink \"up == 0\" }} {{ tableLink \"rate(x[5m])\" }}",
	"{{ with query \"up\" }}{{ . | first | label \"instance\" }}={{ . | first | value }}{{ end }}",
	"{{ range query \"up\" | sortByLabel \"instance\" }}{{ .Labels.instance }} {{ .Value }};{{ end }}",
	"{{ range $i, $s := query \"up\" }}{{ $i }}:{{ $s.Labels.job }} {{ end }}",
	"{{ query \"fail\" }}",
	"{{ first (query \"none\") }}",
	"{{ toTime 1700000000 }} {{ toDuration 90.5 }} {{ parseDuration \"1h5m\" }} {{ now }}",
	"{{ urlQueryEscape \"a b&c\" }} {{ pathPrefix }} {{ externalURL }}",
	"{{ template \"x\" }}{{ define \"x\" }}defined{{ end }}",
	"{{ $labels.nosuch }}|{{ .Labels.nosuch }}",
	"{{ args 1 \"a\" }}",
	"{{ safeHtml \"<b>\" }}",
	"{{ humanize \"x\" }}",
	"{{ .Foo",
	"{{ nosuchfunction }}",
	"{{ reReplaceAll \"(\" \"\" \"x\" }}",
	"{{ toTime \"NaN\" }}",
	"{{ humanizeDuration \"Inf\" }} {{ humanize \"NaN\" }}",
	"{{ strvalue (first (query \"up\")) }}",
}

func TestMatchesUpstream(t *testing.T) {
	for _, text := range templateCases {
		t.Run(text, func(t *testing.T) {
			got, gotErr, want, wantErr := expandBoth(text, "text")
			compare(t, text, got, gotErr, want, wantErr)
			got, gotErr, want, wantErr = expandBoth(text, "html")
			compare(t, text, got, gotErr, want, wantErr)
		})
	}
}

func compare(t *testing.T, text, got string, gotErr error, want string, wantErr error) {
	t.Helper()
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%s: argus %q, %v; upstream %q, %v", text, got, gotErr, want, wantErr)
	}
	if got != want {
		t.Fatalf("%s:\nargus:    %q\nupstream: %q", text, got, want)
	}
}

var (
	evalTime       = time.Unix(1_700_000_000, 0)
	extURL, _      = url.Parse("http://argus.example:9090/prefix")
	alertLabels    = map[string]string{"instance": "a:9100", "job": "node"}
	externalLabels = map[string]string{"site": "dc1"}
)

// expandBoth expands text with the alert preamble by both implementations,
// as text or as HTML.
func expandBoth(text, mode string) (got string, gotErr error, want string, wantErr error) {
	ctx := context.Background()
	full := AlertPreamble + text
	data := AlertData{Labels: alertLabels, ExternalLabels: externalLabels, ExternalURL: extURL.String(), Value: 0.5}
	e := NewExpander(ctx, full, "__alert_X", data, evalTime, argusQuery, extURL)
	updata := uptemplate.AlertTemplateData(alertLabels, externalLabels, extURL.String(), uppromql.Sample{F: 0.5})
	up := uptemplate.NewTemplateExpander(ctx, full, "__alert_X", updata, model.TimeFromUnixNano(evalTime.UnixNano()), upstreamQuery, extURL, nil)
	if mode == "html" {
		got, gotErr = e.ExpandHTML(nil)
		want, wantErr = up.ExpandHTML(nil)
	} else {
		got, gotErr = e.Expand()
		want, wantErr = up.Expand()
	}
	return
}

func TestParseTest(t *testing.T) {
	for _, tc := range []struct {
		text string
		ok   bool
	}{{"{{ $labels.x }}", true}, {"{{ humanize $value }}", true}, {"{{ .Foo", false}, {"{{ nosuch }}", false}} {
		err := NewExpander(context.Background(), AlertPreamble+tc.text, "t", nil, evalTime, nil, nil).ParseTest()
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.text, err)
		}
	}
}

// FuzzExpand expands hostile templates with both implementations: argus
// must never panic and must agree with upstream whenever upstream
// succeeds (error texts may differ, e.g. for a bad reReplaceAll pattern).
func FuzzExpand(f *testing.F) {
	for _, c := range templateCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if strings.Contains(text, "query") || strings.Contains(text, "tmpl") {
			// Recursion through tmpl and the fake query are not interesting
			// and can loop for long.
			return
		}
		got, gotErr, want, wantErr := expandBoth(text, "text")
		if wantErr == nil && (gotErr != nil || got != want) {
			t.Fatalf("%q:\nargus:    %q, %v\nupstream: %q", text, got, gotErr, want)
		}
	})
}

// TestOutputBounded: a short template that expands to megabytes fails
// instead.
func TestOutputBounded(t *testing.T) {
	const bomb = `{{define "a"}}xxxxxxxxxxxxxxxxx{{end}}{{define "b"}}{{template "a"}}{{template "a"}}{{template "a"}}{{template "a"}}{{template "a"}}{{template "a"}}{{template "a"}}{{template "a"}}{{end}}{{define "c"}}{{template "b"}}{{template "b"}}{{template "b"}}{{template "b"}}{{template "b"}}{{template "b"}}{{template "b"}}{{template "b"}}{{end}}{{define "d"}}{{template "c"}}{{template "c"}}{{template "c"}}{{template "c"}}{{template "c"}}{{template "c"}}{{template "c"}}{{template "c"}}{{end}}{{template "d"}}{{template "d"}}{{template "d"}}{{template "d"}}{{template "d"}}{{template "d"}}{{template "d"}}{{template "d"}}`
	e := NewExpander(context.Background(), bomb, "bomb", nil, time.Unix(0, 0), nil, nil)
	out, err := e.Expand()
	if err == nil || !strings.Contains(err.Error(), "output longer than") || out != "" {
		t.Fatalf("got %d bytes, err %v", len(out), err)
	}
}
