package template

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"math"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/grafana/regexp"
	commontemplates "github.com/prometheus/common/helpers/templates"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/util/strutil"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"

	"github.com/argus-mon/argus/internal/promql"
)

// QueryFunc evaluates an instant PromQL query for the query template
// function. It is called from the goroutine expanding the template.
type QueryFunc func(ctx context.Context, q string, ts time.Time) (promql.Vector, error)

// Sample is one element of a query function's result, as templates see
// it: .Labels and .Value.
type Sample struct {
	Labels map[string]string
	Value  any
}

// QueryResult is what the query function returns to a template.
type QueryResult []*Sample

// AlertPreamble defines the variables alert templates use; it is put in
// front of every label and annotation template, as Prometheus does.
const AlertPreamble = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"

// AlertData is the data alert templates are expanded with.
type AlertData struct {
	Labels         map[string]string
	ExternalLabels map[string]string
	ExternalURL    string
	Value          any
}

// Expander expands one template. Build it with NewExpander.
type Expander struct {
	text    string
	name    string
	data    any
	funcMap texttemplate.FuncMap
}

// errNaNOrInf is returned by toTime for values that are not times.
var errNaNOrInf = errors.New("value is NaN or Inf")

// NewExpander returns an expander of text, named name in error messages,
// with data as its dot. ts is the evaluation time (the query function's
// time and now's value); query may be nil, in which case the query
// function fails; externalURL may be nil.
func NewExpander(ctx context.Context, text, name string, data any, ts time.Time, query QueryFunc, externalURL *url.URL) *Expander {
	if externalURL == nil {
		externalURL = &url.URL{}
	}
	return &Expander{text: text, name: name, data: data, funcMap: funcMap(ctx, ts, query, externalURL)}
}

// funcMap returns the template functions, Prometheus's set. It is one flat
// table, longer than a function should be, so that the set reads as a list.
func funcMap(ctx context.Context, ts time.Time, queryFn QueryFunc, externalURL *url.URL) texttemplate.FuncMap {
	return texttemplate.FuncMap{
		"query": func(q string) (QueryResult, error) { return query(ctx, q, ts, queryFn) },
		"first": func(v QueryResult) (*Sample, error) {
			if len(v) > 0 {
				return v[0], nil
			}
			return nil, errors.New("first() called on vector with no elements")
		},
		"label": func(label string, s *Sample) string {
			if s == nil {
				return ""
			}
			return s.Labels[label]
		},
		"value": func(s *Sample) any {
			if s == nil {
				return nil
			}
			return s.Value
		},
		"strvalue": func(s *Sample) string {
			if s == nil {
				return ""
			}
			return s.Labels["__value__"]
		},
		"args": func(args ...any) map[string]any {
			result := make(map[string]any, len(args))
			for i, a := range args {
				result[fmt.Sprintf("arg%d", i)] = a
			}
			return result
		},
		"reReplaceAll": func(pattern, repl, text string) (string, error) {
			re, err := regexp.Compile(pattern)
			if err != nil {
				return "", err
			}
			return re.ReplaceAllString(text, repl), nil
		},
		"safeHtml":           func(text string) htmltemplate.HTML { return htmltemplate.HTML(text) },
		"match":              regexp.MatchString,
		"title":              cases.Title(language.AmericanEnglish, cases.NoLower).String,
		"toUpper":            strings.ToUpper,
		"toLower":            strings.ToLower,
		"graphLink":          strutil.GraphLinkForExpression,
		"tableLink":          strutil.TableLinkForExpression,
		"sortByLabel":        sortByLabel,
		"stripPort":          stripPort,
		"stripDomain":        stripDomain,
		"humanize":           humanize,
		"humanize1024":       humanize1024,
		"humanizeDuration":   commontemplates.HumanizeDuration,
		"humanizePercentage": humanizePercentage,
		"humanizeTimestamp":  commontemplates.HumanizeTimestamp,
		"toTime": func(i any) (*time.Time, error) {
			v, err := commontemplates.ConvertToFloat(i)
			if err != nil {
				return nil, err
			}
			return floatToTime(v)
		},
		"toDuration": func(i any) (*time.Duration, error) {
			v, err := commontemplates.ConvertToFloat(i)
			if err != nil {
				return nil, err
			}
			d := time.Duration(v * float64(time.Second))
			return &d, nil
		},
		"now":         func() float64 { return float64(ts.UnixMilli()) / 1000.0 },
		"pathPrefix":  func() string { return externalURL.Path },
		"externalURL": func() string { return externalURL.String() },
		"parseDuration": func(d string) (float64, error) {
			v, err := model.ParseDurationAllowNegative(d)
			if err != nil {
				return 0, err
			}
			return float64(time.Duration(v)) / float64(time.Second), nil
		},
		"urlQueryEscape": url.QueryEscape,
	}
}

func query(ctx context.Context, q string, ts time.Time, queryFn QueryFunc) (QueryResult, error) {
	if queryFn == nil {
		return nil, errors.New("query function not available here")
	}
	vector, err := queryFn(ctx, q, ts)
	if err != nil {
		return nil, err
	}
	result := make(QueryResult, len(vector))
	for n, v := range vector {
		result[n] = &Sample{Value: v.F, Labels: v.Metric.Map()}
	}
	return result, nil
}

func sortByLabel(label string, v QueryResult) QueryResult {
	sort.SliceStable(v, func(i, j int) bool { return v[i].Labels[label] < v[j].Labels[label] })
	return v
}

func stripPort(hostPort string) string {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return hostPort
	}
	return host
}

func stripDomain(hostPort string) string {
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		host = hostPort
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return hostPort
	}
	host = strings.Split(host, ".")[0]
	if port != "" {
		return net.JoinHostPort(host, port)
	}
	return host
}

// humanize formats a number with an SI prefix (1.5k, 20m), 4 significant
// digits.
func humanize(i any) (string, error) {
	v, err := commontemplates.ConvertToFloat(i)
	if err != nil {
		return "", err
	}
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%.4g", v), nil
	}
	if math.Abs(v) >= 1 {
		prefix := ""
		for _, p := range []string{"k", "M", "G", "T", "P", "E", "Z", "Y"} {
			if math.Abs(v) < 1000 {
				break
			}
			prefix = p
			v /= 1000
		}
		return fmt.Sprintf("%.4g%s", v, prefix), nil
	}
	prefix := ""
	for _, p := range []string{"m", "u", "n", "p", "f", "a", "z", "y"} {
		if math.Abs(v) >= 1 {
			break
		}
		prefix = p
		v *= 1000
	}
	return fmt.Sprintf("%.4g%s", v, prefix), nil
}

// humanize1024 formats a number with a binary prefix (1.5Ki, 3Gi).
func humanize1024(i any) (string, error) {
	v, err := commontemplates.ConvertToFloat(i)
	if err != nil {
		return "", err
	}
	if math.Abs(v) <= 1 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%.4g", v), nil
	}
	prefix := ""
	for _, p := range []string{"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"} {
		if math.Abs(v) < 1024 {
			break
		}
		prefix = p
		v /= 1024
	}
	return fmt.Sprintf("%.4g%s", v, prefix), nil
}

func humanizePercentage(i any) (string, error) {
	v, err := commontemplates.ConvertToFloat(i)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%.4g%%", v*100), nil
}

func floatToTime(v float64) (*time.Time, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, errNaNOrInf
	}
	timestamp := v * 1e9
	if timestamp > math.MaxInt64 || timestamp < math.MinInt64 {
		return nil, fmt.Errorf("%v cannot be represented as a nanoseconds timestamp since it overflows int64", v)
	}
	t := model.TimeFromUnixNano(int64(timestamp)).Time().UTC()
	return &t, nil
}

// Expand expands the template as text. Missing map keys give the zero
// value, as in Prometheus.
func (e *Expander) Expand() (string, error) {
	return e.Template().Expand(e.data)
}

// Template parses the expander's text once, to expand it with many data:
// an alerting rule's labels and annotations for each of its alerts.
func (e *Expander) Template() *Template {
	t := &Template{name: e.name}
	defer t.recoverInto(&t.err)
	t.t, t.err = texttemplate.New(e.name).Funcs(e.funcMap).Option("missingkey=zero").Parse(e.text)
	if t.err != nil {
		t.err = fmt.Errorf("error parsing template %v: %w", e.name, t.err)
	}
	return t
}

// Template is a parsed text template with its functions bound to one
// evaluation. It is used by one goroutine.
type Template struct {
	name string
	t    *texttemplate.Template
	err  error // parse error, returned by every Expand
}

// Expand executes the template with data as its dot.
//
// It cannot be interrupted: text/template takes no context and has no
// hook in its loops. MaxOutput ends a loop that writes, but one that
// writes nothing ({{range 1000000000000}}{{end}}) runs to its end.
// Rejecting such loops when parsing would catch only literal bounds, not
// a variable or a function's result, so callers must instead not wait
// for an expansion while holding what others need (package rules).
func (t *Template) Expand(data any) (result string, err error) {
	if t.err != nil {
		return "", t.err
	}
	defer t.recoverInto(&err)
	buf := cappedBuffer{max: MaxOutput}
	if err := t.t.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("error executing template %v: %w", t.name, err)
	}
	return buf.String(), nil
}

// MaxOutput bounds what one expansion writes. A label or annotation
// template a few hundred bytes long can otherwise expand to megabytes
// (nested define/template), which would end up in every ALERTS series and
// notification. Prometheus has no bound; argus fails the expansion, which
// shows as the rule's template error.
const MaxOutput = 64 << 10

// cappedBuffer fails writes past max; text/template stops at the error.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, fmt.Errorf("output longer than %d bytes", b.max)
	}
	return b.Buffer.Write(p)
}

// recoverInto turns a panic inside a template function (a hostile template
// can trigger some in the standard library) into the expansion's error.
func (t *Template) recoverInto(err *error) {
	if r := recover(); r != nil {
		if rerr, ok := r.(error); ok {
			*err = fmt.Errorf("panic expanding template %v: %w", t.name, rerr)
			return
		}
		*err = fmt.Errorf("panic expanding template %v: %v", t.name, r)
	}
}

// ExpandHTML expands the template with html/template, so values are
// escaped for HTML, with the template files given parsed in as well; tmpl
// executes a named template.
func (e *Expander) ExpandHTML(templateFiles []string) (result string, err error) {
	defer (&Template{name: e.name}).recoverInto(&err)
	tmpl := htmltemplate.New(e.name).Funcs(htmltemplate.FuncMap(e.funcMap)).Option("missingkey=zero")
	tmpl.Funcs(htmltemplate.FuncMap{
		"tmpl": func(name string, data any) (htmltemplate.HTML, error) {
			var buf bytes.Buffer
			err := tmpl.ExecuteTemplate(&buf, name, data)
			return htmltemplate.HTML(buf.String()), err
		},
	})
	tmpl, err = tmpl.Parse(e.text)
	if err != nil {
		return "", fmt.Errorf("error parsing template %v: %w", e.name, err)
	}
	if len(templateFiles) > 0 {
		if _, err := tmpl.ParseFiles(templateFiles...); err != nil {
			return "", fmt.Errorf("error parsing template files for %v: %w", e.name, err)
		}
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, e.data); err != nil {
		return "", fmt.Errorf("error executing template %v: %w", e.name, err)
	}
	return buf.String(), nil
}

// ParseTest parses the template without executing it, to report syntax
// errors when rules are loaded.
func (e *Expander) ParseTest() error {
	_, err := texttemplate.New(e.name).Funcs(e.funcMap).Option("missingkey=zero").Parse(e.text)
	return err
}
