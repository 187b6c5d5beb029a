// Package provision keeps the state store in step with dashboard files:
// the dashboards embedded in argus and the directories of the config's
// dashboards.providers. Files are the source of truth: Sync saves the
// dashboards whose file is new or changed (migrated and with datasources
// mapped, as an import would), leaves unchanged ones alone, and deletes the
// dashboards whose file, or provider, is gone.
//
// A *Provisioner serialises its Sync calls. It imports dashboard and
// state.
package provision
