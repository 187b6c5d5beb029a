package alertmanager

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func TestAlertLimits(t *testing.T) {
	cfg := `
route:
  receiver: none
  group_by: [alertname]
  group_wait: 1h
receivers:
  - name: none
`
	alert := func(name, instance string) model.Alert {
		return model.Alert{Labels: model.LabelSet{"alertname": model.LabelValue(name), "instance": model.LabelValue(instance)}}
	}
	// refused checks that Put refuses a with the limit kind and counts it.
	refused := func(t *testing.T, m *Manager, kind string, a model.Alert) {
		t.Helper()
		before := testCounter(m.metrics.limited.WithLabelValues(kind))
		err := m.Put(context.Background(), a)
		if !errors.Is(err, ErrLimited) {
			t.Fatalf("Put %s: %v, want ErrLimited", a.Labels, err)
		}
		var le *limitError
		if !errors.As(err, &le) || le.kind != kind {
			t.Fatalf("Put %s: %v, want a %s limit", a.Labels, err, kind)
		}
		if n := testCounter(m.metrics.limited.WithLabelValues(kind)); n != before+1 {
			t.Fatalf("%s refusals counted %v, want %v", kind, n, before+1)
		}
	}
	put := func(t *testing.T, m *Manager, as ...model.Alert) {
		t.Helper()
		if err := m.Put(context.Background(), as...); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("max alerts", func(t *testing.T) {
		m, _ := startManager(t, Options{MaxAlerts: 3, MaintenanceInterval: time.Hour}, loadConfig(t, cfg))
		put(t, m, alert("A", "1"), alert("A", "2"), alert("B", "1"))
		refused(t, m, limitAlerts, alert("C", "1"))
		if !strings.Contains(m.Put(context.Background(), alert("C", "1")).Error(), "3 alerts stored, the most allowed") {
			t.Fatal("the error does not say which limit")
		}
		// Alerts already held are still updated.
		put(t, m, alert("A", "1"))
		// A resolved alert counts until cleaned up, which happens at once
		// once an alert was refused.
		resolved := alert("A", "2")
		resolved.EndsAt = time.Now()
		put(t, m, resolved)
		refused(t, m, limitAlerts, alert("C", "1"))
		m.maintain(context.Background(), time.Now())
		put(t, m, alert("C", "1"))
		if n := len(m.Alerts()); n != 3 {
			t.Fatalf("%d alerts, want 3", n)
		}
	})

	t.Run("per alertname", func(t *testing.T) {
		m, _ := startManager(t, Options{PerAlertNameLimit: 2}, loadConfig(t, cfg))
		put(t, m, alert("A", "1"), alert("A", "2"), alert("B", "1"))
		refused(t, m, limitPerAlertname, alert("A", "3"))
		put(t, m, alert("B", "2"))
	})

	t.Run("aggregation groups", func(t *testing.T) {
		m, _ := startManager(t, Options{MaxAggregationGroups: 2}, loadConfig(t, cfg))
		put(t, m, alert("A", "1"), alert("B", "1"))
		refused(t, m, limitGroups, alert("C", "1"))
		if err := m.Put(context.Background(), alert("C", "1")); !strings.Contains(err.Error(), "2 aggregation groups of at most 2, and the alert needs 1 more") {
			t.Fatalf("the error does not say which limit: %v", err)
		}
		// An alert of an existing group is taken.
		put(t, m, alert("A", "2"))
		if n := len(m.Groups()); n != 2 {
			t.Fatalf("%d groups, want 2", n)
		}
		// A refused alert is not stored either.
		for _, v := range m.Alerts() {
			if v.Labels["alertname"] == "C" {
				t.Fatal("refused alert stored")
			}
		}
		// A configuration that groups the alerts held finer gets every
		// group it needs: the limit refuses new alerts, not old ones.
		if err := m.ApplyConfig(loadConfig(t, strings.Replace(cfg, "[alertname]", "[alertname, instance]", 1)), ""); err != nil {
			t.Fatal(err)
		}
		if n := len(m.Groups()); n != 3 {
			t.Fatalf("%d groups after the reload, want 3", n)
		}
		refused(t, m, limitGroups, alert("A", "3"))
	})
}

// TestHugeAlertErrorIsShort: refusing an alert with thousands of labels
// does not echo them all back.
func TestHugeAlertErrorIsShort(t *testing.T) {
	m, _ := startManager(t, Options{}, loadConfig(t, defaultConfig))
	lset := model.LabelSet{"alertname": "Huge"}
	for i := range 10_000 {
		lset[model.LabelName("label_"+strings.Repeat("x", 20)+string(rune('a'+i%26))+model.Fingerprint(i).String())] = "value"
	}
	err := m.Put(context.Background(), model.Alert{Labels: lset})
	if err == nil || !strings.Contains(err.Error(), "10001 labels, more than the limit of 256") {
		t.Fatalf("Put: %v", err)
	}
	if len(err.Error()) > 1024 {
		t.Fatalf("error of %d bytes", len(err.Error()))
	}
}
