package alertmanager

import (
	"context"
	"encoding/json"
	"net"
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

// TestStopWithStuckReceiver: the email integration does not watch its
// context once connected, so a server that never answers holds its group;
// shutting down gives up on it instead of hanging.
func TestStopWithStuckReceiver(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 10)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c // and never say a word
		}
	})
	cfg := `
route:
  receiver: mail
  group_wait: 10ms
receivers:
  - name: mail
    email_configs:
      - {to: a@example.org, from: b@example.org, smarthost: '` + l.Addr().String() + `', require_tls: false}
`
	m, stop := startManager(t, Options{}, loadConfig(t, cfg))
	m.Put(context.Background(), model.Alert{Labels: model.LabelSet{"alertname": "A"}})
	conn := receive(t, accepted)
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(stopAbandonAfter + 10*time.Second):
		t.Fatal("Run did not return while an integration was stuck")
	}
	// The stuck notification ends when its connection does.
	l.Close()
	conn.Close()
	wg.Wait()
}
