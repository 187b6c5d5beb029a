package promql

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/argus-mon/argus/internal/tsdb"
)

// argusStorage exposes argus's tsdb as an upstream storage.Storage so the
// upstream test harness can load its data into it. Only what the harness
// uses works: queriers and AppenderV2 with float samples.
type argusStorage struct {
	db *tsdb.DB
}

func newArgusStorage(t testing.TB) storage.Storage {
	// Test data spans years and starts at zero for every series, so blocks
	// and retention are made long enough that nothing is out of bounds.
	const century = 100 * 365 * 24 * time.Hour
	db, err := tsdb.Open(context.Background(), t.TempDir(), tsdb.Options{
		Retention:       2 * century,
		BlockDuration:   century,
		WALSyncInterval: time.Hour,
	})
	if err != nil {
		t.Fatalf("open argus tsdb: %v", err)
	}
	return &argusStorage{db: db}
}

func (s *argusStorage) Querier(mint, maxt int64) (storage.Querier, error) {
	return s.db.Querier(mint, maxt)
}

func (s *argusStorage) ChunkQuerier(int64, int64) (storage.ChunkQuerier, error) {
	return nil, errors.New("argus test storage: chunk queriers are not supported")
}

// Appender is not used by the harness; the returned value panics if it is.
func (s *argusStorage) Appender(context.Context) storage.Appender {
	return struct{ storage.Appender }{}
}

func (s *argusStorage) AppenderV2(context.Context) storage.AppenderV2 {
	return &argusAppender{app: s.db.Appender()}
}

func (s *argusStorage) StartTime() (int64, error) { return s.db.StartTime() }
func (s *argusStorage) Close() error              { return s.db.Close() }

type argusAppender struct {
	app *tsdb.Appender
}

func (a *argusAppender) Append(ref storage.SeriesRef, ls labels.Labels, _, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, _ storage.AppendV2Options) (storage.SeriesRef, error) {
	if h != nil || fh != nil {
		return 0, errors.New("argus tsdb does not store native histograms")
	}
	r, err := a.app.Append(uint64(ref), ls, t, v)
	return storage.SeriesRef(r), err
}

func (a *argusAppender) Commit() error   { return a.app.Commit() }
func (a *argusAppender) Rollback() error { return a.app.Rollback() }
