package alertmanager

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/argus-mon/argus/internal/state"
)

// TestHistoryMaxEvents: the maintenance keeps the newest HistoryMaxEvents
// events, however recent the older ones are.
func TestHistoryMaxEvents(t *testing.T) {
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(t.TempDir(), state.File))
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

// TestSilenceReplacedHistory: updating a silence in a way that cannot be
// done in place expires it and creates another, as Alertmanager does; the
// history shows both, linked.
func TestSilenceReplacedHistory(t *testing.T) {
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(t.TempDir(), state.File))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m, _ := startManager(t, Options{State: db}, loadConfig(t, defaultConfig))
	now := time.Now()
	s := Silence{Matchers: matchers(t, "alertname", "A"), StartsAt: now, EndsAt: now.Add(time.Hour), CreatedBy: "me", Comment: "first"}
	oldID, err := m.SetSilence(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	// In place: same ID, "updated".
	s, _ = m.Silence(oldID)
	s.Comment = "longer"
	s.EndsAt = now.Add(2 * time.Hour)
	if id, err := m.SetSilence(ctx, s); err != nil || id != oldID {
		t.Fatalf("update in place: %s %v", id, err)
	}
	// Other matchers: replaced.
	s.Matchers = matchers(t, "alertname", "B")
	newID, err := m.SetSilence(ctx, s)
	if err != nil || newID == oldID {
		t.Fatalf("replace: %s %v", newID, err)
	}
	// Replacing an already expired silence expires nothing.
	if err := m.ExpireSilence(ctx, newID); err != nil {
		t.Fatal(err)
	}
	s.ID = newID
	thirdID, err := m.SetSilence(ctx, s)
	if err != nil || thirdID == newID {
		t.Fatalf("replace an expired one: %s %v", thirdID, err)
	}

	type ev struct{ action, id, replaces, replacedBy string }
	want := []ev{
		{"created", oldID, "", ""},
		{"updated", oldID, "", ""},
		{"expired", oldID, "", newID},
		{"created", newID, oldID, ""},
		{"expired", newID, "", ""},
		{"created", thirdID, newID, ""},
	}
	var got []ev
	for deadline := time.Now().Add(10 * time.Second); len(got) < len(want); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			break
		}
		evs, err := m.History(ctx, HistoryQuery{Kind: EventSilence})
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for i := len(evs) - 1; i >= 0; i-- { // oldest first
			se := evs[i].Silence
			got = append(got, ev{se.Action, se.ID, se.Replaces, se.ReplacedBy})
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("silence history\n got %v\nwant %v", got, want)
	}
	// The expired event shows the silence as it ended.
	evs, _ := m.History(ctx, HistoryQuery{Kind: EventSilence})
	for _, e := range evs {
		if e.Silence.ID == oldID && e.Silence.Action == "expired" && (e.Silence.Matchers != `{alertname="A"}` || e.Silence.EndsAt.After(time.Now())) {
			t.Errorf("expired event %+v", e.Silence)
		}
	}
}
