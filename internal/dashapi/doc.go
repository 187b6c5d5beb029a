// Package dashapi serves the subset of Grafana's HTTP API that scripts and
// tools use to manage dashboards (search, get, save, import, delete,
// versions and restore, folders, health), with Grafana's JSON shapes and
// status codes, over the state store; plus argus's own endpoints for a
// dashboard's compatibility report, its shareable export and the diff of
// two versions.
//
// Every dashboard saved or imported goes through dashboard.Migrate, so an
// old dashboard posted by a script is stored migrated, with its
// datasources mapped and its report kept beside it.
//
// An *API is safe for concurrent use. It imports dashboard and state.
package dashapi
