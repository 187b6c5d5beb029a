package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/argus-mon/argus/internal/config"
)

// exampleRules is the directory of the example alert rules of the
// integration types: <type>.yml and its unit tests <type>.test.yml.
const exampleRules = "../../examples/rules/integrations"

// TestIntegrationExampleRules checks the example alert rules of every
// integration type: `argus check rules --lint-fatal` and Debian's promtool
// accept each file alike, `argus test rules` passes its unit tests
// (internal/ruletest compares them with promtool's), and those tests make
// each alert fire, on input series of which at least one does not fire
// it. The integration packages' tests check that each metric the rules
// read is produced.
func TestIntegrationExampleRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is needed to compare check rules with (apt-get install prometheus): %v", err)
	}
	var types []string
	files, _ := filepath.Glob(filepath.Join(exampleRules, "*.yml"))
	for _, f := range files {
		if !strings.HasSuffix(f, ".test.yml") {
			types = append(types, strings.TrimSuffix(filepath.Base(f), ".yml"))
		}
	}
	if want := config.IntegrationTypes(); !slices.Equal(types, want) {
		t.Fatalf("example rules for %v, integration types %v", types, want)
	}
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			rules := filepath.Join(exampleRules, typ+".yml")
			tests := filepath.Join(exampleRules, typ+".test.yml")
			var out, errOut bytes.Buffer
			code := Main(context.Background(), []string{"check", "rules", "--lint-fatal", rules}, &out, &errOut)
			pout, perr := exec.Command(promtool, "check", "rules", "--lint-fatal", rules).Output()
			if code != 0 || perr != nil || out.String() != string(pout) {
				t.Errorf("check rules: argus exit %d\n%s%s\npromtool: %v\n%s", code, out.String(), errOut.String(), perr, pout)
			}
			out.Reset()
			errOut.Reset()
			if code := Main(context.Background(), []string{"test", "rules", tests}, &out, &errOut); code != 0 {
				t.Errorf("test rules: exit %d\n%s%s", code, out.String(), errOut.String())
			}
			checkAlertsTested(t, rules, tests)
		})
	}
}

// checkAlertsTested fails the test for each alert of the rule file that
// the test file does not expect to fire, or only on input series that
// all fire it: a test must show the alert telling bad series from good.
func checkAlertsTested(t *testing.T, rules, tests string) {
	t.Helper()
	var rf struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	var tf struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			InputSeries []struct {
				Series string `yaml:"series"`
			} `yaml:"input_series"`
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []struct {
					ExpLabels map[string]string `yaml:"exp_labels"`
				} `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	for path, v := range map[string]any{rules: &rf, tests: &tf} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if !slices.Equal(tf.RuleFiles, []string{filepath.Base(rules)}) {
		t.Errorf("%s tests %v, want %s", tests, tf.RuleFiles, filepath.Base(rules))
	}
	p := parser.NewParser(parser.Options{})
	tested := map[string]bool{}
	for _, g := range tf.Tests {
		for _, at := range g.AlertRuleTest {
			if len(at.ExpAlerts) == 0 {
				continue
			}
			for _, s := range g.InputSeries {
				lbls, err := p.ParseMetric(s.Series)
				if err != nil {
					t.Fatalf("%s: series %s: %v", tests, s.Series, err)
				}
				fires := slices.ContainsFunc(at.ExpAlerts, func(a struct {
					ExpLabels map[string]string `yaml:"exp_labels"`
				}) bool {
					for k, v := range a.ExpLabels {
						if have := lbls.Get(k); have != "" && have != v {
							return false
						}
					}
					return true
				})
				if !fires {
					tested[at.Alertname] = true
				}
			}
		}
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && !tested[r.Alert] {
				t.Errorf("%s: no test expects %s to fire on some input series and not on others", tests, r.Alert)
			}
		}
	}
}
