package dashapi

import (
	"net/http"
	"time"

	"github.com/argus-mon/argus/internal/state"
)

// folderInfo is a folder in Grafana's shape.
type folderInfo struct {
	ID        int64     `json:"id"`
	UID       string    `json:"uid"`
	Title     string    `json:"title"`
	URL       string    `json:"url"`
	HasACL    bool      `json:"hasAcl"`
	CanSave   bool      `json:"canSave"`
	CanEdit   bool      `json:"canEdit"`
	CanAdmin  bool      `json:"canAdmin"`
	CanDelete bool      `json:"canDelete"`
	CreatedBy string    `json:"createdBy"`
	Created   time.Time `json:"created"`
	UpdatedBy string    `json:"updatedBy"`
	Updated   time.Time `json:"updated"`
	Version   int       `json:"version"`
}

func info(f *state.Folder) folderInfo {
	return folderInfo{ID: f.ID, UID: f.UID, Title: f.Title, URL: folderURL(f.UID, f.Title), CanSave: true, CanEdit: true,
		CanAdmin: true, CanDelete: false, CreatedBy: "admin", Created: f.Created.UTC(), UpdatedBy: "admin", Updated: f.Updated.UTC(), Version: 1}
}

func (a *API) folders(w http.ResponseWriter, r *http.Request) {
	fs, err := a.o.Store.Folders(r.Context())
	if err != nil {
		a.writeStoreError(w, err, "Folders")
		return
	}
	type short struct {
		ID    int64  `json:"id"`
		UID   string `json:"uid"`
		Title string `json:"title"`
	}
	out := make([]short, len(fs))
	for i, f := range fs {
		out[i] = short{f.ID, f.UID, f.Title}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) folder(w http.ResponseWriter, r *http.Request) {
	f, err := a.o.Store.GetFolder(r.Context(), r.PathValue("uid"))
	if err != nil {
		a.writeStoreError(w, err, "Folder")
		return
	}
	writeJSON(w, http.StatusOK, info(f))
}

func (a *API) createFolder(w http.ResponseWriter, r *http.Request) {
	var b struct {
		UID   string `json:"uid"`
		Title string `json:"title"`
	}
	if !a.readBody(w, r, &b) {
		return
	}
	if b.Title == "" {
		writeError(w, http.StatusBadRequest, "folder title cannot be empty")
		return
	}
	f, err := a.o.Store.CreateFolder(r.Context(), b.UID, b.Title)
	if err != nil {
		a.writeStoreError(w, err, "Folder")
		return
	}
	writeJSON(w, http.StatusOK, info(f))
}
