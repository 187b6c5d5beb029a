package dashboard

import (
	"fmt"
	"strings"
)

// tableAggregations maps the column names of the old table's
// timeseries_aggregations transform to reducers.
var tableAggregations = map[string]string{
	"avg": "mean", "min": "min", "max": "max", "total": "sum", "current": "lastNotNull", "count": "count",
}

// tableOldToTable converts the old table panel (table-old, the Angular
// table of Grafana 6 and older) to the table panel: styles become field
// defaults and overrides, the transform becomes transformations.
func tableOldToTable(p JSON) []string {
	var notes []string
	note := func(format string, args ...any) { notes = append(notes, "table: "+fmt.Sprintf(format, args...)) }
	p["type"] = "table"
	fc := ensureObj(p, "fieldConfig")
	def := ensureObj(fc, "defaults")
	custom := ensureObj(def, "custom")
	custom["align"] = "auto"
	overrides := arr(fc, "overrides")
	for _, st := range objs(p, "styles") {
		props, defaults := styleProperties(st, note)
		pattern := str(st, "pattern")
		if pattern == "" || pattern == "/.*/" {
			for _, pr := range props {
				prm := pr.(map[string]any)
				id := str(prm, "id")
				if strings.HasPrefix(id, "custom.") {
					custom[strings.TrimPrefix(id, "custom.")] = prm["value"]
				} else {
					def[id] = prm["value"]
				}
			}
			continue
		}
		_ = defaults
		if len(props) > 0 {
			overrides = append(overrides, JSON{"matcher": aliasMatcher(pattern), "properties": props})
		}
	}
	if overrides == nil {
		overrides = []any{}
	}
	fc["overrides"] = overrides
	var tr []any
	switch t := str(p, "transform"); t {
	case "":
	case "timeseries_to_rows":
		tr = append(tr, JSON{"id": "seriesToRows", "options": JSON{}})
	case "table":
		tr = append(tr, JSON{"id": "merge", "options": JSON{}})
	case "timeseries_to_columns":
		tr = append(tr, JSON{"id": "seriesToColumns", "options": JSON{"byField": "Time"}})
	case "timeseries_aggregations":
		var calcs []any
		for _, c := range objs(p, "columns") {
			if r, ok := tableAggregations[str(c, "value")]; ok {
				calcs = append(calcs, r)
			}
		}
		if calcs == nil {
			calcs = []any{"mean"}
		}
		tr = append(tr, JSON{"id": "reduce", "options": JSON{"reducers": calcs}})
	default:
		note("transform %s is not supported", t)
	}
	if tr != nil {
		p["transformations"] = append(arr(p, "transformations"), tr...)
	}
	if s := obj(p, "sort"); s != nil && s["col"] != nil {
		// Column 0 is Time in the tables the series transforms make; other
		// columns depend on the data, which the file does not tell.
		col, _ := number(s["col"])
		switch t := str(p, "transform"); {
		case col == 0 && (t == "timeseries_to_rows" || t == "timeseries_to_columns"):
			ensureObj(p, "options")["sortBy"] = []any{JSON{"displayName": "Time", "desc": isSet(s, "desc")}}
		default:
			note("sorting by column %v is not kept", s["col"])
		}
	}
	for _, k := range []string{"styles", "transform", "columns", "sort", "scroll", "fontSize", "pageSize", "showHeader"} {
		delete(p, k)
	}
	return notes
}

// styleProperties maps one style of the old table to field properties.
func styleProperties(st JSON, note func(string, ...any)) ([]any, bool) {
	var props []any
	set := func(id string, v any) { props = append(props, JSON{"id": id, "value": v}) }
	if a := str(st, "alias"); a != "" {
		set("displayName", a)
	}
	switch str(st, "type") {
	case "hidden":
		set("custom.hidden", true)
	case "date":
		f := str(st, "dateFormat")
		if f == "" {
			f = "YYYY-MM-DD HH:mm:ss"
		}
		set("unit", "time: "+f)
	case "number":
		if u := str(st, "unit"); u != "" && u != "none" {
			set("unit", u)
		}
		if d, ok := num(st, "decimals"); ok {
			set("decimals", d)
		}
	case "string":
		if ms := arr(st, "valueMaps"); len(ms) > 0 {
			values := JSON{}
			for _, m := range ms {
				if mm, ok := m.(map[string]any); ok {
					values[valueString(mm["value"])] = JSON{"text": mm["text"]}
				}
			}
			set("mappings", []any{JSON{"type": "value", "options": values}})
		}
	}
	if cm := str(st, "colorMode"); cm != "" {
		mode := "color-text"
		if cm == "cell" || cm == "row" {
			mode = "color-background"
		}
		if cm == "row" {
			note("coloring whole rows colors the cell only")
		}
		set("custom.cellOptions", JSON{"type": mode})
		th := singlestatThresholds(JSON{"thresholds": st["thresholds"], "colors": st["colors"]})
		set("thresholds", th)
		set("color", JSON{"mode": "thresholds"})
	}
	if u := str(st, "linkUrl"); isSet(st, "link") && u != "" {
		set("links", []any{JSON{"title": str(st, "linkTooltip"), "url": u, "targetBlank": isSet(st, "linkTargetBlank")}})
	}
	return props, true
}
