package server

import (
	"errors"
	"path/filepath"

	"github.com/argus-mon/argus/internal/apphost"
	"github.com/argus-mon/argus/internal/config"
)

// buildAppHost creates the app host, which starts the config's apps and
// those of its drop-in directory when Run starts it. Apps may not take
// argus's own port; the config's apps are checked here (and on reload) so
// that such a config is refused, drop-in files by the app host.
func (s *Server) buildAppHost(cfg *config.Config) error {
	addr := s.listener.Addr().String()
	if err := checkApps(cfg, addr); err != nil {
		return err
	}
	s.apps = apphost.New(apphost.Options{
		LogDir:        filepath.Join(s.opts.DataDir, "apps"),
		Logger:        s.logger.With("component", "apphost"),
		Registerer:    s.reg,
		ReservedAddrs: []string{addr},
	})
	s.apps.SetFront(cfg.AppsFront)
	s.apps.Update(cfg.Apps, cfg.AppsDir)
	return nil
}

// checkApps refuses a config whose apps (or shared front port) take
// argus's own listen address addr or name certificates that do not load:
// what the config package cannot know or does not open.
func checkApps(cfg *config.Config, addr string) error {
	return errors.Join(cfg.CheckAppPorts(addr), cfg.CheckAppCerts())
}

// AppHost returns the app host, for tests and embedding.
func (s *Server) AppHost() *apphost.Host { return s.apps }
