package alertmanager

import (
	"strings"
	"testing"

	amconfig "github.com/prometheus/alertmanager/config"
)

func FuzzDecodeSilence(f *testing.F) {
	f.Add([]byte(`{"id":"a","matchers":[{"type":0,"name":"a","value":"b"}],"startsAt":"2024-01-01T00:00:00Z","endsAt":"2024-01-02T00:00:00Z"}`))
	f.Add([]byte(`{"id":"a","matchers":[{"type":2,"name":"a","value":"("}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSilence(b)
		if err != nil {
			return
		}
		again, err := encodeSilence(s)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := decodeSilence(again)
		if err != nil || s2.Matchers.String() != s.Matchers.String() || !s2.EndsAt.Equal(s.EndsAt) {
			t.Fatalf("round trip: %v %+v %+v", err, s, s2)
		}
	})
}

// FuzzRedactOriginal checks that the config text /api/v2/status serves
// never shows a webhook URL, which Alertmanager treats as a secret.
func FuzzRedactOriginal(f *testing.F) {
	f.Add("route: {receiver: a}\nreceivers:\n  - name: a\n    webhook_configs: [{url: 'http://secret.example/hook'}]\n")
	f.Add("route:\n  receiver: a\nreceivers:\n- name: a\n  webhook_configs:\n  - url: http://secret.example/x\n    send_resolved: true\n  - url: http://secret2.example/y\n")
	f.Add("route: &r {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url: 'http://secret.example/'}]}]\n")
	f.Fuzz(func(t *testing.T, text string) {
		cfg, err := amconfig.Load(text)
		if err != nil {
			return
		}
		out := redactOriginal(text, cfg.String())
		for _, r := range cfg.Receivers {
			for _, w := range r.WebhookConfigs {
				if u := string(w.URL); len(u) > 12 && strings.Contains(out, u) {
					t.Fatalf("secret %q shown:\n%s", u, out)
				}
			}
		}
	})
}
