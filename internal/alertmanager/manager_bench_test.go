package alertmanager

// go test -run '^$' -bench 'Put' -benchmem -count 6 ./internal/alertmanager | tee put.txt

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/argus-mon/argus/internal/state"
)

// routingTree returns a config with n routes under the root, each matching
// one team, as the load benchmarks use.
func routingTree(n int, url string) string {
	var b strings.Builder
	b.WriteString("route:\n  receiver: default\n  group_by: [alertname, team]\n  group_wait: 1s\n  group_interval: 5s\n  routes:\n")
	for i := range n {
		fmt.Fprintf(&b, "    - matchers: ['team=\"t%d\"']\n      receiver: r%d\n", i, i%10)
	}
	b.WriteString("receivers:\n  - name: default\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  - name: r%d\n", i)
		if url != "" {
			fmt.Fprintf(&b, "    webhook_configs: [{url: '%s'}]\n", url)
		}
	}
	return b.String()
}

func BenchmarkPut(b *testing.B) {
	for _, persist := range []bool{false, true} {
		b.Run("state="+strconv.FormatBool(persist), func(b *testing.B) {
			opts := Options{}
			if persist {
				db, err := state.Open(context.Background(), filepath.Join(b.TempDir(), state.File))
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				opts.State = db
			}
			m, err := New(context.Background(), opts)
			if err != nil {
				b.Fatal(err)
			}
			cfg := loadConfig(&testing.T{}, routingTree(100, ""))
			m.ApplyConfig(cfg, "")
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { m.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			batch := make([]model.Alert, 100)
			now := time.Now()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				for j := range batch {
					i++
					batch[j] = model.Alert{
						Labels: model.LabelSet{
							"alertname": model.LabelValue("A" + strconv.Itoa(i%50)),
							"team":      model.LabelValue("t" + strconv.Itoa(i%120)),
							"instance":  model.LabelValue("host-" + strconv.Itoa(i)),
						},
						Annotations: model.LabelSet{"summary": "something is wrong"},
						StartsAt:    now,
					}
				}
				if err := m.Put(ctx, batch...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}
