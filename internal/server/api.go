package server

import (
	"context"
	"net"
	"os"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/argus-mon/argus/internal/api"
	"github.com/argus-mon/argus/internal/tsdb"
)

// newAPI builds the Prometheus HTTP API over the server's components.
func (s *Server) newAPI() *api.API {
	return api.New(api.Options{
		Queryable:     s.db,
		QueryEngine:   queryEngine{ng: s.engine, db: s.db},
		LookbackDelta: s.opts.Query.LookbackDelta,
		ParserOptions: s.opts.Query.Parser,
		Targets:       s.scrape,
		Rules:         s.rules,
		Alertmanagers: s.notifier,
		TSDB:          tsdbAdmin{s.db},
		Config:        s.Config,
		Flags:         s.opts.Flags,
		ReloadStatus:  s.reloadStatus,
		StartTime:     s.started,
		DataDir:       s.opts.DataDir,
		EnableAdmin:   s.opts.EnableAdminAPI,
		GlobalURL:     s.globalURLOptions(),
		Logger:        s.logger.With("component", "api"),
	})
}

// reloadStatus reports the last reload's outcome from the reload metrics.
func (s *Server) reloadStatus() (bool, time.Time) {
	var ok, last dto.Metric
	s.reloadSuccess.Write(&ok)
	s.reloadTime.Write(&last)
	return ok.GetGauge().GetValue() == 1, time.Unix(int64(last.GetGauge().GetValue()), 0).UTC()
}

// globalURLOptions describe how this server is reached from elsewhere: by
// its host name, as Prometheus's default external URL does.
func (s *Server) globalURLOptions() api.GlobalURLOptions {
	addr := s.listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	return api.GlobalURLOptions{ListenAddress: addr, Host: net.JoinHostPort(host, port), Scheme: "http"}
}

// tsdbAdmin gives the API the storage's status and snapshots.
type tsdbAdmin struct{ db *tsdb.DB }

func (t tsdbAdmin) Status(limit int) (api.TSDBStatus, error) {
	st := t.db.HeadStatus(limit)
	stats := func(l []tsdb.NameCount) []api.TSDBStat {
		out := make([]api.TSDBStat, len(l))
		for i, nc := range l {
			out[i] = api.TSDBStat{Name: nc.Name, Value: uint64(nc.Count)}
		}
		return out
	}
	return api.TSDBStatus{
		HeadStats: api.HeadStats{
			NumSeries: st.NumSeries, NumLabelPairs: st.NumLabelPairs, ChunkCount: st.ChunkCount,
			MinTime: st.MinTime, MaxTime: st.MaxTime,
		},
		SeriesCountByMetricName:     stats(st.SeriesCountByMetricName),
		LabelValueCountByLabelName:  stats(st.LabelValueCountByLabelName),
		MemoryInBytesByLabelName:    stats(st.MemoryInBytesByLabelName),
		SeriesCountByLabelValuePair: stats(st.SeriesCountByLabelValuePair),
	}, nil
}

func (t tsdbAdmin) Snapshot(ctx context.Context, dir string, withHead bool) error {
	return t.db.Snapshot(ctx, dir, withHead)
}
