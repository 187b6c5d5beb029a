package dashapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// versionInfo is one entry of GET .../versions, in Grafana's shape. argus
// has no separate version ids: id is the version number, so that both
// work in .../versions/{id}.
type versionInfo struct {
	ID            int             `json:"id"`
	DashboardID   int64           `json:"dashboardId"`
	DashboardUID  string          `json:"dashboardUid"`
	ParentVersion int             `json:"parentVersion"`
	RestoredFrom  int             `json:"restoredFrom"`
	Version       int             `json:"version"`
	Created       time.Time       `json:"created"`
	CreatedBy     string          `json:"createdBy"`
	Message       string          `json:"message"`
	Data          json.RawMessage `json:"data,omitempty"`
}

func (a *API) versions(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	d, err := a.o.Store.GetDashboard(r.Context(), uid)
	if err != nil {
		a.writeStoreError(w, err, "Dashboard")
		return
	}
	vs, err := a.o.Store.Versions(r.Context(), uid, atoiOr(r.URL.Query().Get("limit"), 0))
	if err != nil {
		a.writeStoreError(w, err, "Dashboard")
		return
	}
	out := make([]versionInfo, len(vs))
	for i, v := range vs {
		out[i] = versionInfo{ID: v.Version, DashboardID: d.ID, DashboardUID: uid, ParentVersion: max(v.Version-1, 0),
			Version: v.Version, Created: v.Created.UTC(), CreatedBy: "admin", Message: v.Message}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) version(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "version must be a number, got %q", r.PathValue("version"))
		return
	}
	d, err := a.o.Store.GetDashboard(r.Context(), uid)
	if err != nil {
		a.writeStoreError(w, err, "Dashboard")
		return
	}
	v, err := a.o.Store.GetVersion(r.Context(), uid, n)
	if err != nil {
		a.writeStoreError(w, err, "Dashboard version")
		return
	}
	writeJSON(w, http.StatusOK, versionInfo{ID: v.Version, DashboardID: d.ID, DashboardUID: uid, ParentVersion: max(v.Version-1, 0),
		Version: v.Version, Created: v.Created.UTC(), CreatedBy: "admin", Message: v.Message, Data: v.Data})
}

func (a *API) restore(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Version int `json:"version"`
	}
	if !a.readBody(w, r, &b) {
		return
	}
	uid := r.PathValue("uid")
	cur, err := a.o.Store.GetDashboard(r.Context(), uid)
	if err != nil {
		a.writeStoreError(w, err, "Dashboard")
		return
	}
	if cur.Provisioner != "" && !cur.AllowUIUpdates {
		writeError(w, http.StatusBadRequest, "Cannot save provisioned dashboard")
		return
	}
	saved, err := a.o.Store.RestoreVersion(r.Context(), uid, b.Version, cur.Report)
	if err != nil {
		a.writeStoreError(w, err, "Dashboard version")
		return
	}
	writeJSON(w, http.StatusOK, saveResponse{ID: saved.ID, UID: saved.UID, URL: dashboardURL(saved.UID, saved.Title),
		Status: "success", Version: saved.Version, Slug: Slug(saved.Title)})
}

// diff answers GET .../diff?base=N&new=M (argus's own; Grafana computes
// diffs in the browser): the JSON changes from version base to new.
func (a *API) diff(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	base, err1 := strconv.Atoi(q.Get("base"))
	nw, err2 := strconv.Atoi(q.Get("new"))
	if err1 != nil || err2 != nil {
		writeError(w, http.StatusBadRequest, "base and new must be version numbers")
		return
	}
	changes, err := a.o.Store.Diff(r.Context(), r.PathValue("uid"), base, nw)
	if err != nil {
		a.writeStoreError(w, err, "Dashboard version")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"base": base, "new": nw, "changes": changes})
}
