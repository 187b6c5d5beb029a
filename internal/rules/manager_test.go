package rules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRejectedUpdateChangesNothing checks that an update with one broken
// file leaves the groups and the argus_rule_* metrics as they were, though
// the files before the broken one change a group and add one.
func TestRejectedUpdateChangesNothing(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, func(o *Options) { o.Registerer = reg })
	t.Cleanup(func() {
		// A Run whose context is already done stops the groups at once.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		e.m.Run(ctx)
	})
	dir := t.TempDir()
	upd := UpdateOptions{Files: []string{filepath.Join(dir, "*.yml")}, Interval: time.Minute}
	writeFile(t, filepath.Join(dir, "a.yml"), `groups: [{name: a, rules: [{record: one, expr: vector(1)}]}]`)
	if err := e.m.Update(upd); err != nil {
		t.Fatal(err)
	}
	gather := func() string {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
				t.Fatal(err)
			}
		}
		return b.String()
	}
	before := gather()
	if !strings.Contains(before, `argus_rule_group_rules{rule_group="`+filepath.Join(dir, "a.yml")+`;a"} 1`) {
		t.Fatalf("metrics of the first update:\n%s", before)
	}

	writeFile(t, filepath.Join(dir, "a.yml"), `groups: [{name: a, interval: 30s, rules: [{record: one, expr: vector(1)}, {record: two, expr: vector(2)}]}]`)
	writeFile(t, filepath.Join(dir, "b.yml"), `groups: [{name: b, rules: [{record: three, expr: vector(3)}]}]`)
	writeFile(t, filepath.Join(dir, "c.yml"), `groups: [{name: c, rules: [{record: four, expr: "vector("}]}]`)
	if err := e.m.Update(upd); err == nil {
		t.Fatal("update with a broken file succeeded")
	}
	if after := gather(); after != before {
		t.Errorf("a rejected update changed the metrics:\n%s\nwant\n%s", after, before)
	}
	if gs := e.m.Groups(); len(gs) != 1 || len(gs[0].Rules()) != 1 || gs[0].Interval() != time.Minute {
		t.Errorf("a rejected update changed the groups: %v", gs)
	}
}
