package dashapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/argus-mon/argus/internal/dashboard"
	"github.com/argus-mon/argus/internal/state"
)

// Meta is the meta object of GET /api/dashboards/uid/{uid}, with the
// fields of Grafana's that tools read.
type Meta struct {
	Type        string    `json:"type"`
	CanSave     bool      `json:"canSave"`
	CanEdit     bool      `json:"canEdit"`
	CanAdmin    bool      `json:"canAdmin"`
	CanStar     bool      `json:"canStar"`
	CanDelete   bool      `json:"canDelete"`
	Slug        string    `json:"slug"`
	URL         string    `json:"url"`
	Expires     time.Time `json:"expires"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
	UpdatedBy   string    `json:"updatedBy"`
	CreatedBy   string    `json:"createdBy"`
	Version     int       `json:"version"`
	HasACL      bool      `json:"hasAcl"`
	IsFolder    bool      `json:"isFolder"`
	IsStarred   bool      `json:"isStarred"`
	FolderID    int64     `json:"folderId"`
	FolderUID   string    `json:"folderUid"`
	FolderTitle string    `json:"folderTitle"`
	FolderURL   string    `json:"folderUrl"`
	Provisioned bool      `json:"provisioned"`
	// ProvisionedExternalID is the file the dashboard was provisioned from.
	ProvisionedExternalID string `json:"provisionedExternalId"`
}

func (a *API) getDashboard(w http.ResponseWriter, r *http.Request) {
	d, err := a.o.Store.GetDashboard(r.Context(), r.PathValue("uid"))
	if err != nil {
		a.writeStoreError(w, err, "Dashboard")
		return
	}
	readOnly := d.Provisioner != "" && !d.AllowUIUpdates
	canEdit := a.o.CanEdit == nil || a.o.CanEdit(r)
	m := Meta{
		Type: "db", CanSave: !readOnly && canEdit, CanEdit: canEdit, CanAdmin: canEdit, CanStar: canEdit, CanDelete: !readOnly && canEdit,
		Slug: Slug(d.Title), URL: dashboardURL(d.UID, d.Title), Expires: time.Unix(0, 0).UTC(),
		Created: d.Created.UTC(), Updated: d.Updated.UTC(), UpdatedBy: "admin", CreatedBy: "admin",
		Version: d.Version, IsStarred: d.Starred, FolderUID: d.FolderUID, FolderTitle: "General",
		Provisioned: d.Provisioner != "", ProvisionedExternalID: d.ProvisionedPath,
	}
	if d.FolderUID != "" {
		if f, err := a.o.Store.GetFolder(r.Context(), d.FolderUID); err == nil {
			m.FolderID, m.FolderTitle, m.FolderURL = f.ID, f.Title, folderURL(f.UID, f.Title)
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Dashboard json.RawMessage `json:"dashboard"`
		Meta      Meta            `json:"meta"`
	}{d.Data, m})
}

func (a *API) deleteDashboard(w http.ResponseWriter, r *http.Request) {
	d, err := a.o.Store.GetDashboard(r.Context(), r.PathValue("uid"))
	if err != nil {
		a.writeStoreError(w, err, "Dashboard")
		return
	}
	if d.Provisioner != "" && !d.AllowUIUpdates {
		writeError(w, http.StatusBadRequest, "Dashboard cannot be deleted because it was provisioned")
		return
	}
	if err := a.o.Store.DeleteDashboard(r.Context(), d.UID); err != nil {
		a.writeStoreError(w, err, "Dashboard")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"title": d.Title, "message": fmt.Sprintf("Dashboard %s deleted", d.Title), "id": d.ID})
}

// saveBody is the body of POST /api/dashboards/db.
type saveBody struct {
	Dashboard json.RawMessage `json:"dashboard"`
	FolderUID string          `json:"folderUid"`
	FolderID  *int64          `json:"folderId"`
	Overwrite bool            `json:"overwrite"`
	Message   string          `json:"message"`
}

// saveResponse is the answer to a save; Report is argus's addition.
type saveResponse struct {
	ID      int64             `json:"id"`
	UID     string            `json:"uid"`
	URL     string            `json:"url"`
	Status  string            `json:"status"`
	Version int               `json:"version"`
	Slug    string            `json:"slug"`
	Report  *dashboard.Report `json:"report"`
}

func (a *API) saveDashboard(w http.ResponseWriter, r *http.Request) {
	var b saveBody
	if !a.readBody(w, r, &b) {
		return
	}
	folder, ok := a.folderUID(w, r, b.FolderUID, b.FolderID)
	if !ok {
		return
	}
	d, rep, ok := a.prepare(w, b.Dashboard, nil)
	if !ok {
		return
	}
	saved, ok := a.store(w, r, d, rep, state.SaveRequest{FolderUID: folder, Overwrite: b.Overwrite, Message: b.Message})
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, saveResponse{ID: saved.ID, UID: saved.UID, URL: dashboardURL(saved.UID, saved.Title),
		Status: "success", Version: saved.Version, Slug: Slug(saved.Title), Report: rep})
}

// prepare decodes and migrates a posted dashboard.
func (a *API) prepare(w http.ResponseWriter, raw json.RawMessage, inputs []dashboard.Input) (dashboard.JSON, *dashboard.Report, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		writeError(w, http.StatusBadRequest, "Dashboard is missing")
		return nil, nil, false
	}
	d, err := dashboard.Decode(raw)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return nil, nil, false
	}
	if t, _ := d["title"].(string); strings.TrimSpace(t) == "" {
		writeError(w, http.StatusBadRequest, "Dashboard title cannot be empty")
		return nil, nil, false
	}
	rep, err := dashboard.Migrate(d, dashboard.Options{DataSources: a.o.DataSources(), Inputs: inputs})
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return nil, nil, false
	}
	return d, rep, true
}

// store saves a prepared dashboard, carrying the previous report's
// knowledge of the import into the new one.
func (a *API) store(w http.ResponseWriter, r *http.Request, d dashboard.JSON, rep *dashboard.Report, req state.SaveRequest) (*state.Dashboard, bool) {
	if uid, _ := d["uid"].(string); uid != "" {
		if old, err := a.o.Store.GetDashboard(r.Context(), uid); err == nil && old.Report != nil {
			var prev dashboard.Report
			if json.Unmarshal(old.Report, &prev) == nil {
				rep.Carry(&prev)
			}
		}
	}
	data, err := json.Marshal(d)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encode dashboard: %v", err)
		return nil, false
	}
	req.Data = data
	if req.Report, err = json.Marshal(rep); err != nil {
		writeError(w, http.StatusInternalServerError, "encode report: %v", err)
		return nil, false
	}
	saved, err := a.o.Store.SaveDashboard(r.Context(), req)
	if err != nil {
		a.writeStoreError(w, err, "Dashboard")
		return nil, false
	}
	return saved, true
}

// folderUID resolves the folder of a request, given by uid or by the
// numeric id older clients send (0: the top level).
func (a *API) folderUID(w http.ResponseWriter, r *http.Request, uid string, id *int64) (string, bool) {
	if uid != "" || id == nil || *id == 0 {
		return uid, true
	}
	fs, err := a.o.Store.Folders(r.Context())
	if err != nil {
		a.writeStoreError(w, err, "Folder")
		return "", false
	}
	for _, f := range fs {
		if f.ID == *id {
			return f.UID, true
		}
	}
	writeError(w, http.StatusBadRequest, "folder not found")
	return "", false
}

// importBody is the body of POST /api/dashboards/import.
type importBody struct {
	Dashboard json.RawMessage   `json:"dashboard"`
	Overwrite bool              `json:"overwrite"`
	Inputs    []dashboard.Input `json:"inputs"`
	FolderUID string            `json:"folderUid"`
	FolderID  *int64            `json:"folderId"`
	Message   string            `json:"message"`
}

func (a *API) importDashboard(w http.ResponseWriter, r *http.Request) {
	var b importBody
	if !a.readBody(w, r, &b) {
		return
	}
	folder, ok := a.folderUID(w, r, b.FolderUID, b.FolderID)
	if !ok {
		return
	}
	d, rep, ok := a.prepare(w, b.Dashboard, b.Inputs)
	if !ok {
		return
	}
	// An import is a new copy: the id of another instance means nothing
	// here, and the version it had there must not conflict.
	delete(d, "id")
	msg := b.Message
	if msg == "" {
		msg = "Imported"
	}
	saved, ok := a.store(w, r, d, rep, state.SaveRequest{FolderUID: folder, Overwrite: b.Overwrite, Message: msg})
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"uid": saved.UID, "pluginId": "", "title": saved.Title, "imported": true,
		"importedUri": "db/" + Slug(saved.Title), "importedUrl": dashboardURL(saved.UID, saved.Title),
		"slug": Slug(saved.Title), "dashboardId": saved.ID, "folderUid": saved.FolderUID,
		"importedRevision": 0, "revision": 0, "description": "", "path": "", "removed": false,
		"version": saved.Version, "report": rep,
	})
}

func (a *API) report(w http.ResponseWriter, r *http.Request) {
	d, err := a.o.Store.GetDashboard(r.Context(), r.PathValue("uid"))
	if err != nil {
		a.writeStoreError(w, err, "Dashboard")
		return
	}
	// The report is made anew, since the data sources may have changed
	// since the save, and carries what the stored one knew of the import.
	j, err := dashboard.Decode(d.Data)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "stored dashboard %s: %v", d.UID, err)
		return
	}
	rep, err := dashboard.Migrate(j, dashboard.Options{DataSources: a.o.DataSources()})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "stored dashboard %s: %v", d.UID, err)
		return
	}
	var prev dashboard.Report
	if d.Report != nil && json.Unmarshal(d.Report, &prev) == nil {
		rep.Carry(&prev)
		if len(rep.Notes) == 0 {
			rep.Notes = prev.Notes
		}
	}
	writeJSON(w, http.StatusOK, rep)
}

func (a *API) export(w http.ResponseWriter, r *http.Request) {
	d, err := a.o.Store.GetDashboard(r.Context(), r.PathValue("uid"))
	if err != nil {
		a.writeStoreError(w, err, "Dashboard")
		return
	}
	j, err := dashboard.Decode(d.Data)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "stored dashboard %s: %v", d.UID, err)
		return
	}
	if r.URL.Query().Get("download") != "" {
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", Slug(d.Title)+".json"))
	}
	writeJSON(w, http.StatusOK, dashboard.Export(j, a.o.DataSources()))
}
