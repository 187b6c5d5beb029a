package dashboard

import (
	"fmt"
	"slices"
	"strings"
)

// graphToTimeseries converts a graph panel (retired in Grafana 8) to a
// timeseries panel in place, mapping the common options: draw style, fill,
// stacking, the y axes, legend, tooltip, thresholds, series overrides,
// alias colors and null handling. It returns what it approximated.
func graphToTimeseries(p JSON) []string {
	var notes []string
	note := func(format string, args ...any) { notes = append(notes, "graph: "+fmt.Sprintf(format, args...)) }
	p["type"] = "timeseries"
	fc := ensureObj(p, "fieldConfig")
	def := ensureObj(fc, "defaults")
	custom := ensureObj(def, "custom")
	overrides := arr(fc, "overrides")

	lines := p["lines"] == nil || isSet(p, "lines")
	bars, points := isSet(p, "bars"), isSet(p, "points")
	switch {
	case bars:
		custom["drawStyle"] = "bars"
		custom["barAlignment"] = 0
	case !lines && points:
		custom["drawStyle"] = "points"
	default:
		custom["drawStyle"] = "line"
	}
	custom["showPoints"] = "never"
	if points {
		custom["showPoints"] = "always"
	}
	if r, ok := num(p, "pointradius"); ok {
		custom["pointSize"] = r * 2
	}
	custom["lineWidth"] = intOr(p, "linewidth", 1)
	if !lines && !bars && !points {
		custom["lineWidth"] = 0
	}
	fill := intOr(p, "fill", 1)
	custom["fillOpacity"] = fill * 10
	if g := intOr(p, "fillGradient", 0); g > 0 {
		custom["gradientMode"] = "opacity"
		custom["fillOpacity"] = g * 10
	}
	if isSet(p, "steppedLine") {
		custom["lineInterpolation"] = "stepAfter"
	} else {
		custom["lineInterpolation"] = "linear"
	}
	if isSet(p, "stack") {
		mode := "normal"
		if isSet(p, "percentage") {
			mode = "percent"
		}
		custom["stacking"] = JSON{"mode": mode, "group": "A"}
	}
	switch str(p, "nullPointMode") {
	case "connected":
		custom["spanNulls"] = true
	case "null as zero":
		def["nullValueMode"] = "null as zero"
		custom["spanNulls"] = false
	default:
		custom["spanNulls"] = false
	}
	if d, ok := num(p, "decimals"); ok {
		def["decimals"] = d
	}
	right := graphAxes(p, def, custom)
	overrides = append(overrides, graphSeriesOverrides(p, right, note)...)
	overrides = append(overrides, aliasColors(p)...)
	if overrides == nil {
		overrides = []any{}
	}
	fc["overrides"] = overrides
	graphThresholds(p, def, custom, note)
	graphLegendTooltip(p)
	if x := obj(p, "xaxis"); x != nil {
		if m := str(x, "mode"); m != "" && m != "time" {
			note("x-axis mode %q is drawn as a time series", m)
		}
	}
	if dl := arr(obj(p, "options"), "dataLinks"); len(dl) > 0 {
		def["links"] = dl
	}
	if tr := arr(p, "timeRegions"); len(tr) > 0 {
		note("time regions are not supported")
	}
	if p["alert"] != nil {
		note("the legacy panel alert is ignored (write an alerting rule instead)")
	}
	if isSet(p, "dashes") {
		custom["lineStyle"] = JSON{"fill": "dash", "dash": []any{intOr(p, "dashLength", 10), intOr(p, "spaceLength", 10)}}
	}
	for _, k := range []string{"lines", "bars", "points", "pointradius", "linewidth", "fill", "fillGradient",
		"steppedLine", "stack", "percentage", "nullPointMode", "yaxes", "yaxis", "xaxis", "legend", "tooltip",
		"seriesOverrides", "aliasColors", "thresholds", "grid", "renderer", "dashes", "dashLength", "spaceLength",
		"hiddenSeries", "timeRegions", "decimals", "aliasYAxis", "y_formats", "y-axis", "x-axis", "alert", "leftYAxisLabel", "rightYAxisLabel"} {
		delete(p, k)
	}
	return notes
}

// graphAxes maps the left y axis onto the field defaults and returns the
// properties series moved to the right axis get.
func graphAxes(p, def, custom JSON) []any {
	axes := objs(p, "yaxes")
	// Schema < 4 wrote y_formats: [left, right] instead of yaxes.
	if len(axes) == 0 {
		if f := arr(p, "y_formats"); len(f) == 2 {
			axes = []JSON{{"format": f[0]}, {"format": f[1]}}
		}
	}
	if leftLabel := str(p, "leftYAxisLabel"); leftLabel != "" && len(axes) > 0 {
		setIfMissing(axes[0], "label", leftLabel)
	}
	var right []any
	for i, a := range axes {
		if i > 1 {
			break
		}
		var props []any
		set := func(id string, v any) {
			if i == 0 {
				if strings.HasPrefix(id, "custom.") {
					custom[strings.TrimPrefix(id, "custom.")] = v
				} else {
					def[id] = v
				}
				return
			}
			props = append(props, JSON{"id": id, "value": v})
		}
		if f := str(a, "format"); f != "" {
			set("unit", f)
		}
		if v, ok := number(a["min"]); ok {
			set("min", v)
		}
		if v, ok := number(a["max"]); ok {
			set("max", v)
		}
		if d, ok := number(a["decimals"]); ok {
			set("decimals", d)
		}
		if l := str(a, "label"); l != "" {
			set("custom.axisLabel", l)
		}
		if b, ok := number(a["logBase"]); ok && b > 1 {
			set("custom.scaleDistribution", JSON{"type": "log", "log": b})
		}
		if i == 0 && a["show"] != nil && !isSet(a, "show") {
			custom["axisPlacement"] = "hidden"
		}
		if i == 1 {
			right = append(props, JSON{"id": "custom.axisPlacement", "value": "right"})
		}
	}
	if right == nil {
		right = []any{JSON{"id": "custom.axisPlacement", "value": "right"}}
	}
	return right
}

// seriesOverrideKeys are the seriesOverrides keys the conversion maps; any
// other is reported as not supported.
var seriesOverrideKeys = []string{"alias", "lines", "linewidth", "fill", "fillGradient", "bars", "points",
	"pointradius", "stack", "yaxis", "color", "transform", "legend", "hiddenSeries", "dashes", "dashLength",
	"spaceLength", "steppedLine", "$$hashKey", "zindex", "nullPointMode", "hideTooltip"}

// graphSeriesOverrides turns seriesOverrides into field overrides matched
// by name, or by regular expression when the alias is /.../.
func graphSeriesOverrides(p JSON, right []any, note func(string, ...any)) []any {
	var out []any
	for _, so := range objs(p, "seriesOverrides") {
		alias := str(so, "alias")
		if alias == "" {
			continue
		}
		var props []any
		set := func(id string, v any) { props = append(props, JSON{"id": id, "value": v}) }
		if v, ok := so["lines"].(bool); ok && !v && !isSet(so, "bars") && !isSet(so, "points") {
			set("custom.lineWidth", 0)
		}
		if isSet(so, "bars") {
			set("custom.drawStyle", "bars")
		} else if v, ok := so["lines"].(bool); ok && v {
			set("custom.drawStyle", "line")
		}
		if v, ok := so["points"].(bool); ok {
			if v {
				set("custom.showPoints", "always")
				if so["lines"] == false {
					set("custom.drawStyle", "points")
				}
			} else {
				set("custom.showPoints", "never")
			}
		}
		if v, ok := num(so, "linewidth"); ok {
			set("custom.lineWidth", v)
		}
		if v, ok := num(so, "fill"); ok {
			set("custom.fillOpacity", v*10)
		}
		if v, ok := so["stack"]; ok {
			switch {
			case v == false:
				set("custom.stacking", JSON{"mode": "none", "group": "A"})
			case v == true:
				set("custom.stacking", JSON{"mode": "normal", "group": "A"})
			default:
				set("custom.stacking", JSON{"mode": "normal", "group": fmt.Sprint(v)})
			}
		}
		if y, _ := num(so, "yaxis"); y == 2 {
			props = append(props, right...)
		}
		if c := str(so, "color"); c != "" {
			set("color", JSON{"mode": "fixed", "fixedColor": c})
		}
		if str(so, "transform") == "negative-Y" {
			set("custom.transform", "negative-Y")
		}
		if v, ok := so["legend"].(bool); ok && !v {
			set("custom.hideFrom", JSON{"legend": true, "tooltip": false, "viz": false})
		}
		if isSet(so, "hiddenSeries") {
			set("custom.hideFrom", JSON{"legend": false, "tooltip": false, "viz": true})
		}
		if isSet(so, "steppedLine") {
			set("custom.lineInterpolation", "stepAfter")
		}
		if v, ok := so["dashes"].(bool); ok && v {
			dash, space := intOr(so, "dashLength", 10), intOr(so, "spaceLength", 10)
			set("custom.lineStyle", JSON{"fill": "dash", "dash": []any{dash, space}})
		}
		for k := range so {
			if !slices.Contains(seriesOverrideKeys, k) {
				note("seriesOverrides %s is not supported", k)
			}
		}
		if len(props) == 0 {
			continue
		}
		out = append(out, JSON{"matcher": aliasMatcher(alias), "properties": props})
	}
	return out
}

// aliasMatcher matches a series by its display name, or by a regular
// expression when alias is written /re/.
func aliasMatcher(alias string) JSON {
	if len(alias) > 1 && strings.HasPrefix(alias, "/") && strings.HasSuffix(alias, "/") {
		return JSON{"id": "byRegexp", "options": alias[1 : len(alias)-1]}
	}
	return JSON{"id": "byName", "options": alias}
}

func aliasColors(p JSON) []any {
	ac := obj(p, "aliasColors")
	names := make([]string, 0, len(ac))
	for k := range ac {
		names = append(names, k)
	}
	slices.Sort(names)
	var out []any
	for _, name := range names {
		c, ok := ac[name].(string)
		if !ok || c == "" {
			continue
		}
		out = append(out, JSON{
			"matcher":    JSON{"id": "byName", "options": name},
			"properties": []any{JSON{"id": "color", "value": JSON{"mode": "fixed", "fixedColor": c}}},
		})
	}
	return out
}

// graphThresholds maps the graph's thresholds (and grid.threshold1/2 of
// schema < 13) to field thresholds drawn as lines, areas or both.
func graphThresholds(p, def, custom JSON, note func(string, ...any)) {
	ths := objs(p, "thresholds")
	if g := obj(p, "grid"); g != nil && len(ths) == 0 {
		for _, k := range []string{"threshold1", "threshold2"} {
			if v, ok := num(g, k); ok {
				ths = append(ths, JSON{"value": v, "op": "gt", "colorMode": "custom", "fill": true,
					"line": isSet(g, "thresholdLine"), "fillColor": g[k+"Color"]})
			}
		}
	}
	if len(ths) == 0 {
		return
	}
	steps := []any{JSON{"color": "transparent", "value": nil}}
	fill, line := false, false
	for _, t := range ths {
		v, ok := num(t, "value")
		if !ok {
			continue
		}
		if str(t, "op") == "lt" {
			note("threshold %v with op lt is drawn as op gt", v)
		}
		fill = fill || isSet(t, "fill")
		line = line || isSet(t, "line")
		steps = append(steps, JSON{"color": thresholdColor(t), "value": v})
	}
	def["thresholds"] = JSON{"mode": "absolute", "steps": steps}
	mode := "off"
	switch {
	case fill && line:
		mode = "line+area"
	case fill:
		mode = "area"
	case line:
		mode = "line"
	}
	custom["thresholdsStyle"] = JSON{"mode": mode}
}

func thresholdColor(t JSON) string {
	switch str(t, "colorMode") {
	case "critical":
		return "red"
	case "warning":
		return "orange"
	case "ok":
		return "green"
	}
	for _, k := range []string{"lineColor", "fillColor"} {
		if c := str(t, k); c != "" {
			return c
		}
	}
	return "red"
}

// graphLegendTooltip maps the graph's legend and tooltip to the
// timeseries options.
func graphLegendTooltip(p JSON) {
	o := ensureObj(p, "options")
	delete(o, "dataLinks")
	lg := obj(p, "legend")
	legend := JSON{"showLegend": true, "displayMode": "list", "placement": "bottom", "calcs": []any{}}
	if lg != nil {
		if v, ok := lg["show"]; ok && !truthy(v) {
			legend["showLegend"] = false
		}
		if isSet(lg, "alignAsTable") {
			legend["displayMode"] = "table"
		}
		if isSet(lg, "rightSide") {
			legend["placement"] = "right"
		}
		var calcs []any
		for _, c := range [][2]string{{"current", "lastNotNull"}, {"min", "min"}, {"max", "max"}, {"avg", "mean"}, {"total", "sum"}} {
			if isSet(lg, c[0]) {
				calcs = append(calcs, c[1])
			}
		}
		if calcs != nil {
			legend["calcs"] = calcs
		}
		if s := str(lg, "sort"); s != "" {
			legend["sortBy"] = map[string]string{"current": "Last *", "min": "Min", "max": "Max", "avg": "Mean", "total": "Total"}[s]
			legend["sortDesc"] = isSet(lg, "sortDesc")
		}
	}
	o["legend"] = legend
	tt := obj(p, "tooltip")
	tooltip := JSON{"mode": "multi", "sort": "none"}
	if tt != nil {
		if v, ok := tt["shared"]; ok && !truthy(v) {
			tooltip["mode"] = "single"
		}
		switch intOr(tt, "sort", 0) {
		case 1:
			tooltip["sort"] = "asc"
		case 2:
			tooltip["sort"] = "desc"
		}
	}
	o["tooltip"] = tooltip
}
