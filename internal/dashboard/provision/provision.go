package provision

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/argus-mon/argus/internal/dashboard"
	"github.com/argus-mon/argus/internal/state"
)

// BuiltinName is the provider name of the built-in dashboards.
const BuiltinName = "builtin"

// BuiltinFolder is the folder of the built-in dashboards.
const BuiltinFolder = "argus"

// Provider is a set of dashboard files.
type Provider struct {
	Name string
	// Folder is the title of the folder to put the dashboards in; empty
	// for the top level.
	Folder string
	// Files holds the *.json files, read recursively; Dir is where they
	// are, for messages and the dashboards' provisioned path.
	Files fs.FS
	Dir   string
	// AllowUIUpdates lets the API change and delete the dashboards.
	AllowUIUpdates bool
	// Include says which of the files to provision, by their name in
	// Files; nil means all of them. A file left out is treated as one
	// removed: its dashboard is deleted.
	Include func(name string) bool
}

// Builtin returns the provider of argus's embedded dashboards: Host,
// Apps, argus and Alerts, and the dashboard of each integration type in
// types (the types of the configured integrations), so that a dashboard
// appears with the first integration of its type and goes with the last.
func Builtin(types ...string) Provider {
	want := map[string]bool{}
	for _, t := range types {
		want[dashboard.IntegrationFile(t)] = true
	}
	include := func(name string) bool {
		return path.Dir(name) != dashboard.IntegrationDir || want[name]
	}
	return Provider{Name: BuiltinName, Folder: BuiltinFolder, Files: dashboard.Builtin(), Dir: "(built in)", Include: include}
}

// FromDir returns a provider of the files under dir.
func FromDir(name, folder, dir string, allowUIUpdates bool) Provider {
	return Provider{Name: name, Folder: folder, Files: os.DirFS(dir), Dir: dir, AllowUIUpdates: allowUIUpdates}
}

// Provisioner syncs providers into a store.
type Provisioner struct {
	store   *state.DB
	logger  *slog.Logger
	sources func() []dashboard.DataSource
	mu      sync.Mutex
}

// New returns a Provisioner. sources returns argus's data sources (nil:
// the built-in one); a nil logger discards.
func New(store *state.DB, sources func() []dashboard.DataSource, logger *slog.Logger) *Provisioner {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if sources == nil {
		sources = func() []dashboard.DataSource { return nil }
	}
	return &Provisioner{store: store, logger: logger, sources: sources}
}

// Result counts what a Sync did.
type Result struct {
	Saved, Unchanged, Deleted int
}

// Sync makes the store's provisioned dashboards those of providers. A
// file that cannot be read or imported is reported in the returned error
// (all of them, joined) and skipped; the others are still synced, and a
// dashboard whose file is bad keeps its last good version.
func (p *Provisioner) Sync(ctx context.Context, providers []Provider) (Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var res Result
	var errs []error
	keep := map[string]bool{} // uids provisioned now
	names := map[string]bool{}
	for _, pr := range providers {
		names[pr.Name] = true
		if err := p.syncProvider(ctx, pr, keep, &res); err != nil {
			errs = append(errs, err)
		}
	}
	all, err := p.store.SearchDashboards(ctx, state.Query{Limit: 1 << 30})
	if err != nil {
		return res, errors.Join(append(errs, err)...)
	}
	for _, d := range all {
		if d.Provisioner == "" || keep[d.UID] {
			continue
		}
		if names[d.Provisioner] && failedIn(errs, d.ProvisionedPath) {
			continue
		}
		if err := p.store.DeleteDashboard(ctx, d.UID); err != nil && !errors.Is(err, state.ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		p.logger.Info("Deleted a provisioned dashboard whose file is gone", "provider", d.Provisioner, "uid", d.UID, "path", d.ProvisionedPath)
		res.Deleted++
	}
	return res, errors.Join(errs...)
}

// fileError is a file that could not be provisioned; its dashboard, if
// any, is kept.
type fileError struct {
	path string
	err  error
}

func (e *fileError) Error() string { return fmt.Sprintf("provision dashboard %s: %v", e.path, e.err) }
func (e *fileError) Unwrap() error { return e.err }

func failedIn(errs []error, path string) bool {
	for _, err := range errs {
		var fe *fileError
		for _, e := range flatten(err) {
			if errors.As(e, &fe) && fe.path == path {
				return true
			}
		}
	}
	return false
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (p *Provisioner) syncProvider(ctx context.Context, pr Provider, keep map[string]bool, res *Result) error {
	var files []string
	err := fs.WalkDir(pr.Files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(name, ".json") && (pr.Include == nil || pr.Include(name)) {
			files = append(files, name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dashboard provider %q: read %s: %w", pr.Name, pr.Dir, err)
	}
	folderUID := ""
	if pr.Folder != "" {
		f, err := p.store.EnsureFolder(ctx, pr.Folder)
		if err != nil {
			return fmt.Errorf("dashboard provider %q: %w", pr.Name, err)
		}
		folderUID = f.UID
	}
	var errs []error
	for _, name := range files {
		full := path.Join(pr.Dir, name)
		if err := p.syncFile(ctx, pr, name, full, folderUID, keep, res); err != nil {
			errs = append(errs, &fileError{path: full, err: err})
		}
	}
	return errors.Join(errs...)
}

func (p *Provisioner) syncFile(ctx context.Context, pr Provider, name, full, folderUID string, keep map[string]bool, res *Result) error {
	data, err := fs.ReadFile(pr.Files, name)
	if err != nil {
		return err
	}
	d, rep, err := dashboard.Import(data, dashboard.Options{DataSources: p.sources()})
	if err != nil {
		return err
	}
	uid, _ := d["uid"].(string)
	if uid == "" {
		// A stable uid from where the file is, so the dashboard keeps its
		// URL across restarts.
		sum := sha256.Sum256([]byte(pr.Name + "\x00" + name))
		uid = hex.EncodeToString(sum[:])[:14]
		d["uid"] = uid
	}
	keep[uid] = true
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%t\x00", folderUID, pr.AllowUIUpdates)
	h.Write(data)
	for _, s := range p.sources() {
		fmt.Fprintf(h, "\x00%s=%s", s.UID, s.Name)
	}
	hash := hex.EncodeToString(h.Sum(nil))
	old, err := p.store.GetDashboard(ctx, uid)
	switch {
	case errors.Is(err, state.ErrNotFound):
	case err != nil:
		return err
	case old.Provisioner != "" && old.Provisioner != pr.Name:
		return fmt.Errorf("uid %s is provisioned by provider %q too", uid, old.Provisioner)
	case old.Provisioner == "":
		return fmt.Errorf("uid %s is taken by a dashboard saved through the API; delete it or change the file's uid", uid)
	case old.SourceHash == hash:
		res.Unchanged++
		return nil
	}
	delete(d, "id")
	body, err := json.Marshal(d)
	if err != nil {
		return err
	}
	report, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = p.store.SaveDashboard(ctx, state.SaveRequest{
		Data: body, FolderUID: folderUID, Overwrite: true, Message: "Provisioned from " + full,
		Provisioner: pr.Name, ProvisionedPath: full, AllowUIUpdates: pr.AllowUIUpdates, SourceHash: hash, Report: report,
	})
	if err != nil {
		return err
	}
	p.logger.Info("Provisioned a dashboard", "provider", pr.Name, "uid", uid, "path", full, "panels", rep.Summary.String())
	res.Saved++
	return nil
}
