package rabbitmq

import (
	"encoding/json"
	"testing"

	"github.com/argus-mon/argus/internal/integration"
)

// FuzzReplies feeds arbitrary bytes to the decoding of the three replies
// and the metric mapping: whatever a server sends, they must not panic.
func FuzzReplies(f *testing.F) {
	f.Add([]byte(`{"node":"rabbit@h","cluster_name":"c","rabbitmq_version":"3.10.8","object_totals":{"connections":1,"queues":2}}`),
		[]byte(`{"mem_used":1e6,"mem_limit":2e6,"mem_alarm":false,"disk_free_alarm":true,"uptime":1234,"fd_used":null}`),
		[]byte(`{"items":[{"name":"q","vhost":"/","messages":3,"head_message_timestamp":null,"message_stats":{"publish":5}}],"page_count":1}`))
	f.Add([]byte(`[]`), []byte(`{"mem_alarm":"yes"}`), []byte(`{"items":[{}],"page_count":-1}`))
	f.Fuzz(func(t *testing.T, ov, nd, queues []byte) {
		var (
			o overview
			n node
			p queuePage
		)
		if json.Unmarshal(ov, &o) != nil {
			return
		}
		json.Unmarshal(nd, &n)
		json.Unmarshal(queues, &p)
		var m integration.Metrics
		addOverview(&m, &o, "id")
		addNode(&m, &n)
		addQueues(&m, p.Items)
		m.Families()
	})
}
