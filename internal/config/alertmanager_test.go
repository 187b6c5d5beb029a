package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSeedAlertmanagerFile loads the write-up's alertmanager.yml both as a
// plain file (--alertmanager.config) and as the alertmanager section.
func TestSeedAlertmanagerFile(t *testing.T) {
	sec, err := LoadAlertmanagerFile("testdata/alertmanager-seed.yml")
	if err != nil {
		t.Fatal(err)
	}
	if r := sec.Config.Route; r.Receiver != "the-receiver" || len(r.GroupBy) != 1 {
		t.Fatalf("route: %+v", r)
	}
	text, _ := os.ReadFile("testdata/alertmanager-seed.yml")
	var b strings.Builder
	b.WriteString("alertmanager:\n")
	for _, line := range strings.Split(string(text), "\n") {
		b.WriteString("  " + line + "\n")
	}
	file := filepath.Join(t.TempDir(), "argus.yml")
	os.WriteFile(file, []byte(b.String()), 0o644)
	c, err := LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if c.Alertmanager == nil || string(c.Alertmanager.Config.Receivers[0].WebhookConfigs[0].URL) != "http://localhost:8001" {
		t.Fatalf("section: %+v", c.Alertmanager)
	}
	if !strings.Contains(c.Alertmanager.Original, "the-receiver") {
		t.Fatalf("original text: %q", c.Alertmanager.Original)
	}
}

func FuzzAlertmanagerSection(f *testing.F) {
	seed, _ := os.ReadFile("testdata/alertmanager-section.good.yml")
	f.Add(seed)
	f.Add([]byte("alertmanager:\n  route: {receiver: a}\n  receivers: [{name: a}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yml")
		if err != nil || c.Alertmanager == nil {
			return
		}
		// What loads must print and load back.
		if _, err := Parse([]byte(c.String()), "again.yml"); err != nil {
			t.Fatalf("reload of marshalled config: %v\n%s", err, c.String())
		}
	})
}
