package uwsgi

import (
	"testing"

	"github.com/argus-mon/argus/internal/integration"
)

// FuzzStats feeds arbitrary documents to the stats parser and the metric
// mapping: whatever a server sends, they must not panic, and what they
// accept must give one uwsgi_workers series.
func FuzzStats(f *testing.F) {
	f.Add([]byte(`{"version":"2.0.21-debian","listen_queue":0,"listen_queue_errors":0,"signal_queue":0,` +
		`"caches":[{"name":"data","hits":1,"miss":2,"full":0,"items":1,"max_items":16}],` +
		`"sockets":[{"name":"127.0.0.1:8000","proto":"http","queue":0,"max_queue":100,"shared":0,"can_offload":0},` +
		`{"name":"127.0.0.1:8000","proto":"http","queue":0,"max_queue":100,"shared":0,"can_offload":0}],` +
		`"workers":[{"id":1,"pid":2,"accepting":1,"requests":2,"delta_requests":2,"exceptions":1,"harakiri_count":0,` +
		`"signals":0,"signal_queue":0,"status":"idle","rss":1,"vsz":2,"running_time":581,"last_spawn":1795766062,` +
		`"respawn_count":1,"tx":48,"avg_rt":236,"apps":[{"id":0,"modifier1":0,"mountpoint":"","startup_time":0,` +
		`"requests":2,"exceptions":1,"chdir":""}],"cores":[{"id":0,"requests":2,"vars":["a=b"],"req_info":{}}]},` +
		`{"id":0,"status":"cheap"}]}`))
	f.Add([]byte(`{"version":null}`))
	f.Add([]byte(`{"version":"x","workers":[{"id":1e30,"requests":-1}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseStats(data)
		if err != nil {
			return
		}
		var m integration.Metrics
		addMetrics(&m, s, "tcp://127.0.0.1:1717")
		for _, fam := range m.Families() {
			if fam.GetName() == "uwsgi_workers" && len(fam.Metric) != 1 {
				t.Fatalf("%d uwsgi_workers series", len(fam.Metric))
			}
		}
	})
}
