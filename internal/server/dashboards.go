package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/argus-mon/argus/internal/api"
	"github.com/argus-mon/argus/internal/auth"
	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/dashapi"
	"github.com/argus-mon/argus/internal/dashboard/provision"
	"github.com/argus-mon/argus/internal/datasource"
)

// dashboards are the dashboard components: the data sources and the
// provisioner (the dashboards are in the state store).
type dashboards struct {
	sources     *datasource.Proxy
	provisioner *provision.Provisioner
}

// buildDashboards sets up the data sources and provisions the dashboards
// of cfg into the state store. A dashboard file
// that cannot be provisioned is logged, not fatal.
func (s *Server) buildDashboards(ctx context.Context, cfg *config.Config) error {
	logger := s.logger.With("component", "dashboards")
	d := &dashboards{sources: datasource.New(nil, logger)}
	if err := d.sources.Apply(cfg.DataSources); err != nil {
		return err
	}
	d.provisioner = provision.New(s.state, d.sources.DataSources, logger)
	s.dash = d
	s.provisionDashboards(ctx, cfg)
	return nil
}

// applyDashboards applies a reloaded config's data sources and
// provisions its dashboards.
func (s *Server) applyDashboards(cfg *config.Config) error {
	if err := s.dash.sources.Apply(cfg.DataSources); err != nil {
		return fmt.Errorf("datasources: %w", err)
	}
	s.provisionDashboards(context.Background(), cfg)
	return nil
}

func (s *Server) provisionDashboards(ctx context.Context, cfg *config.Config) {
	var providers []provision.Provider
	if cfg.Dashboards.Builtin {
		var types []string
		for _, ic := range cfg.Integrations {
			types = append(types, ic.Type)
		}
		providers = append(providers, provision.Builtin(types...))
	}
	for _, p := range cfg.Dashboards.Providers {
		providers = append(providers, provision.FromDir(p.Name, p.Folder, p.Path, p.AllowUIUpdates))
	}
	res, err := s.dash.provisioner.Sync(ctx, providers)
	if err != nil {
		s.logger.Error("Some dashboards could not be provisioned", "err", err)
	}
	s.logger.Info("Dashboards provisioned", "saved", res.Saved, "unchanged", res.Unchanged, "deleted", res.Deleted)
}

// registerDashboards adds the dashboards API and the data source proxy;
// the built-in source answers from mux's own /api/v1.
func (s *Server) registerDashboards(mux *router, local *http.ServeMux) {
	dashapi.New(dashapi.Options{
		Store:       s.state,
		DataSources: s.dash.sources.DataSources,
		Version:     api.ReadBuildInfo().Version,
		Logger:      s.logger.With("component", "dashboards_api"),
		CanEdit: func(r *http.Request) bool {
			p, ok := auth.FromContext(r.Context())
			return !ok || p.Role >= auth.Editor
		},
	}).Register(mux)
	s.dash.sources.SetLocal(local)
	s.dash.sources.Register(mux)
}
