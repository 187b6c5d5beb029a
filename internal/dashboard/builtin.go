package dashboard

import (
	"embed"
	"io/fs"
)

// builtinFiles are the dashboards argus ships: Host (the node collector),
// Apps (the app host), argus (its own metrics) and Alerts.
//
//go:embed builtin/*.json
var builtinFiles embed.FS

// Builtin returns the built-in dashboards' files, one dashboard JSON per
// file.
func Builtin() fs.FS {
	sub, err := fs.Sub(builtinFiles, "builtin")
	if err != nil {
		panic("BUG: embedded dashboards: " + err.Error())
	}
	return sub
}
