package rulefmt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/argus-mon/argus/internal/template"
)

// RuleGroups is the content of a rule file.
type RuleGroups struct {
	Groups []RuleGroup `yaml:"groups"`
}

// RuleGroup is a list of rules evaluated in order at one interval.
type RuleGroup struct {
	Name        string            `yaml:"name"`
	Interval    model.Duration    `yaml:"interval,omitempty"`
	QueryOffset *model.Duration   `yaml:"query_offset,omitempty"`
	Limit       int               `yaml:"limit,omitempty"`
	Rules       []Rule            `yaml:"rules"`
	Labels      map[string]string `yaml:"labels,omitempty"`
}

// Rule is a rule as written in a file: a recording rule (Record) or an
// alerting rule (Alert).
type Rule struct {
	Record        string            `yaml:"record,omitempty"`
	Alert         string            `yaml:"alert,omitempty"`
	Expr          string            `yaml:"expr"`
	For           model.Duration    `yaml:"for,omitempty"`
	KeepFiringFor model.Duration    `yaml:"keep_firing_for,omitempty"`
	Labels        map[string]string `yaml:"labels,omitempty"`
	Annotations   map[string]string `yaml:"annotations,omitempty"`
}

// Name is the rule's name: the alert name or the recorded metric name.
func (r *Rule) Name() string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

// The *Node types mirror the file with positions, for error messages.
type ruleGroups struct {
	Groups []RuleGroupNode `yaml:"groups"`
}

// RuleGroupNode is a group with the positions of its keys. It is exported
// only so that decoding errors name the type as upstream's do.
type RuleGroupNode struct {
	yaml.Node
	Name        string            `yaml:"name"`
	Interval    model.Duration    `yaml:"interval,omitempty"`
	QueryOffset *model.Duration   `yaml:"query_offset,omitempty"`
	Limit       int               `yaml:"limit,omitempty"`
	Rules       []RuleNode        `yaml:"rules"`
	Labels      map[string]string `yaml:"labels,omitempty"`
}

// RuleNode is a rule with the positions of its keys (see RuleGroupNode).
type RuleNode struct {
	Record        yaml.Node         `yaml:"record,omitempty"`
	Alert         yaml.Node         `yaml:"alert,omitempty"`
	Expr          yaml.Node         `yaml:"expr"`
	For           model.Duration    `yaml:"for,omitempty"`
	KeepFiringFor model.Duration    `yaml:"keep_firing_for,omitempty"`
	Labels        map[string]string `yaml:"labels,omitempty"`
	Annotations   map[string]string `yaml:"annotations,omitempty"`
}

// Error is a problem with one rule, located by group, rule number (from
// 1) and, where known, line and column.
type Error struct {
	Group    string
	Rule     int
	RuleName string
	Err      error
	node     *yaml.Node
	nodeAlt  *yaml.Node
}

func (e *Error) Error() string {
	switch {
	case e.nodeAlt != nil:
		return fmt.Sprintf("%d:%d: %d:%d: group %q, rule %d, %q: %v", e.node.Line, e.node.Column, e.nodeAlt.Line, e.nodeAlt.Column, e.Group, e.Rule, e.RuleName, e.Err)
	case e.node != nil:
		return fmt.Sprintf("%d:%d: group %q, rule %d, %q: %v", e.node.Line, e.node.Column, e.Group, e.Rule, e.RuleName, e.Err)
	}
	return fmt.Sprintf("group %q, rule %d, %q: %v", e.Group, e.Rule, e.RuleName, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Parse decodes and validates a rule file's content. Unknown keys are
// errors. Every problem found is returned; groups are nil if the YAML
// itself does not decode.
func Parse(content []byte, p parser.Parser) (*RuleGroups, []error) {
	var (
		groups RuleGroups
		node   ruleGroups
		errs   []error
	)
	dec := yaml.NewDecoder(bytes.NewReader(content))
	dec.KnownFields(true)
	if err := dec.Decode(&groups); err != nil && !errors.Is(err, io.EOF) {
		errs = append(errs, err)
	}
	if err := yaml.Unmarshal(content, &node); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		if l := DetectLegacy(content); l != nil {
			errs = append(errs, l)
		}
		return nil, errs
	}
	return &groups, groups.validate(node, p)
}

// ParseFile reads and validates a rule file; errors start with its name.
func ParseFile(name string, p parser.Parser) (*RuleGroups, []error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, []error{fmt.Errorf("%s: %w", name, err)}
	}
	rgs, errs := Parse(b, p)
	for i := range errs {
		errs[i] = fmt.Errorf("%s: %w", name, errs[i])
	}
	return rgs, errs
}

func (g *RuleGroups) validate(node ruleGroups, p parser.Parser) (errs []error) {
	set := map[string]struct{}{}
	for j, g := range g.Groups {
		if g.Name == "" {
			errs = append(errs, fmt.Errorf("%d:%d: Groupname must not be empty", node.Groups[j].Line, node.Groups[j].Column))
		}
		if _, ok := set[g.Name]; ok {
			errs = append(errs, fmt.Errorf("%d:%d: groupname: \"%s\" is repeated in the same file", node.Groups[j].Line, node.Groups[j].Column, g.Name))
		}
		set[g.Name] = struct{}{}
		for k, v := range g.Labels {
			if !model.UTF8Validation.IsValidLabelName(k) || k == model.MetricNameLabel {
				errs = append(errs, fmt.Errorf("invalid label name: %s", k))
			}
			if !model.LabelValue(v).IsValid() {
				errs = append(errs, fmt.Errorf("invalid label value: %s", v))
			}
		}
		for i, r := range g.Rules {
			for _, e := range r.validate(node.Groups[j].Rules[i], p) {
				e.Group, e.Rule, e.RuleName = g.Name, i+1, r.Name()
				errs = append(errs, e)
			}
		}
	}
	return errs
}

func (r *Rule) validate(node RuleNode, p parser.Parser) (errs []*Error) {
	add := func(err error, n, alt *yaml.Node) { errs = append(errs, &Error{Err: err, node: n, nodeAlt: alt}) }
	if r.Record != "" && r.Alert != "" {
		add(errors.New("only one of 'record' and 'alert' must be set"), &node.Record, &node.Alert)
	}
	if r.Record == "" && r.Alert == "" {
		add(errors.New("one of 'record' or 'alert' must be set"), &node.Record, &node.Alert)
	}
	if r.Expr == "" {
		add(errors.New("field 'expr' must be set in rule"), &node.Expr, nil)
	} else if _, err := p.ParseExpr(r.Expr); err != nil {
		add(fmt.Errorf("could not parse expression: %w", err), &node.Expr, nil)
	}
	if r.Record != "" {
		if len(r.Annotations) > 0 {
			add(errors.New("invalid field 'annotations' in recording rule"), &node.Record, nil)
		}
		if r.For != 0 {
			add(errors.New("invalid field 'for' in recording rule"), &node.Record, nil)
		}
		if r.KeepFiringFor != 0 {
			add(errors.New("invalid field 'keep_firing_for' in recording rule"), &node.Record, nil)
		}
		if !model.UTF8Validation.IsValidMetricName(r.Record) {
			add(fmt.Errorf("invalid recording rule name: %s", r.Record), &node.Record, nil)
		}
		// A common mistake is an expression in the name.
		if strings.ContainsAny(r.Record, "{}") {
			add(fmt.Errorf("braces present in the recording rule name; should it be in expr?: %s", r.Record), &node.Record, nil)
		}
	}
	for k, v := range r.Labels {
		if !model.UTF8Validation.IsValidLabelName(k) || k == model.MetricNameLabel {
			add(fmt.Errorf("invalid label name: %s", k), nil, nil)
		}
		if !model.LabelValue(v).IsValid() {
			add(fmt.Errorf("invalid label value: %s", v), nil, nil)
		}
	}
	for k := range r.Annotations {
		if !model.UTF8Validation.IsValidLabelName(k) {
			add(fmt.Errorf("invalid annotation name: %s", k), nil, nil)
		}
	}
	for _, err := range r.testTemplates() {
		add(err, nil, nil)
	}
	return errs
}

// testTemplates parses the label and annotation templates of an alerting
// rule, so that syntax errors are found when the file is loaded.
func (r *Rule) testTemplates() (errs []error) {
	if r.Alert == "" {
		return nil
	}
	parse := func(text string) error {
		e := template.NewExpander(context.Background(), template.AlertPreamble+text, "__alert_"+r.Alert, nil, time.Now(), nil, nil)
		return e.ParseTest()
	}
	for k, v := range r.Labels {
		if err := parse(v); err != nil {
			errs = append(errs, fmt.Errorf("label %q: %w", k, err))
		}
	}
	for k, v := range r.Annotations {
		if err := parse(v); err != nil {
			errs = append(errs, fmt.Errorf("annotation %q: %w", k, err))
		}
	}
	return errs
}
