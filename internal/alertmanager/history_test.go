package alertmanager

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/argus-mon/argus/internal/alertmanager/statestore"
)

// TestHistoryMaxEvents: the maintenance keeps the newest HistoryMaxEvents
// events, however recent the older ones are.
func TestHistoryMaxEvents(t *testing.T) {
	ctx := context.Background()
	db, err := statestore.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m, _ := startManager(t, Options{State: db, HistoryMaxEvents: 5, MaintenanceInterval: time.Hour}, loadConfig(t, defaultConfig))
	for i := range 12 {
		if err := m.Put(ctx, model.Alert{Labels: model.LabelSet{"alertname": model.LabelValue(fmt.Sprint("A", i))}}); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		evs, err := m.History(ctx, HistoryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d history events written, want 12", len(evs))
		}
	}
	m.maintain(ctx, time.Now())
	evs, err := m.History(ctx, HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 5 {
		t.Fatalf("%d events after the maintenance, want 5", len(evs))
	}
	for i, e := range evs {
		if want := model.LabelValue(fmt.Sprint("A", 11-i)); e.Alert.Labels["alertname"] != want {
			t.Errorf("event %d is of %s, want %s (the newest)", i, e.Alert.Labels["alertname"], want)
		}
	}
}
