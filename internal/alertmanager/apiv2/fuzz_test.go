package apiv2

import (
	"encoding/json"
	"testing"

	"github.com/prometheus/alertmanager/api/v2/models"
)

func FuzzDecodeAlerts(f *testing.F) {
	f.Add([]byte(`[{"labels":{"alertname":"a"},"annotations":{"s":"x"},"startsAt":"2024-01-01T00:00:00Z","generatorURL":"http://x/graph"}]`))
	f.Add([]byte(`[null,{"labels":{}},{"labels":{"":""}}]`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		alerts, _, err := decodeAlerts(body)
		if err != nil {
			return
		}
		for _, a := range alerts {
			if a.Labels == nil {
				t.Fatal("decoded alert without labels")
			}
			for _, v := range a.Labels {
				if v == "" {
					t.Fatal("empty label value kept")
				}
			}
		}
	})
}

func FuzzPostableSilence(f *testing.F) {
	f.Add([]byte(`{"matchers":[{"name":"a","value":"b","isRegex":false}],"startsAt":"2030-01-01T00:00:00Z","endsAt":"2030-01-02T00:00:00Z","createdBy":"a","comment":"c"}`))
	f.Add([]byte(`{"id":"x","matchers":[{"name":"a","value":"(","isRegex":true,"isEqual":false}]}`))
	// A null matcher passes the generated validation; it used to panic.
	f.Add([]byte(`{"matchers":[{"name":"a","value":"b","isRegex":false},null],"startsAt":"2030-01-01T00:00:00Z","endsAt":"2030-01-02T00:00:00Z","createdBy":"a","comment":"c"}`))
	f.Add([]byte(`{"matchers":[{"name":"a","value":"b"}],"startsAt":"2030-01-01T00:00:00Z","endsAt":"2030-01-02T00:00:00Z","createdBy":"a","comment":"c"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var ps models.PostableSilence
		if json.Unmarshal(body, &ps) != nil {
			return
		}
		s, err := postableToSilence(&ps)
		if err != nil {
			return
		}
		if len(s.Matchers) != len(ps.Matchers) {
			t.Fatalf("%d matchers from %d", len(s.Matchers), len(ps.Matchers))
		}
	})
}

func FuzzParseFilter(f *testing.F) {
	f.Add(`alertname="x"`)
	f.Add(`{foo=~"a|b", "bar"!="c"}`)
	f.Add(`a=~(`)
	f.Fuzz(func(t *testing.T, s string) {
		parseFilter([]string{s})
	})
}
