package dashboard

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Input is a value given for one of a dashboard's __inputs, as in the body
// of Grafana's POST /api/dashboards/import.
type Input struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	PluginID string `json:"pluginId"`
	Value    string `json:"value"`
}

// Options are what an import maps a dashboard onto.
type Options struct {
	// DataSources are argus's data sources; empty means the built-in one.
	DataSources []DataSource
	// Inputs give values for __inputs; a datasource input without a value
	// takes the default source when its plugin is Prometheus.
	Inputs []Input
}

// Import parses a dashboard file and prepares it as Migrate does. A file
// holding the answer of GET /api/dashboards/uid/... ({dashboard, meta}) is
// accepted too.
func Import(data []byte, opts Options) (JSON, *Report, error) {
	d, err := Decode(data)
	if err != nil {
		return nil, nil, err
	}
	if inner := obj(d, "dashboard"); inner != nil && d["panels"] == nil && d["rows"] == nil {
		d = inner
	}
	rep, err := Migrate(d, opts)
	if err != nil {
		return nil, nil, err
	}
	return d, rep, nil
}

// Migrate prepares a decoded dashboard in place: it fills in __inputs,
// migrates it to SchemaVersion, maps its datasources onto opts'
// sources, gives every panel a unique id, and reports on each panel. The
// error is for a value that cannot be a dashboard at all.
func Migrate(d JSON, opts Options) (*Report, error) {
	if p, ok := d["panels"]; ok && p != nil {
		if _, ok := p.([]any); !ok {
			return nil, fmt.Errorf("dashboard: panels is %s, want an array", kind(p))
		}
	}
	if r, ok := d["rows"]; ok && r != nil {
		if _, ok := r.([]any); !ok {
			return nil, fmt.Errorf("dashboard: rows is %s, want an array", kind(r))
		}
	}
	r := newResolver(opts.DataSources)
	applyInputs(d, opts.Inputs, r)
	from := intOr(d, "schemaVersion", 0)
	rep := &Report{SchemaVersion: from, Panels: []PanelReport{}, Notes: []string{}}
	migrateDashboard(d, from)
	r.resolveVariables(d)
	r.resolveAnnotations(d)
	ids := newIDs(d)
	d["panels"] = preparePanels(arr(d, "panels"), from, r, rep, ids)
	if from < SchemaVersion {
		d["schemaVersion"] = SchemaVersion
	}
	rep.MigratedTo = intOr(d, "schemaVersion", SchemaVersion)
	rep.Notes = slices.Sorted(maps.Keys(r.notes))
	if rep.Notes == nil {
		rep.Notes = []string{}
	}
	return rep, nil
}

// preparePanels migrates, maps and checks panels, descending into rows.
// Clones made by repeats (repeatPanelId) are dropped: the UI makes them
// anew from the variable's values.
func preparePanels(panels []any, from int, r *resolver, rep *Report, ids *ids) []any {
	out := make([]any, 0, len(panels))
	for _, v := range panels {
		p, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if p["repeatPanelId"] != nil || p["repeatedFromPanelId"] != nil {
			continue
		}
		delete(p, "repeatIteration")
		delete(p, "scopedVars")
		orig := str(p, "type")
		notes := migratePanel(p, from)
		ids.assign(p)
		if str(p, "type") == "row" {
			p["panels"] = preparePanels(arr(p, "panels"), from, r, rep, ids)
			out = append(out, p)
			continue
		}
		notes = append(notes, transformationNotes(p)...)
		notes = append(notes, stateTimelineNotes(p)...)
		pr := PanelReport{ID: intOr(p, "id", 0), Title: str(p, "title"), Type: str(p, "type"), Reasons: notes}
		if pr.Type != orig {
			pr.OriginalType = orig
		}
		if why := checkPanel(p, r); len(why) > 0 {
			pr.Status, pr.Reasons = StatusUnsupported, why
		}
		rep.add(pr)
		out = append(out, p)
	}
	return out
}

// ids hands out panel ids: a panel keeps its id unless it has none or an
// earlier panel has it.
type ids struct {
	next int
	used map[int]bool
}

func newIDs(d JSON) *ids {
	m := 0
	var visit func([]JSON)
	visit = func(ps []JSON) {
		for _, p := range ps {
			m = max(m, intOr(p, "id", 0))
			visit(objs(p, "panels"))
		}
	}
	visit(objs(d, "panels"))
	return &ids{next: m + 1, used: map[int]bool{}}
}

func (i *ids) assign(p JSON) {
	id := intOr(p, "id", 0)
	if id <= 0 || i.used[id] {
		id = i.next
		i.next++
		p["id"] = id
	}
	i.used[id] = true
}

// applyInputs replaces ${NAME} of each __input with its value: for a
// datasource input, the uid of the argus source chosen (by uid or name)
// or, if none is chosen and the input is a Prometheus one, the default
// source's. Inputs of other plugin types stay, and the resolver learns
// their type so that their panels are reported unsupported.
func applyInputs(d JSON, given []Input, r *resolver) {
	byName := map[string]Input{}
	for _, in := range given {
		byName[in.Name] = in
	}
	var pairs []string
	for _, in := range objs(d, "__inputs") {
		name := str(in, "name")
		if name == "" {
			continue
		}
		g := byName[name]
		ref := "${" + name + "}"
		switch str(in, "type") {
		case "datasource":
			plugin := str(in, "pluginId")
			if ds, ok := r.find(g.Value); ok && g.Value != "" {
				pairs = append(pairs, ref, ds.UID)
			} else if plugin == "prometheus" || plugin == "" {
				pairs = append(pairs, ref, r.def.UID)
			} else {
				r.inputs[ref] = plugin
			}
		default:
			v := g.Value
			if v == "" {
				v = str(in, "value")
			}
			pairs = append(pairs, ref, v)
		}
	}
	// Inputs given for names the file does not declare (a file whose
	// __inputs were stripped) apply too.
	for name, in := range byName {
		if !slices.Contains(pairs, "${"+name+"}") && in.Value != "" {
			v := in.Value
			if ds, ok := r.find(v); ok && in.Type == "datasource" {
				v = ds.UID
			}
			pairs = append(pairs, "${"+name+"}", v)
		}
	}
	delete(d, "__inputs")
	delete(d, "__requires")
	delete(d, "__elements")
	if len(pairs) == 0 {
		return
	}
	rep := strings.NewReplacer(pairs...)
	for k, v := range d {
		d[k] = walkStrings(v, rep.Replace)
	}
}
