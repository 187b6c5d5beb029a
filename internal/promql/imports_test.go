package promql

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoUpstreamEngineDependency holds the line the engine is built on:
// argus evaluates PromQL itself, so nothing argus builds links the upstream
// engine, not even indirectly (upstream's rulefmt, template, rules and
// notifier packages import it, so they cannot be used outside tests either;
// its parser and the packages around it are fine).
func TestNoUpstreamEngineDependency(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/argus-mon/argus/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{"promql", "template", "rules", "notifier", "model/rulefmt"}
	for _, p := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if p == "github.com/prometheus/prometheus/"+f {
				t.Errorf("argus depends on %s", p)
			}
		}
	}
}
