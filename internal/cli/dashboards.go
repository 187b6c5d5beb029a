package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/argus-mon/argus/internal/dashboard"
	"github.com/argus-mon/argus/internal/datasource"
	"github.com/argus-mon/argus/internal/state"
)

// dashboardsImport is `argus dashboards import FILE...`: it imports
// Grafana dashboard files into the state store of the data directory (or,
// with --dry-run, only reports), printing one line per panel that is not
// ok and one summary line. It works while the server runs: the store
// allows a second process to write.
func dashboardsImport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("dashboards import")
	dataDir := fs.String("data", "data", "data directory holding the state store (unless the config puts it elsewhere)")
	cfgFile := fs.String("config", "", "config file, for its state section and datasources")
	dryRun := fs.Bool("dry-run", false, "only report; store nothing")
	folder := fs.String("folder", "", "title of the folder to import into (created if missing)")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: argus dashboards import FILE... [--dry-run] [--config F] [--data DIR] [--folder NAME]", errUsage)
	}
	cfg, err := loadConfig(*cfgFile)
	if err != nil {
		return err
	}
	p := datasource.New(nil, nil)
	if err := p.Apply(cfg.DataSources); err != nil {
		return err
	}
	sources := p.DataSources()
	var db *state.DB
	folderUID := ""
	if !*dryRun {
		if db, err = openState(ctx, cfg, *dataDir); err != nil {
			return err
		}
		defer db.Close()
		if *folder != "" {
			f, err := db.EnsureFolder(ctx, *folder)
			if err != nil {
				return err
			}
			folderUID = f.UID
		}
	}
	var total dashboard.Summary
	var errs []error
	for _, file := range files {
		rep, err := importFile(ctx, db, file, folderUID, sources)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range rep.Panels {
			if p.Status != dashboard.StatusOK {
				for _, why := range p.Reasons {
					fmt.Fprintf(stdout, "%s: panel %q (%s): %s: %s\n", file, p.Title, panelType(p), p.Status, why)
				}
			}
		}
		total.Add(rep.Summary)
	}
	fmt.Fprintln(stdout, total.String())
	return errors.Join(errs...)
}

// panelType is the type a user knows the panel by: the one in the file.
func panelType(p dashboard.PanelReport) string {
	if p.OriginalType != "" {
		return p.OriginalType
	}
	return p.Type
}

func importFile(ctx context.Context, db *state.DB, file, folderUID string, sources []dashboard.DataSource) (*dashboard.Report, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	d, rep, err := dashboard.Import(data, dashboard.Options{DataSources: sources})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if db == nil {
		return rep, nil
	}
	if t, _ := d["title"].(string); t == "" {
		d["title"] = filepath.Base(file)
	}
	delete(d, "id")
	body, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	report, err := json.Marshal(rep)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	// Importing a file again replaces the dashboard it made, as Grafana's
	// import with overwrite does; every import is kept as a version.
	if _, err := db.SaveDashboard(ctx, state.SaveRequest{Data: body, FolderUID: folderUID, Overwrite: true,
		Message: "Imported from " + filepath.Base(file), Report: report}); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return rep, nil
}
