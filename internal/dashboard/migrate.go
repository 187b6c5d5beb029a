package dashboard

import (
	"math"
	"regexp"
	"strconv"
)

// SchemaVersion is the schema version Import migrates dashboards to: the
// one Grafana 10.2 to 10.4 writes. Newer versions (up to 42) changed
// nothing argus reads, so dashboards written in them are kept as they are.
const SchemaVersion = 39

// Grid geometry of Grafana's layout, used to turn the pixel heights of
// rows (schema < 16) into grid units.
const (
	gridColumns     = 24
	gridCellHeight  = 30
	gridCellVMargin = 8
	// defaultRowHeight is a row's height in pixels when it gives none.
	defaultRowHeight = 250
	// defaultSpan is a panel's width, in the old 12-column layout, when it
	// gives none.
	defaultSpan = 4
)

// migrateDashboard applies the dashboard-level steps of Grafana's schema
// migrations to d, written in schema version from: variables, the shared
// crosshair, and rows to the grid layout. Panel-level steps run per panel
// in migratePanel.
func migrateDashboard(d JSON, from int) {
	if from < 14 {
		// Schema 14 replaced the sharedCrosshair flag by graphTooltip.
		if _, ok := d["sharedCrosshair"]; ok {
			if isSet(d, "sharedCrosshair") {
				d["graphTooltip"] = 1
			} else {
				d["graphTooltip"] = 0
			}
			delete(d, "sharedCrosshair")
		}
	}
	for _, v := range objs(ensureObj(d, "templating"), "list") {
		migrateVariable(v, from)
	}
	if _, ok := d["rows"]; ok {
		rowsToGrid(d)
	}
	delete(d, "nav") // schema 6 and older kept the time picker here
}

func migrateVariable(v JSON, from int) {
	// Schema 12: refresh became a number (0 never, 1 on load, 2 on time
	// change) and refresh_on_load went away.
	if b, ok := v["refresh"].(bool); ok {
		if b {
			v["refresh"] = 1
		} else {
			v["refresh"] = 0
		}
	}
	if isSet(v, "refresh_on_load") {
		v["refresh"] = 1
	}
	delete(v, "refresh_on_load")
	typ := str(v, "type")
	// Schema 27: constant variables are never shown.
	if typ == "constant" && from < 27 {
		v["hide"] = 2
	}
	// Schema 28: tag-based variable values were removed.
	for _, k := range []string{"tags", "tagsQuery", "tagValuesQuery", "useTags"} {
		delete(v, k)
	}
	// Schema 29: a query variable that never refreshed kept stale options;
	// it now refreshes on load and its saved options are dropped.
	if typ == "query" && from < 29 {
		if r, _ := number(v["refresh"]); r == 0 {
			v["refresh"] = 1
		}
		v["options"] = []any{}
	}
}

// rowsToGrid turns the rows of schema < 16 into flat panels with gridPos:
// each row becomes a row panel (unless the dashboard is one untitled row),
// its panels laid out left to right, wrapping at 24 columns. A collapsed
// row keeps its panels inside it, as Grafana stores collapsed rows.
func rowsToGrid(d JSON) {
	rows := objs(d, "rows")
	delete(d, "rows")
	var out []any
	for _, p := range objs(d, "panels") {
		out = append(out, p)
	}
	nextID := maxPanelID(d, rows) + 1
	showRows := len(rows) > 1 || len(rows) == 1 && (isSet(rows[0], "showTitle") || isSet(rows[0], "collapse") || str(rows[0], "repeat") != "")
	y := 0
	for _, row := range rows {
		rowH := gridHeight(row["height"], defaultRowHeight)
		collapsed := isSet(row, "collapse")
		var rowPanel JSON
		if showRows {
			rowPanel = JSON{
				"type":      "row",
				"id":        nextID,
				"title":     str(row, "title"),
				"collapsed": collapsed,
				"panels":    []any{},
				"gridPos":   JSON{"x": 0, "y": y, "w": gridColumns, "h": 1},
			}
			nextID++
			if r := str(row, "repeat"); r != "" {
				rowPanel["repeat"] = r
			}
			if !isSet(row, "showTitle") && str(row, "title") == "" {
				rowPanel["title"] = ""
			}
			out = append(out, rowPanel)
			y++
		}
		inner, height := layoutRow(objs(row, "panels"), y, rowH)
		if collapsed && rowPanel != nil {
			// Collapsed rows take no room; their panels move in below the
			// row when it is opened.
			ps := make([]any, len(inner))
			for i, p := range inner {
				ps[i] = p
			}
			rowPanel["panels"] = ps
			continue
		}
		for _, p := range inner {
			out = append(out, p)
		}
		y += height
	}
	if out == nil {
		out = []any{}
	}
	d["panels"] = out
}

// layoutRow places panels from y down and returns them with the height the
// row took, in grid units.
func layoutRow(panels []JSON, y, rowH int) ([]JSON, int) {
	x, lineH, top := 0, 0, y
	for _, p := range panels {
		span, ok := num(p, "span")
		if !ok || span <= 0 {
			span = defaultSpan
		}
		w := min(max(int(math.Round(span*2)), 1), gridColumns)
		h := rowH
		if _, ok := p["height"]; ok {
			h = gridHeight(p["height"], rowH*(gridCellHeight+gridCellVMargin))
		}
		if x+w > gridColumns {
			y += lineH
			x, lineH = 0, 0
		}
		p["gridPos"] = JSON{"x": x, "y": y, "w": w, "h": h}
		delete(p, "span")
		delete(p, "height")
		x += w
		lineH = max(lineH, h)
	}
	return panels, y + lineH - top
}

// gridHeight converts a pixel height (number or "250px") to grid rows.
func gridHeight(v any, def int) int {
	px, ok := number(v)
	if !ok || px <= 0 {
		px = float64(def)
	}
	return max(int(math.Ceil(px/(gridCellHeight+gridCellVMargin))), 1)
}

func maxPanelID(d JSON, rows []JSON) int {
	m := 0
	visit := func(p JSON) { m = max(m, intOr(p, "id", 0)) }
	for _, p := range objs(d, "panels") {
		visit(p)
	}
	for _, r := range rows {
		for _, p := range objs(r, "panels") {
			visit(p)
		}
	}
	return m
}

// migratePanel applies the panel-level schema steps and converts the
// panel types Grafana retired. It returns what was approximated.
func migratePanel(p JSON, from int) []string {
	var notes []string
	typ := str(p, "type")
	if from < 26 && typ == "text2" {
		p["type"], typ = "text", "text"
	}
	// Schema 24: the old table panel (recognisable by its styles) became
	// table-old.
	if typ == "table" && p["styles"] != nil && p["fieldConfig"] == nil {
		p["type"], typ = "table-old", "table-old"
	}
	renameLinkVariables(p)
	switch typ {
	case "graph":
		notes = graphToTimeseries(p)
	case "singlestat", "grafana-singlestat-panel":
		notes = singlestatToStat(p)
	case "table-old":
		notes = tableOldToTable(p)
	case "heatmap":
		if p["cards"] != nil || p["dataFormat"] != nil {
			notes = append(notes, "heatmap: options of the old heatmap panel (before Grafana 9) are approximated")
		}
	case "gauge", "bargauge":
		// Schema 18 moved the gauge's options under options-gauge to
		// options; keep the old ones if that is all there is.
		if og := obj(p, "options-gauge"); og != nil && p["options"] == nil {
			p["options"] = og
			delete(p, "options-gauge")
		}
	}
	migrateFieldConfig(p)
	if typ == "timeseries" || str(p, "type") == "timeseries" {
		migrateLegend(p)
	}
	return notes
}

// oldLinkVariables matches the data link variables schemas 20 and 21
// renamed. The new names never match, so that a dashboard saved again (the
// migration runs on every save) keeps its links: ${__field.labels.job}
// must not become ${__field.labelss.job}.
var oldLinkVariables = regexp.MustCompile(`\$__value_time\b|__value_time\b|__series_name\b|__field\.labels*\b`)

// renameLinkVariables applies the renames of data link variables of
// schema 20 and 21 to panel links and field links.
func renameLinkVariables(p JSON) {
	rename := func(old string) string {
		switch old {
		case "$__value_time":
			return "${__value.time}"
		case "__value_time":
			return "__value.time"
		case "__series_name":
			return "__series.name"
		}
		return "__field.labels"
	}
	fix := func(links []any) {
		for _, l := range links {
			if lm, ok := l.(map[string]any); ok {
				if u, ok := lm["url"].(string); ok {
					lm["url"] = oldLinkVariables.ReplaceAllStringFunc(u, rename)
				}
			}
		}
	}
	fix(arr(p, "links"))
	if o := obj(p, "options"); o != nil {
		fix(arr(o, "dataLinks"))
	}
	if fc := obj(p, "fieldConfig"); fc != nil {
		if def := obj(fc, "defaults"); def != nil {
			fix(arr(def, "links"))
		}
	}
}

// migrateFieldConfig upgrades value mappings written before schema 30
// (a flat list with numeric types) and table cell display modes written
// before schema 38.
func migrateFieldConfig(p JSON) {
	fc := obj(p, "fieldConfig")
	if fc == nil {
		return
	}
	fix := func(props JSON) {
		if ms := arr(props, "mappings"); len(ms) > 0 {
			props["mappings"] = upgradeMappings(ms)
		}
		if c := obj(props, "custom"); c != nil {
			if dm := str(c, "displayMode"); dm != "" {
				cellOptions(c, dm)
			}
		}
	}
	if def := obj(fc, "defaults"); def != nil {
		fix(def)
	}
	for _, o := range objs(fc, "overrides") {
		for _, prop := range objs(o, "properties") {
			if str(prop, "id") == "custom.displayMode" {
				prop["id"] = "custom.cellOptions"
				c := JSON{}
				cellOptions(c, str(prop, "value"))
				prop["value"] = c["cellOptions"]
			}
		}
	}
}

func cellOptions(c JSON, mode string) {
	opts := JSON{"type": mode}
	switch mode {
	case "color-background", "color-background-solid":
		opts["type"] = "color-background"
		if mode == "color-background-solid" {
			opts["mode"] = "basic"
		} else {
			opts["mode"] = "gradient"
		}
	case "gradient-gauge", "lcd-gauge", "basic":
		opts["type"] = "gauge"
		opts["mode"] = map[string]string{"gradient-gauge": "gradient", "lcd-gauge": "lcd", "basic": "basic"}[mode]
	}
	c["cellOptions"] = opts
	delete(c, "displayMode")
}

// upgradeMappings converts old value mappings ({type: 1, value, text} and
// {type: 2, from, to, text}) to the current form; current ones are kept.
func upgradeMappings(ms []any) []any {
	var out []any
	values := JSON{}
	for _, m := range ms {
		mm, ok := m.(map[string]any)
		if !ok {
			continue
		}
		t, isNum := number(mm["type"])
		if !isNum {
			out = append(out, mm) // already the current form
			continue
		}
		res := JSON{"text": mm["text"]}
		switch t {
		case 1:
			if v, ok := mm["value"].(string); ok && v == "null" {
				out = append(out, JSON{"type": "special", "options": JSON{"match": "null", "result": res}})
				continue
			}
			values[valueString(mm["value"])] = res
		case 2:
			from, _ := number(mm["from"])
			to, _ := number(mm["to"])
			out = append(out, JSON{"type": "range", "options": JSON{"from": from, "to": to, "result": res}})
		}
	}
	if len(values) > 0 {
		out = append([]any{JSON{"type": "value", "options": values}}, out...)
	}
	if out == nil {
		out = []any{}
	}
	return out
}

func valueString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	}
	f, ok := number(v)
	if !ok {
		return ""
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// migrateLegend applies schema 37: a hidden legend is showLegend false.
func migrateLegend(p JSON) {
	o := obj(p, "options")
	if o == nil {
		return
	}
	l := obj(o, "legend")
	if l == nil {
		return
	}
	if str(l, "displayMode") == "hidden" {
		l["displayMode"] = "list"
		l["showLegend"] = false
	}
	setIfMissing(l, "showLegend", true)
}
