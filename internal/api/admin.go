package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// errAdminDisabled is Prometheus's answer to an admin request without
// --web.enable-admin-api.
var errAdminDisabled = errors.New("admin APIs disabled")

// snapshot answers /api/v1/admin/tsdb/snapshot: it writes a snapshot into
// <data>/snapshots/<name> and answers the name. skip_head=true leaves out the
// samples that are not in blocks yet.
func (a *API) snapshot(r *http.Request) result {
	if !a.opts.EnableAdmin {
		return errResult(errorUnavailable, errAdminDisabled)
	}
	skipHead := false
	if s := r.FormValue("skip_head"); s != "" {
		var err error
		if skipHead, err = strconv.ParseBool(s); err != nil {
			return invalidParam(fmt.Errorf("unable to parse boolean: %w", err), "skip_head")
		}
	}
	if a.opts.TSDB == nil || a.opts.DataDir == "" {
		return errResult(errorUnavailable, errors.New("no local storage to snapshot"))
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	name := time.Now().UTC().Format("20060102T150405Z0700") + "-" + hex.EncodeToString(rnd[:])
	dir := filepath.Join(a.opts.DataDir, "snapshots", name)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return errResult(errorInternal, fmt.Errorf("create snapshot directory: %w", err))
	}
	if err := a.opts.TSDB.Snapshot(r.Context(), dir, !skipHead); err != nil {
		os.RemoveAll(dir)
		return errResult(errorInternal, fmt.Errorf("create snapshot: %w", err))
	}
	a.logger.Info("Snapshot written", "dir", dir, "with_head", !skipHead)
	return result{data: map[string]string{"name": name}}
}

// deleteSeries answers /api/v1/admin/tsdb/delete_series. The parameters are
// checked as Prometheus checks them, but argus's storage cannot delete
// series yet (it has no tombstones), so a valid request is refused as
// unavailable instead of pretending to succeed.
func (a *API) deleteSeries(r *http.Request) result {
	if !a.opts.EnableAdmin {
		return errResult(errorUnavailable, errAdminDisabled)
	}
	if err := r.ParseForm(); err != nil {
		return errResult(errorBadData, fmt.Errorf("error parsing form values: %w", err))
	}
	if len(r.Form["match[]"]) == 0 {
		return errResult(errorBadData, errors.New("no match[] parameter provided"))
	}
	if _, err := timeParam(r, "start", MinTime); err != nil {
		return invalidParam(err, "start")
	}
	if _, err := timeParam(r, "end", MaxTime); err != nil {
		return invalidParam(err, "end")
	}
	for _, s := range r.Form["match[]"] {
		if _, err := a.parser.ParseMetricSelector(s); err != nil {
			return invalidParam(err, "match[]")
		}
	}
	return errResult(errorUnavailable, errors.New("deleting series is not supported yet by argus's storage"))
}

// cleanTombstones answers /api/v1/admin/tsdb/clean_tombstones. argus's
// storage never has tombstones (it cannot delete series yet), so there is
// never anything to clean and the request succeeds, as it does in Prometheus
// when there are none.
func (a *API) cleanTombstones(*http.Request) result {
	if !a.opts.EnableAdmin {
		return errResult(errorUnavailable, errAdminDisabled)
	}
	return result{}
}
