package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"
)

// BuildInfo is what /api/v1/status/buildinfo answers.
type BuildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	BuildUser string `json:"buildUser"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

// ReadBuildInfo returns the build information the Go toolchain recorded in
// the binary: the module version, the VCS revision and commit time. Branch
// and build user are not recorded and stay empty.
func ReadBuildInfo() BuildInfo {
	bi := BuildInfo{Version: "devel", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return bi
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		bi.Version = v
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			bi.Revision = s.Value
		case "vcs.time":
			bi.BuildDate = s.Value
		}
	}
	return bi
}

// RuntimeInfo is what /api/v1/status/runtimeinfo answers.
type RuntimeInfo struct {
	StartTime           time.Time `json:"startTime"`
	CWD                 string    `json:"CWD"`
	Hostname            string    `json:"hostname"`
	ServerTime          time.Time `json:"serverTime"`
	ReloadConfigSuccess bool      `json:"reloadConfigSuccess"`
	LastConfigTime      time.Time `json:"lastConfigTime"`
	CorruptionCount     int64     `json:"corruptionCount"`
	GoroutineCount      int       `json:"goroutineCount"`
	GOMAXPROCS          int       `json:"GOMAXPROCS"`
	GOMEMLIMIT          int64     `json:"GOMEMLIMIT"`
	GOGC                string    `json:"GOGC"`
	GODEBUG             string    `json:"GODEBUG"`
	StorageRetention    string    `json:"storageRetention"`
}

// TSDBStat is a name with a count in /api/v1/status/tsdb.
type TSDBStat struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

// HeadStats are the head's figures in /api/v1/status/tsdb.
type HeadStats struct {
	NumSeries     uint64 `json:"numSeries"`
	NumLabelPairs int    `json:"numLabelPairs"`
	ChunkCount    int64  `json:"chunkCount"`
	MinTime       int64  `json:"minTime"`
	MaxTime       int64  `json:"maxTime"`
}

// TSDBStatus is what /api/v1/status/tsdb answers: the cardinality of the
// head (the recent series), as in Prometheus.
type TSDBStatus struct {
	HeadStats                   HeadStats  `json:"headStats"`
	SeriesCountByMetricName     []TSDBStat `json:"seriesCountByMetricName"`
	LabelValueCountByLabelName  []TSDBStat `json:"labelValueCountByLabelName"`
	MemoryInBytesByLabelName    []TSDBStat `json:"memoryInBytesByLabelName"`
	SeriesCountByLabelValuePair []TSDBStat `json:"seriesCountByLabelValuePair"`
}

// TSDB is the storage's status and admin side.
type TSDB interface {
	// Status returns the head's cardinality with the top limit entries of
	// each list.
	Status(limit int) (TSDBStatus, error)
	// Snapshot writes a snapshot of the storage into dir, which does not
	// exist yet; withHead includes the samples not yet in blocks.
	Snapshot(ctx context.Context, dir string, withHead bool) error
}

func (a *API) buildInfo(*http.Request) result { return result{data: a.opts.BuildInfo} }

func (a *API) config(*http.Request) result {
	return result{data: map[string]string{"yaml": a.opts.Config().String()}}
}

func (a *API) flags(*http.Request) result {
	flags := a.opts.Flags
	if flags == nil {
		flags = map[string]string{}
	}
	return result{data: flags}
}

func (a *API) runtimeInfo(*http.Request) result {
	cwd, _ := os.Getwd()
	info := RuntimeInfo{
		StartTime:        a.opts.StartTime,
		CWD:              cwd,
		ServerTime:       time.Now().UTC(),
		GoroutineCount:   runtime.NumGoroutine(),
		GOMAXPROCS:       runtime.GOMAXPROCS(0),
		GOMEMLIMIT:       debug.SetMemoryLimit(-1),
		GOGC:             os.Getenv("GOGC"),
		GODEBUG:          os.Getenv("GODEBUG"),
		StorageRetention: a.retention(),
	}
	if a.opts.ReloadStatus != nil {
		info.ReloadConfigSuccess, info.LastConfigTime = a.opts.ReloadStatus()
	}
	host, err := os.Hostname()
	if err != nil {
		return result{data: info, err: &apiError{errorInternal, fmt.Errorf("error getting hostname: %w", err)}}
	}
	info.Hostname = host
	return result{data: info}
}

// retention describes the retention limits as Prometheus does: "15d",
// "512MiB" or "15d or 512MiB".
func (a *API) retention() string {
	r := a.opts.Config().Storage.TSDB.Retention
	var s string
	if r.Time != 0 {
		s = r.Time.String()
	}
	add := func(v string) {
		if s != "" {
			s += " or "
		}
		s += v
	}
	if r.Size != 0 {
		add(r.Size.String())
	}
	if r.Percentage != 0 {
		add(strconv.FormatFloat(r.Percentage, 'g', -1, 64) + "%")
	}
	return s
}

// maxTSDBLimit bounds the limit of /api/v1/status/tsdb, as in Prometheus.
const maxTSDBLimit = 10000

func (a *API) tsdbStatus(r *http.Request) result {
	limit := 10
	if s := r.FormValue("limit"); s != "" {
		var err error
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 {
			return errResult(errorBadData, errors.New("limit must be a positive number"))
		}
		if limit > maxTSDBLimit {
			return errResult(errorBadData, fmt.Errorf("limit must not exceed %d", maxTSDBLimit))
		}
	}
	if a.opts.TSDB == nil {
		return errResult(errorUnavailable, errors.New("no local storage"))
	}
	st, err := a.opts.TSDB.Status(limit)
	if err != nil {
		return errResult(errorInternal, err)
	}
	for _, l := range []*[]TSDBStat{&st.SeriesCountByMetricName, &st.LabelValueCountByLabelName, &st.MemoryInBytesByLabelName, &st.SeriesCountByLabelValuePair} {
		if *l == nil {
			*l = []TSDBStat{}
		}
	}
	return result{data: st}
}
