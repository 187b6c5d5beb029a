package statestore

// go test -run '^$' -bench AppendEvents -benchmem -count 6 ./internal/alertmanager/statestore | tee append.txt

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func BenchmarkAppendEvents(b *testing.B) {
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	batch := make([]Event, 1000)
	now := time.Now()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for i := range batch {
			n++
			batch[i] = Event{Time: now, Kind: "alert", Fingerprint: fmt.Sprintf("%016x", n*7919),
				Data: fmt.Appendf(nil, `{"state":"firing","labels":{"alertname":"A%d","instance":"host-%d","team":"t%d","severity":"warning"},"annotations":{"summary":"load test alert %d"},"startsAt":"2026-11-27T03:00:00Z","endsAt":"2026-11-27T03:05:00Z"}`, n%50, n, n%120, n)}
		}
		if err := db.AppendEvents(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}
