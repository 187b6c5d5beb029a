package config

import (
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
)

// Storage configures the local time series database (prometheus.yml's
// storage section). It is what the tsdb package receives.
type Storage struct {
	TSDB      TSDB      `yaml:"tsdb"`
	Exemplars Exemplars `yaml:"exemplars"`
}

// TSDB configures the time series database.
type TSDB struct {
	// OutOfOrderTimeWindow is how far behind the newest sample of a series
	// a sample may arrive and still be accepted; 0 rejects out-of-order
	// samples.
	OutOfOrderTimeWindow model.Duration `yaml:"out_of_order_time_window,omitempty"`
	// StaleSeriesCompactionThreshold, a fraction in [0, 1], compacts the
	// in-memory head early once that share of its series is stale; 0
	// disables it.
	StaleSeriesCompactionThreshold float64 `yaml:"stale_series_compaction_threshold,omitempty"`
	// ChunkEncoding selects sample encodings.
	ChunkEncoding ChunkEncoding `yaml:"chunk_encoding,omitempty"`
	// Retention says when old data is deleted.
	Retention Retention `yaml:"retention"`

	// WALSyncInterval (argus only) is how often the write-ahead log is
	// fsynced, i.e. how much acknowledged data a power loss may cost.
	// Default 5s; must be positive.
	WALSyncInterval model.Duration `yaml:"wal_sync_interval"`
}

// ChunkEncoding selects per-type sample encodings.
type ChunkEncoding struct {
	// Floats is xor, xor2, or empty for the engine's default.
	Floats string `yaml:"floats,omitempty"`
}

// The float chunk encodings.
const (
	FloatChunkEncodingXOR  = "xor"
	FloatChunkEncodingXOR2 = "xor2"
)

// Retention says when old data is deleted: whichever limit is hit first.
//
// As in Prometheus, the 15d default applies only when the retention
// section is absent. A retention section that sets, say, only size turns
// the time limit off.
type Retention struct {
	// Time is how long samples are kept; 0 means no time limit.
	Time model.Duration `yaml:"time"`
	// Size caps the bytes used by blocks; 0 means no size limit.
	Size units.Base2Bytes `yaml:"size"`
	// Percentage caps the share of the data disk used, in [0, 100]; when
	// set it overrides Size. 0 means no limit.
	Percentage float64 `yaml:"percentage,omitempty"`
}

// DefaultRetention is Prometheus's default retention time.
const DefaultRetention = model.Duration(15 * 24 * time.Hour)

// resetForDecode makes a written retention section start from "no
// limits"; see Retention.
func (r *Retention) resetForDecode() { *r = Retention{} }

// Exemplars configures the in-memory exemplar store.
type Exemplars struct {
	// MaxExemplars is the size of the exemplar ring buffer; 0 or less
	// disables exemplar storage. Default 100000.
	MaxExemplars int64 `yaml:"max_exemplars"`
}

func defaultStorage() Storage {
	return Storage{
		TSDB: TSDB{
			Retention:       Retention{Time: DefaultRetention},
			WALSyncInterval: model.Duration(5 * time.Second),
		},
		Exemplars: Exemplars{MaxExemplars: 100000},
	}
}
