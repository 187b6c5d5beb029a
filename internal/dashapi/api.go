package dashapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/argus-mon/argus/internal/dashboard"
	"github.com/argus-mon/argus/internal/state"
)

// DefaultMaxBodyBytes bounds request bodies when Options sets no bound:
// the biggest public dashboards are a few MiB.
const DefaultMaxBodyBytes = 16 << 20

// Options configure an API.
type Options struct {
	Store *state.DB
	// DataSources returns argus's data sources as they are now (they
	// change on reload); nil means the built-in one only.
	DataSources func() []dashboard.DataSource
	// Version is argus's version, for /api/health.
	Version string
	// MaxBodyBytes bounds request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger; nil discards.
	Logger *slog.Logger
	// CanEdit reports whether the request's user may change dashboards,
	// for the meta the UI reads (canSave, canEdit); nil means anyone.
	// The routes themselves are guarded by the server.
	CanEdit func(*http.Request) bool
}

// API is the dashboards HTTP API.
type API struct {
	o Options
}

// New returns an API.
func New(o Options) *API {
	if o.DataSources == nil {
		o.DataSources = func() []dashboard.DataSource { return []dashboard.DataSource{dashboard.BuiltinDataSource} }
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &API{o: o}
}

// Mux is where Register adds the routes: an *http.ServeMux, or the
// server's router, which guards each route with the access it needs.
type Mux interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Register adds the API's routes to mux.
func (a *API) Register(mux Mux) {
	mux.HandleFunc("GET /api/health", a.health)
	mux.HandleFunc("GET /api/search", a.search)
	mux.HandleFunc("GET /api/dashboards/uid/{uid}", a.getDashboard)
	mux.HandleFunc("DELETE /api/dashboards/uid/{uid}", a.deleteDashboard)
	mux.HandleFunc("POST /api/dashboards/db", a.saveDashboard)
	mux.HandleFunc("POST /api/dashboards/import", a.importDashboard)
	mux.HandleFunc("GET /api/dashboards/uid/{uid}/versions", a.versions)
	mux.HandleFunc("GET /api/dashboards/uid/{uid}/versions/{version}", a.version)
	mux.HandleFunc("POST /api/dashboards/uid/{uid}/restore", a.restore)
	mux.HandleFunc("GET /api/dashboards/uid/{uid}/diff", a.diff)
	mux.HandleFunc("GET /api/dashboards/uid/{uid}/report", a.report)
	mux.HandleFunc("GET /api/dashboards/uid/{uid}/export", a.export)
	mux.HandleFunc("POST /api/user/stars/dashboard/uid/{uid}", a.star(true))
	mux.HandleFunc("DELETE /api/user/stars/dashboard/uid/{uid}", a.star(false))
	mux.HandleFunc("GET /api/folders", a.folders)
	mux.HandleFunc("GET /api/folders/{uid}", a.folder)
	mux.HandleFunc("POST /api/folders", a.createFolder)
}

// writeJSON writes v with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// apiError is Grafana's error body; Status is set for the save conflicts
// that clients branch on.
type apiError struct {
	Message string `json:"message"`
	Status  string `json:"status,omitempty"`
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, apiError{Message: fmt.Sprintf(format, args...)})
}

// writeStoreError maps the store's errors to Grafana's answers.
func (a *API) writeStoreError(w http.ResponseWriter, err error, what string) {
	switch {
	case errors.Is(err, state.ErrVersionMismatch):
		writeJSON(w, http.StatusPreconditionFailed, apiError{Message: "The dashboard has been changed by someone else", Status: "version-mismatch"})
	case errors.Is(err, state.ErrNameExists):
		writeJSON(w, http.StatusPreconditionFailed, apiError{Message: "A dashboard with the same name in the folder already exists", Status: "name-exists"})
	case errors.Is(err, state.ErrProvisioned):
		writeError(w, http.StatusBadRequest, "Cannot save provisioned dashboard")
	case errors.Is(err, state.ErrFolderNotFound):
		writeError(w, http.StatusBadRequest, "folder not found")
	case errors.Is(err, state.ErrFolderExists):
		writeError(w, http.StatusConflict, "a folder with the same name already exists")
	case errors.Is(err, state.ErrNotFound):
		writeError(w, http.StatusNotFound, "%s not found", what)
	default:
		a.o.Logger.Error("Dashboard store request failed", "what", what, "err", err)
		writeError(w, http.StatusInternalServerError, "%s: %v", what, err)
	}
}

// readBody decodes a JSON request body of at most MaxBodyBytes into v.
func (a *API) readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.o.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, "request body larger than %d bytes", tooBig.Limit)
		return false
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "read request body: %v", err)
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "bad request data: %v", err)
		return false
	}
	return true
}

func (a *API) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	db := "ok"
	code := http.StatusOK
	if err := a.o.Store.Ping(ctx); err != nil {
		db, code = "failing", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]string{"commit": "", "database": db, "version": a.o.Version})
}

// Slug is Grafana's URL slug of a title: lower case, runs of other
// characters than letters and digits as one '-'.
func Slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		} else {
			dash = true
		}
	}
	return b.String()
}

func dashboardURL(uid, title string) string { return "/d/" + uid + "/" + Slug(title) }
func folderURL(uid, title string) string    { return "/dashboards/f/" + uid + "/" + Slug(title) }

func (a *API) star(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := a.o.Store.SetStarred(r.Context(), r.PathValue("uid"), on); err != nil {
			a.writeStoreError(w, err, "dashboard")
			return
		}
		msg := "Dashboard starred!"
		if !on {
			msg = "Dashboard unstarred"
		}
		writeJSON(w, http.StatusOK, apiError{Message: msg})
	}
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}
