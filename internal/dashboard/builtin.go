package dashboard

import (
	"embed"
	"io/fs"
)

// builtinFiles are the dashboards argus ships: Host (the node collector),
// Apps (the app host), argus (its own metrics) and Alerts, and under
// integrations/ one per integration type, named <type>.json.
//
//go:embed builtin/*.json builtin/integrations/*.json
var builtinFiles embed.FS

// Builtin returns the built-in dashboards' files, one dashboard JSON per
// file; the dashboard of integration type t is IntegrationFile(t).
func Builtin() fs.FS {
	sub, err := fs.Sub(builtinFiles, "builtin")
	if err != nil {
		panic("BUG: embedded dashboards: " + err.Error())
	}
	return sub
}

// IntegrationDir is the directory of Builtin that holds the integration
// types' dashboards.
const IntegrationDir = "integrations"

// IntegrationFile returns the name, in Builtin, of the dashboard of
// integration type typ (which may not exist).
func IntegrationFile(typ string) string { return IntegrationDir + "/" + typ + ".json" }
