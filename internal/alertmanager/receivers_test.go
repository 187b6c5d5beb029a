package alertmanager

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// capture is an HTTP endpoint that hands over each request body.
func capture(t *testing.T) (string, chan []byte) {
	ch := make(chan []byte, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- b
		w.Write([]byte(`{"ok":true,"status":"success","dedup_key":"x"}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

// fakeSMTP accepts one plain SMTP session per connection and hands over
// each message's DATA.
func fakeSMTP(t *testing.T) (string, chan string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan string, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serveSMTP(c, ch)
		}
	}()
	return l.Addr().String(), ch
}

func serveSMTP(c net.Conn, ch chan string) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(s string) { io.WriteString(c, s+"\r\n") }
	say("220 fake ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-fake")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "DATA"):
			say("354 go on")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(l)
			}
			ch <- msg.String()
			say("250 queued")
		case strings.HasPrefix(cmd, "QUIT"):
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func receive[T any](t *testing.T, ch chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
	}
	var zero T
	return zero
}

// TestUpstreamReceivers sends one alert to Slack, PagerDuty and email
// receivers (upstream integrations, default templates) at local fakes.
func TestUpstreamReceivers(t *testing.T) {
	slackURL, slack := capture(t)
	pdURL, pd := capture(t)
	smtpAddr, mail := fakeSMTP(t)
	cfg := `
global:
  smtp_smarthost: '` + smtpAddr + `'
  smtp_from: argus@example.org
  smtp_require_tls: false
route:
  receiver: all
  group_wait: 50ms
receivers:
  - name: all
    slack_configs:
      - api_url: ` + slackURL + `
        channel: '#alerts'
    pagerduty_configs:
      - routing_key: key
        url: ` + pdURL + `
    email_configs:
      - to: oncall@example.org
`
	m, _ := startManager(t, Options{}, loadConfig(t, cfg))
	m.Put(context.Background(), model.Alert{Labels: model.LabelSet{"alertname": "DiskFull", "instance": "db1"}, Annotations: model.LabelSet{"summary": "disk is full"}})

	var s struct {
		Channel     string `json:"channel"`
		Attachments []struct {
			Title string `json:"title"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(receive(t, slack), &s); err != nil || s.Channel != "#alerts" || len(s.Attachments) != 1 || s.Attachments[0].Title != "[FIRING:1]  (DiskFull db1)" {
		t.Fatalf("slack: %+v %v", s, err)
	}
	var p struct {
		RoutingKey  string `json:"routing_key"`
		EventAction string `json:"event_action"`
		Payload     struct {
			Summary string `json:"summary"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(receive(t, pd), &p); err != nil || p.RoutingKey != "key" || p.EventAction != "trigger" || !strings.Contains(p.Payload.Summary, "DiskFull") {
		t.Fatalf("pagerduty: %+v %v", p, err)
	}
	msg := receive(t, mail)
	if !strings.Contains(msg, "Subject: [FIRING:1]  (DiskFull db1)") || !strings.Contains(msg, "To: oncall@example.org") {
		t.Fatalf("email:\n%s", msg)
	}
}

// TestUnreachableReceiver counts the failure and does not hold up others.
func TestUnreachableReceiver(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	h := newHook(t)
	cfg := `
route:
  receiver: ok
  group_wait: 50ms
  group_interval: 200ms
  routes:
    - matchers: [to="dead"]
      receiver: dead
receivers:
  - name: ok
    webhook_configs: [{url: ` + h.srv.URL + `}]
  - name: dead
    webhook_configs: [{url: ` + dead + `}]
`
	m, _ := startManager(t, Options{}, loadConfig(t, cfg))
	m.Put(context.Background(),
		model.Alert{Labels: model.LabelSet{"alertname": "a", "to": "dead"}},
		model.Alert{Labels: model.LabelSet{"alertname": "b"}},
	)
	h.wait(t, 1, 2*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for testCounter(m.metrics.requestsFailed.WithLabelValues("webhook", "dead")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("failure to reach the dead receiver not counted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestResolveTimeout: an alert sent without an end time resolves after
// global.resolve_timeout unless sent again, and with send_resolved the
// receiver hears of it.
func TestResolveTimeout(t *testing.T) {
	h := newHook(t)
	cfg := "global:\n  resolve_timeout: 500ms\n" + webhookConfig(h.srv.URL, "")
	m, _ := startManager(t, Options{}, loadConfig(t, cfg))
	m.Put(context.Background(), model.Alert{Labels: model.LabelSet{"alertname": "T"}})
	h.wait(t, 1, 2*time.Second)
	if msg := h.messages()[0]; msg.Status != "firing" {
		t.Fatalf("first: %+v", msg)
	}
	h.wait(t, 1, 3*time.Second)
	if msg := h.messages()[1]; msg.Status != "resolved" {
		t.Fatalf("after the timeout: %+v", msg.Data)
	}
	if len(m.Alerts()) != 0 {
		t.Fatalf("resolved alert still listed: %+v", m.Alerts())
	}
}
