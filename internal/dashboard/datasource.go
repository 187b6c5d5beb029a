package dashboard

import (
	"fmt"
	"regexp"
	"strings"
)

// DataSource is one of argus's data sources as dashboards refer to it.
type DataSource struct {
	// UID is what references use; "argus" for the built-in source.
	UID string `json:"uid"`
	// Name is the display name; references by name (schema < 33) match it.
	Name string `json:"name"`
	// Type is the Grafana plugin type; "prometheus" for every argus source,
	// since each speaks the Prometheus HTTP API.
	Type string `json:"type"`
	// IsDefault marks the source that null and unknown references use.
	IsDefault bool `json:"isDefault"`
}

// BuiltinDataSource is argus's own PromQL engine over its own storage.
var BuiltinDataSource = DataSource{UID: "argus", Name: "argus", Type: "prometheus", IsDefault: true}

// Datasource types a reference can resolve to, besides a plugin type such
// as "prometheus" or "loki".
const (
	dsMixed     = "-- Mixed --"
	dsGrafana   = "-- Grafana --"
	dsDashboard = "-- Dashboard --"
)

// dsVarRE matches a variable reference used as a datasource: $ds, ${ds},
// ${ds:text} or [[ds]].
var dsVarRE = regexp.MustCompile(`^(?:\$(\w+)|\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\])$`)

// resolver maps datasource references in every form Grafana has written
// onto argus's data sources.
type resolver struct {
	sources []DataSource
	def     DataSource
	// inputs are the __inputs of type datasource left unresolved, by
	// ${NAME} reference, with their plugin type.
	inputs map[string]string
	// vars are the dashboard's datasource variables and the plugin type
	// each selects.
	vars map[string]string
	// notes are dashboard-level remarks (which names were mapped).
	notes map[string]bool
}

func newResolver(sources []DataSource) *resolver {
	if len(sources) == 0 {
		sources = []DataSource{BuiltinDataSource}
	}
	r := &resolver{sources: sources, def: sources[0], inputs: map[string]string{}, vars: map[string]string{}, notes: map[string]bool{}}
	for _, s := range sources {
		if s.IsDefault {
			r.def = s
			break
		}
	}
	return r
}

func (r *resolver) ref(s DataSource) JSON { return JSON{"type": s.Type, "uid": s.UID} }

func (r *resolver) find(nameOrUID string) (DataSource, bool) {
	for _, s := range r.sources {
		if s.UID == nameOrUID {
			return s, true
		}
	}
	for _, s := range r.sources {
		if strings.EqualFold(s.Name, nameOrUID) {
			return s, true
		}
	}
	return DataSource{}, false
}

// resolve returns the reference to store in place of v and the plugin
// type it stands for ("" for an absent reference, which inherits).
func (r *resolver) resolve(v any) (any, string) {
	switch v := v.(type) {
	case nil:
		return nil, ""
	case string:
		return r.resolveString(v, "")
	case map[string]any:
		uid, typ := str(v, "uid"), str(v, "type")
		if uid == "" && typ == "" {
			return nil, ""
		}
		switch {
		case uid == dsMixed || typ == "mixed":
			return JSON{"type": "datasource", "uid": dsMixed}, dsMixed
		case uid == dsGrafana || uid == "grafana" || typ == "grafana":
			return JSON{"type": "grafana", "uid": dsGrafana}, dsGrafana
		case uid == dsDashboard || typ == "dashboard":
			return v, dsDashboard
		}
		if typ != "" && typ != "prometheus" {
			return v, typ
		}
		if uid == "" {
			return r.ref(r.def), "prometheus"
		}
		return r.resolveString(uid, typ)
	}
	return r.ref(r.def), "prometheus"
}

func (r *resolver) resolveString(s, typ string) (any, string) {
	switch s {
	case "", "default":
		return r.ref(r.def), "prometheus"
	case dsMixed:
		return JSON{"type": "datasource", "uid": dsMixed}, dsMixed
	case dsGrafana, "grafana":
		return JSON{"type": "grafana", "uid": dsGrafana}, dsGrafana
	case dsDashboard:
		return JSON{"type": "datasource", "uid": dsDashboard}, dsDashboard
	}
	if pt, ok := r.inputs[s]; ok && pt != "prometheus" {
		return JSON{"type": pt, "uid": s}, pt
	}
	if m := dsVarRE.FindStringSubmatch(s); m != nil && !strings.HasPrefix(s, "${DS_") {
		name := m[1] + m[2] + m[3]
		pt, ok := r.vars[name]
		if !ok || pt == "" {
			pt = "prometheus"
		}
		if typ != "" {
			pt = typ
		}
		return JSON{"type": pt, "uid": "${" + name + "}"}, pt
	}
	if ds, ok := r.find(s); ok {
		return r.ref(ds), ds.Type
	}
	// A name or uid argus does not know (the Grafana install's own
	// "Prometheus", a ${DS_...} without __inputs): the default source, as
	// Grafana would use its default for a missing one.
	r.notes[fmt.Sprintf("datasource %q is mapped to %q", s, r.def.Name)] = true
	return r.ref(r.def), "prometheus"
}

// resolveVariables records the datasource variables and maps the
// datasources of query variables.
func (r *resolver) resolveVariables(d JSON) {
	for _, v := range objs(obj(d, "templating"), "list") {
		if str(v, "type") != "datasource" {
			continue
		}
		pt, _ := v["query"].(string)
		r.vars[str(v, "name")] = pt
		if pt == "prometheus" || pt == "" {
			v["query"] = "prometheus"
			v["current"] = JSON{"selected": true, "text": r.def.Name, "value": r.def.UID}
			v["options"] = []any{}
		}
	}
	for _, v := range objs(obj(d, "templating"), "list") {
		if str(v, "type") == "datasource" {
			continue
		}
		if ds, ok := v["datasource"]; ok {
			v["datasource"], _ = r.resolve(ds)
			if v["datasource"] == nil && str(v, "type") == "query" {
				v["datasource"] = r.ref(r.def)
			}
		}
	}
}

// resolveAnnotations maps the annotations' datasources; the built-in
// Grafana one becomes argus's alert history.
func (r *resolver) resolveAnnotations(d JSON) {
	for _, a := range objs(obj(d, "annotations"), "list") {
		ref, typ := r.resolve(a["datasource"])
		if ref == nil {
			ref, typ = r.ref(r.def), "prometheus"
		}
		a["datasource"] = ref
		switch typ {
		case "prometheus", dsGrafana:
		default:
			r.notes[fmt.Sprintf("annotation %q: datasource type %s is not supported; it shows nothing", str(a, "name"), typ)] = true
		}
	}
}
