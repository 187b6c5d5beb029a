package uwsgi

import (
	"encoding/json"
	"fmt"
)

// stats is the part of the stats server's document that is reported.
// Numbers are decoded as float64: uWSGI prints 64-bit unsigned counters,
// and a float never fails to hold one.
type stats struct {
	// Version is checked for presence only: every uWSGI reports it, so a
	// JSON document without it is some other server's.
	Version           *string  `json:"version"`
	ListenQueue       float64  `json:"listen_queue"`
	ListenQueueErrors float64  `json:"listen_queue_errors"`
	SignalQueue       float64  `json:"signal_queue"`
	Sockets           []socket `json:"sockets"`
	Workers           []worker `json:"workers"`
	Caches            []cache  `json:"caches"`
}

type socket struct {
	Name       string  `json:"name"`
	Proto      string  `json:"proto"`
	Queue      float64 `json:"queue"`
	MaxQueue   float64 `json:"max_queue"`
	Shared     float64 `json:"shared"`
	CanOffload float64 `json:"can_offload"`
}

type worker struct {
	ID            int64   `json:"id"`
	Accepting     float64 `json:"accepting"`
	Requests      float64 `json:"requests"`
	DeltaRequests float64 `json:"delta_requests"`
	Exceptions    float64 `json:"exceptions"`
	HarakiriCount float64 `json:"harakiri_count"`
	Signals       float64 `json:"signals"`
	SignalQueue   float64 `json:"signal_queue"`
	Status        string  `json:"status"`
	RSS           float64 `json:"rss"`
	VSZ           float64 `json:"vsz"`
	RunningTime   float64 `json:"running_time"` // microseconds
	LastSpawn     float64 `json:"last_spawn"`   // Unix seconds
	RespawnCount  float64 `json:"respawn_count"`
	TX            float64 `json:"tx"`
	AvgRT         float64 `json:"avg_rt"` // microseconds
	Apps          []app   `json:"apps"`
	// Cores are only counted: their per-core metrics are off by default
	// in the exporter (--collect.cores).
	Cores []struct{} `json:"cores"`
}

type app struct {
	ID          int64   `json:"id"`
	Mountpoint  string  `json:"mountpoint"`
	Chdir       string  `json:"chdir"`
	StartupTime float64 `json:"startup_time"`
	Requests    float64 `json:"requests"`
	Exceptions  float64 `json:"exceptions"`
}

type cache struct {
	Name     string  `json:"name"`
	Hits     float64 `json:"hits"`
	Misses   float64 `json:"miss"`
	Full     float64 `json:"full"`
	Items    float64 `json:"items"`
	MaxItems float64 `json:"max_items"`
}

// parseStats decodes the stats server's document.
func parseStats(b []byte) (*stats, error) {
	var s stats
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("the reply is not uWSGI's stats (it starts %q): %w", shorten(b), err)
	}
	if s.Version == nil {
		return nil, fmt.Errorf("the JSON reply has no version: not uWSGI's stats server? (it starts %q)", shorten(b))
	}
	return &s, nil
}

// shorten returns at most the first 100 bytes of b, for error messages.
func shorten(b []byte) []byte {
	const maxShown = 100
	if len(b) > maxShown {
		return b[:maxShown]
	}
	return b
}
