package rules

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoUpstreamEngineDependency checks that nothing argus builds links the
// upstream PromQL engine, not even indirectly: upstream's rulefmt, template,
// rules and notifier packages import it, so they cannot be used outside
// tests.
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
