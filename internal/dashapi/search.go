package dashapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/argus-mon/argus/internal/state"
)

// hit is one result of GET /api/search, in Grafana's shape.
type hit struct {
	ID          int64    `json:"id"`
	UID         string   `json:"uid"`
	Title       string   `json:"title"`
	URI         string   `json:"uri"`
	URL         string   `json:"url"`
	Slug        string   `json:"slug"`
	Type        string   `json:"type"`
	Tags        []string `json:"tags"`
	IsStarred   bool     `json:"isStarred"`
	FolderID    int64    `json:"folderId,omitempty"`
	FolderUID   string   `json:"folderUid,omitempty"`
	FolderTitle string   `json:"folderTitle,omitempty"`
	FolderURL   string   `json:"folderUrl,omitempty"`
	SortMeta    int      `json:"sortMeta"`
	// Provisioned is argus's addition, so the UI can mark read-only ones.
	Provisioned bool `json:"provisioned"`
}

// search answers GET /api/search: folders (unless a filter only
// dashboards have is set) and dashboards, by title.
func (a *API) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	typ := q.Get("type")
	if typ != "" && typ != "dash-db" && typ != "dash-folder" {
		writeError(w, http.StatusBadRequest, "type must be dash-db or dash-folder, got %q", typ)
		return
	}
	var folderUIDs []string
	for _, v := range q["folderUIDs"] {
		for _, u := range strings.Split(v, ",") {
			// Grafana names the top level "general" here.
			if u == "general" {
				u = ""
			}
			folderUIDs = append(folderUIDs, u)
		}
	}
	limit := min(max(atoiOr(q.Get("limit"), 1000), 1), 5000)
	query := state.Query{Text: q.Get("query"), Tags: q["tag"], FolderUIDs: folderUIDs, UIDs: q["dashboardUIDs"],
		Starred: q.Get("starred") == "true", Limit: limit}
	folders, err := a.o.Store.Folders(r.Context())
	if err != nil {
		a.writeStoreError(w, err, "Folders")
		return
	}
	byUID := map[string]state.Folder{}
	out := []hit{}
	onlyDashboards := len(query.Tags) > 0 || query.Starred || len(query.UIDs) > 0 || len(folderUIDs) > 0
	for _, f := range folders {
		byUID[f.UID] = f
		if typ == "dash-db" || onlyDashboards || !strings.Contains(strings.ToLower(f.Title), strings.ToLower(query.Text)) {
			continue
		}
		out = append(out, hit{ID: f.ID, UID: f.UID, Title: f.Title, URI: "db/" + Slug(f.Title), URL: folderURL(f.UID, f.Title),
			Slug: Slug(f.Title), Type: "dash-folder", Tags: []string{}})
	}
	if typ != "dash-folder" {
		ds, err := a.o.Store.SearchDashboards(r.Context(), query)
		if err != nil {
			a.writeStoreError(w, err, "Dashboards")
			return
		}
		for _, d := range ds {
			h := hit{ID: d.ID, UID: d.UID, Title: d.Title, URI: "db/" + Slug(d.Title), URL: dashboardURL(d.UID, d.Title),
				Slug: Slug(d.Title), Type: "dash-db", Tags: d.Tags, IsStarred: d.Starred, Provisioned: d.Provisioner != ""}
			if f, ok := byUID[d.FolderUID]; ok {
				h.FolderID, h.FolderUID, h.FolderTitle, h.FolderURL = f.ID, f.UID, f.Title, folderURL(f.UID, f.Title)
			}
			out = append(out, h)
		}
	}
	if len(out) > limit {
		out = slices.Clip(out[:limit])
	}
	writeJSON(w, http.StatusOK, out)
}
