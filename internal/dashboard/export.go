package dashboard

import (
	"maps"
	"slices"
	"strings"
)

// Export returns the shareable form of a stored dashboard, as Grafana's
// "Export for sharing externally" writes it: each Prometheus datasource
// reference becomes ${DS_<NAME>} with a matching entry in __inputs, so
// that Grafana (or another argus) asks which of its sources to use; the
// instance-specific id is cleared. d is not modified.
func Export(d JSON, sources []DataSource) JSON {
	out := Clone(d)
	if len(sources) == 0 {
		sources = []DataSource{BuiltinDataSource}
	}
	used := map[string]DataSource{}
	names := map[string]string{} // source uid -> input name
	for _, s := range sources {
		names[s.UID] = "DS_" + inputName(s.Name)
	}
	replace := func(v any) any {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		uid, typ := str(m, "uid"), str(m, "type")
		if typ != "prometheus" || strings.HasPrefix(uid, "$") {
			return v
		}
		name, ok := names[uid]
		if !ok {
			return v
		}
		for _, s := range sources {
			if s.UID == uid {
				used[name] = s
			}
		}
		return JSON{"type": "prometheus", "uid": "${" + name + "}"}
	}
	panelTypes := map[string]bool{}
	var walk func([]JSON)
	walk = func(ps []JSON) {
		for _, p := range ps {
			panelTypes[str(p, "type")] = true
			if _, ok := p["datasource"]; ok {
				p["datasource"] = replace(p["datasource"])
			}
			for _, t := range objs(p, "targets") {
				if _, ok := t["datasource"]; ok {
					t["datasource"] = replace(t["datasource"])
				}
			}
			walk(objs(p, "panels"))
		}
	}
	walk(objs(out, "panels"))
	for _, v := range objs(obj(out, "templating"), "list") {
		if _, ok := v["datasource"]; ok {
			v["datasource"] = replace(v["datasource"])
		}
		if str(v, "type") == "datasource" {
			// The current choice is this instance's; the importer picks.
			v["current"] = JSON{}
		}
	}
	for _, a := range objs(obj(out, "annotations"), "list") {
		a["datasource"] = replace(a["datasource"])
	}
	inputs := []any{}
	for _, name := range slices.Sorted(maps.Keys(used)) {
		s := used[name]
		inputs = append(inputs, JSON{"name": name, "label": s.Name, "description": "", "type": "datasource",
			"pluginId": "prometheus", "pluginName": "Prometheus"})
	}
	requires := []any{JSON{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.4.0"}}
	if len(used) > 0 {
		requires = append(requires, JSON{"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"})
	}
	delete(panelTypes, "row")
	delete(panelTypes, "")
	for _, t := range slices.Sorted(maps.Keys(panelTypes)) {
		requires = append(requires, JSON{"type": "panel", "id": t, "name": t, "version": ""})
	}
	out["__inputs"] = inputs
	out["__requires"] = requires
	out["id"] = nil
	return out
}

// inputName turns a source name into the NAME of ${DS_NAME}: upper case,
// anything but letters and digits as '_'.
func inputName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "PROMETHEUS"
	}
	return b.String()
}
