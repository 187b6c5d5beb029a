package ruletest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// testFile is a unit test file.
type testFile struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval model.Duration `yaml:"evaluation_interval,omitempty"`
	GroupEvalOrder     []string       `yaml:"group_eval_order"`
	Tests              []testGroup    `yaml:"tests"`
	FuzzyCompare       bool           `yaml:"fuzzy_compare,omitempty"`
}

type testGroup struct {
	Interval        model.Duration    `yaml:"interval"`
	InputSeries     []series          `yaml:"input_series"`
	AlertRuleTests  []alertTestCase   `yaml:"alert_rule_test,omitempty"`
	PromqlExprTests []promqlTestCase  `yaml:"promql_expr_test,omitempty"`
	ExternalLabels  map[string]string `yaml:"external_labels,omitempty"`
	ExternalURL     string            `yaml:"external_url,omitempty"`
	TestGroupName   string            `yaml:"name,omitempty"`
	StartTimestamp  startTimestamp    `yaml:"start_timestamp,omitempty"`
}

type series struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type alertTestCase struct {
	EvalTime  model.Duration `yaml:"eval_time"`
	Alertname string         `yaml:"alertname"`
	ExpAlerts []expAlert     `yaml:"exp_alerts"`
}

type expAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels"`
	ExpAnnotations map[string]string `yaml:"exp_annotations"`
}

type promqlTestCase struct {
	Expr       string         `yaml:"expr"`
	EvalTime   model.Duration `yaml:"eval_time"`
	ExpSamples []expSample    `yaml:"exp_samples"`
}

type expSample struct {
	Labels    string  `yaml:"labels"`
	Value     float64 `yaml:"value"`
	Histogram string  `yaml:"histogram"`
}

// startTimestamp is a test group's start: RFC 3339 or Unix seconds.
type startTimestamp struct{ time.Time }

func (t *startTimestamp) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := int64(f), f-float64(int64(f))
		t.Time = time.Unix(sec, int64(frac*1e9)).UTC()
		return nil
	}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("cannot parse %q to a valid timestamp", s)
	}
	t.Time = parsed.UTC()
	return nil
}

// parseTestFile decodes a test file strictly (unknown keys are errors) and
// resolves its rule_files relative to the file's directory, with globs.
// warnings are the patterns that match no file.
func parseTestFile(name string, content []byte) (tf testFile, warnings []string, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(content))
	dec.KnownFields(true)
	if err := dec.Decode(&tf); err != nil && !errors.Is(err, io.EOF) {
		return tf, nil, err
	}
	var files []string
	for _, rf := range tf.RuleFiles {
		if rf != "" && !filepath.IsAbs(rf) {
			rf = filepath.Join(filepath.Dir(name), rf)
		}
		m, err := filepath.Glob(rf)
		if err != nil {
			return tf, nil, err
		}
		if len(m) == 0 {
			warnings = append(warnings, rf)
		}
		files = append(files, m...)
	}
	tf.RuleFiles = files
	if tf.EvaluationInterval == 0 {
		tf.EvaluationInterval = model.Duration(time.Minute)
	}
	return tf, warnings, nil
}
