package dashboard

import (
	"fmt"
	"slices"
)

// Status is how well argus can show a panel.
type Status string

// The statuses of a panel.
const (
	// StatusOK: shown as in Grafana.
	StatusOK Status = "ok"
	// StatusDegraded: shown, with something approximated (Reasons say what).
	StatusDegraded Status = "degraded"
	// StatusUnsupported: not shown (Reasons say why).
	StatusUnsupported Status = "unsupported"
)

// SupportedPanelTypes are the panel types the UI renders, after migration
// (graph, singlestat and table-old are migrated to them).
var SupportedPanelTypes = []string{"timeseries", "stat", "gauge", "bargauge", "table", "text", "heatmap", "state-timeline", "row"}

// PanelReport is the verdict on one panel.
type PanelReport struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
	// Type is the panel type after migration.
	Type string `json:"type"`
	// OriginalType is the type in the file, when the migration changed it.
	OriginalType string   `json:"originalType,omitempty"`
	Status       Status   `json:"status"`
	Reasons      []string `json:"reasons,omitempty"`
}

// Summary counts panels by status.
type Summary struct {
	Total       int `json:"total"`
	OK          int `json:"ok"`
	Degraded    int `json:"degraded"`
	Unsupported int `json:"unsupported"`
}

// String is the summary line of `argus dashboards import`.
func (s Summary) String() string {
	return fmt.Sprintf("panels: %d total, %d ok, %d degraded, %d unsupported", s.Total, s.OK, s.Degraded, s.Unsupported)
}

// Add adds o's counts to s.
func (s *Summary) Add(o Summary) {
	s.Total += o.Total
	s.OK += o.OK
	s.Degraded += o.Degraded
	s.Unsupported += o.Unsupported
}

// Report is the compatibility report of a dashboard: one entry per panel
// (row panels are layout and are not listed; the panels inside collapsed
// rows are), and remarks about the dashboard as a whole.
type Report struct {
	// SchemaVersion is the schema version the dashboard was written in;
	// MigratedTo the one it has now.
	SchemaVersion int           `json:"schemaVersion"`
	MigratedTo    int           `json:"migratedTo"`
	Panels        []PanelReport `json:"panels"`
	// Notes are remarks on the dashboard as a whole: datasources mapped,
	// annotations argus cannot show.
	Notes   []string `json:"notes"`
	Summary Summary  `json:"summary"`
}

func (rep *Report) add(pr PanelReport) {
	if pr.Status != StatusUnsupported {
		pr.Status = StatusOK
		if len(pr.Reasons) > 0 {
			pr.Status = StatusDegraded
		}
	}
	rep.Panels = append(rep.Panels, pr)
	rep.Summary.Total++
	switch pr.Status {
	case StatusOK:
		rep.Summary.OK++
	case StatusDegraded:
		rep.Summary.Degraded++
	case StatusUnsupported:
		rep.Summary.Unsupported++
	}
}

// tableTransformations are the transformations the table panel applies
// (the UI's ui/src/dash/frame.ts); other panels apply none.
var tableTransformations = []string{"merge", "reduce", "seriesToRows", "organize", "filterFieldsByName", "labelsToFields"}

// transformationNotes says which of a panel's transformations the UI does
// not apply: the panel is shown, with its data untransformed there.
func transformationNotes(p JSON) []string {
	var notes []string
	for _, t := range objs(p, "transformations") {
		if isSet(t, "disabled") {
			continue
		}
		id := str(t, "id")
		switch {
		case str(p, "type") != "table":
			notes = append(notes, fmt.Sprintf("transformation %s is not applied (argus applies transformations in table panels only)", id))
		case !slices.Contains(tableTransformations, id):
			notes = append(notes, fmt.Sprintf("transformation %s is not applied", id))
		case id == "reduce" && str(obj(t, "options"), "mode") == "reduceFields":
			notes = append(notes, "transformation reduce in mode reduceFields is not applied (seriesToRows is)")
		}
	}
	return notes
}

// stateTimelineColorModes are the color modes the UI's state timeline
// (ui/src/dash/states.ts) draws as Grafana does; it draws the others in
// the series' colors or the fixed color.
var stateTimelineColorModes = []string{"", "thresholds", "fixed",
	"continuous-GrYlRd", "continuous-RdYlGr", "continuous-BlYlRd", "continuous-YlRd", "continuous-BlPu",
	"continuous-YlBl", "continuous-blues", "continuous-reds", "continuous-greens", "continuous-purples"}

// stateTimelineNotes says what of a state timeline the UI approximates:
// it draws lanes of mapped states from the field defaults alone.
func stateTimelineNotes(p JSON) []string {
	if str(p, "type") != "state-timeline" {
		return nil
	}
	var notes []string
	fc := obj(p, "fieldConfig")
	defs := obj(fc, "defaults")
	if mode := str(obj(defs, "color"), "mode"); !slices.Contains(stateTimelineColorModes, mode) {
		notes = append(notes, fmt.Sprintf("state-timeline: color mode %s is drawn in the series' colors", mode))
	}
	if len(objs(fc, "overrides")) > 0 {
		notes = append(notes, "state-timeline: field overrides are not applied")
	}
	// spanNulls false (the default) leaves gaps, as the UI does.
	if v := obj(defs, "custom")["spanNulls"]; v != nil && v != false {
		notes = append(notes, "state-timeline: null values are drawn as gaps (spanNulls is not applied)")
	}
	return notes
}

// checkPanel returns why a migrated panel cannot be shown, or nil.
func checkPanel(p JSON, r *resolver) []string {
	typ := str(p, "type")
	if lp := obj(p, "libraryPanel"); lp != nil && typ == "" {
		return []string{fmt.Sprintf("library panel %q is not supported (its model is not in the file)", str(lp, "name"))}
	}
	if !slices.Contains(SupportedPanelTypes, typ) {
		return []string{fmt.Sprintf("panel type %s is not supported", typ)}
	}
	if typ == "text" || typ == "row" {
		return nil
	}
	var why []string
	ref, panelType := r.resolve(p["datasource"])
	if ref == nil {
		ref, panelType = r.ref(r.def), "prometheus"
	}
	p["datasource"] = ref
	for _, t := range objs(p, "targets") {
		tref, ttype := r.resolve(t["datasource"])
		if tref != nil {
			t["datasource"] = tref
		}
		if ttype == "" || panelType != dsMixed && ttype != panelType {
			// A target without its own source, or one naming a different
			// source than a non-mixed panel's, uses the panel's (Grafana
			// ignores a target's source unless the panel is mixed).
			ttype = panelType
			if ttype == dsMixed {
				ttype = "prometheus"
			}
		}
		if isSet(t, "hide") {
			continue
		}
		ref := str(t, "refId")
		switch ttype {
		case "prometheus":
			if _, ok := t["expr"]; !ok {
				for _, k := range []string{"target", "rawSql", "query", "rawQuery", "metrics", "queryType"} {
					if _, other := t[k]; other {
						why = append(why, fmt.Sprintf("query %s has no PromQL expression (it has %q, from another kind of datasource)", ref, k))
						break
					}
				}
			}
		case dsGrafana, dsDashboard:
			why = append(why, fmt.Sprintf("query %s: the %s datasource is not supported", ref, ttype))
		default:
			why = append(why, fmt.Sprintf("query %s: datasource type %s is not supported (argus queries Prometheus-compatible sources)", ref, ttype))
		}
	}
	slices.Sort(why)
	return slices.Compact(why)
}

// Carry keeps what an earlier report of the same dashboard knew from its
// import: a panel that was migrated then (graph to timeseries, say) and
// still has the same id and type keeps its original type and the
// approximations, which a report made on the migrated JSON cannot see.
func (rep *Report) Carry(prev *Report) {
	if prev == nil {
		return
	}
	byID := map[int]PanelReport{}
	for _, p := range prev.Panels {
		byID[p.ID] = p
	}
	panels := rep.Panels
	rep.Panels, rep.Summary = nil, Summary{}
	for _, p := range panels {
		old, ok := byID[p.ID]
		if ok && old.Type == p.Type && old.OriginalType != "" && p.OriginalType == "" {
			p.OriginalType = old.OriginalType
			if p.Status == StatusOK && old.Status == StatusDegraded {
				p.Reasons = old.Reasons
			}
		}
		rep.add(p)
	}
	if rep.Panels == nil {
		rep.Panels = []PanelReport{}
	}
	if rep.SchemaVersion == rep.MigratedTo && prev.SchemaVersion < rep.SchemaVersion {
		rep.SchemaVersion = prev.SchemaVersion
	}
}
