package alertmanager

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/common/model"
)

// TestReloadDuringNotification reloads while a receiver holds a
// notification: alerts are still taken during the reload, the
// notification under way is not cancelled and sent again by the new
// configuration, and an alert taken during the reload is notified once.
func TestReloadDuringNotification(t *testing.T) {
	arrived := make(chan string, 10) // the group's alertname, per request
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg webhook.Message
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		arrived <- msg.GroupLabels["alertname"]
		<-release
	}))
	t.Cleanup(func() { unblock(); srv.Close() })
	cfg := loadConfig(t, webhookConfig(srv.URL, ""))
	m, _ := startManager(t, Options{}, cfg)
	ctx := context.Background()

	m.Put(ctx, model.Alert{Labels: model.LabelSet{"alertname": "A"}})
	if got := receive(t, arrived); got != "A" {
		t.Fatalf("first notification for %q", got)
	}
	// The receiver holds A's notification; reload meanwhile.
	old := m.generation()
	reloaded := make(chan error, 1)
	go func() { reloaded <- m.ApplyConfig(cfg, "") }()
	for deadline := time.Now().Add(5 * time.Second); m.generation() == old; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the reload did not switch to the new configuration while a notification was under way")
		}
	}
	put := make(chan error, 1)
	go func() { put <- m.Put(ctx, model.Alert{Labels: model.LabelSet{"alertname": "B"}}) }()
	select {
	case err := <-put:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Put blocked by a reload waiting for a notification")
	}
	select {
	case err := <-reloaded:
		t.Fatalf("the reload did not wait for the notification under way (err %v)", err)
	default:
	}
	unblock()
	select {
	case err := <-reloaded:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("reload did not end once the notification did")
	}
	if got := receive(t, arrived); got != "B" {
		t.Fatalf("after the reload, a notification for %q; want B only (A was sent already)", got)
	}
	select {
	case got := <-arrived:
		t.Fatalf("a second notification for %q", got)
	case <-time.After(time.Second):
	}
}
