package state

// go test ./internal/state -run '^$' -bench Writers -benchtime 2000x -count 3

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

// BenchmarkWriters has 50 goroutines write at once, as busy UI and API
// users do: each write is one acknowledged transaction (a silence put, a
// dashboard save or an audit entry, in turn). It reports writes per
// second and fails on any error, "database is locked" included.
func BenchmarkWriters(b *testing.B) {
	b.Run("driver=sqlite", func(b *testing.B) {
		benchWriters(b, target{path: filepath.Join(b.TempDir(), File)})
	})
	b.Run("driver=postgres", func(b *testing.B) {
		// fsync on, unlike the other tests' servers: a real server's
		// commits are durable.
		srv := integrationtest.Postgres(b, "fsync=on", "synchronous_commit=on")
		benchWriters(b, target{dsn: srv.DSN()})
	})
}

func benchWriters(b *testing.B, tg target) {
	db := tg.open(b)
	ctx := context.Background()
	const writers = 50
	var next atomic.Int64
	var failed atomic.Value
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				var err error
				switch i % 3 {
				case 0:
					err = db.Put(ctx, "silences", fmt.Sprint(i), []byte(`{"comment":"bench"}`), time.Now().Add(time.Hour))
				case 1:
					_, err = db.SaveDashboard(ctx, SaveRequest{Data: fmt.Appendf(nil, `{"uid":"w%d","title":"w%d","panels":[]}`, w, w), Overwrite: true})
				case 2:
					err = db.AppendAudit(ctx, AuditEntry{Actor: "bench", Action: "POST /api/v2/silences", Target: fmt.Sprint(i)})
				}
				if err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
