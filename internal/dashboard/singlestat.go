package dashboard

import (
	"fmt"
	"strings"
)

// singlestatCalcs maps a singlestat's valueName to the reducer of the
// stat panel.
var singlestatCalcs = map[string]string{
	"avg": "mean", "current": "lastNotNull", "max": "max", "min": "min", "total": "sum",
	"first": "firstNotNull", "delta": "delta", "diff": "diff", "range": "range", "last_time": "lastNotNull",
}

// singlestatToStat converts a singlestat panel (retired in Grafana 8) to a
// stat panel, or to a gauge when its gauge was shown.
func singlestatToStat(p JSON) []string {
	var notes []string
	note := func(format string, args ...any) { notes = append(notes, "singlestat: "+fmt.Sprintf(format, args...)) }
	gauge := obj(p, "gauge")
	isGauge := gauge != nil && isSet(gauge, "show")
	fc := ensureObj(p, "fieldConfig")
	def := ensureObj(fc, "defaults")
	if _, ok := fc["overrides"]; !ok {
		fc["overrides"] = []any{}
	}
	if f := str(p, "format"); f != "" && f != "none" {
		def["unit"] = f
	}
	if d, ok := num(p, "decimals"); ok {
		def["decimals"] = d
	}
	calc := "mean"
	if vn := str(p, "valueName"); vn != "" {
		if c, ok := singlestatCalcs[vn]; ok {
			calc = c
		} else {
			note("value %q is shown as the mean", vn)
		}
	}
	fields := ""
	if tc := str(p, "tableColumn"); tc != "" {
		fields = "/^" + regexpQuote(tc) + "$/"
	}
	opts := JSON{
		"reduceOptions": JSON{"calcs": []any{calc}, "fields": fields, "values": false},
		"orientation":   "horizontal",
		"textMode":      "auto",
		"justifyMode":   "auto",
	}
	def["thresholds"] = singlestatThresholds(p)
	def["color"] = JSON{"mode": "thresholds"}
	if ms := singlestatMappings(p); len(ms) > 0 {
		def["mappings"] = ms
	}
	if nt := str(p, "nullText"); nt != "" {
		def["noValue"] = nt
	}
	if isGauge {
		p["type"] = "gauge"
		if v, ok := num(gauge, "minValue"); ok {
			def["min"] = v
		}
		if v, ok := num(gauge, "maxValue"); ok {
			def["max"] = v
		}
		opts["showThresholdMarkers"] = gauge["thresholdMarkers"] == nil || isSet(gauge, "thresholdMarkers")
		opts["showThresholdLabels"] = isSet(gauge, "thresholdLabels")
	} else {
		p["type"] = "stat"
		opts["colorMode"] = "none"
		switch {
		case isSet(p, "colorBackground"):
			opts["colorMode"] = "background"
		case isSet(p, "colorValue"):
			opts["colorMode"] = "value"
		}
		opts["graphMode"] = "none"
		if sl := obj(p, "sparkline"); sl != nil && isSet(sl, "show") {
			opts["graphMode"] = "area"
		}
	}
	if str(p, "prefix") != "" || str(p, "postfix") != "" {
		note("prefix and postfix are not shown")
	}
	if str(p, "valueName") == "name" {
		note("showing the series name is not supported; the value is shown")
	}
	p["options"] = opts
	for _, k := range []string{"format", "decimals", "valueName", "tableColumn", "thresholds", "colors",
		"colorBackground", "colorValue", "colorPrefix", "colorPostfix", "sparkline", "gauge", "valueMaps",
		"rangeMaps", "mappingType", "mappingTypes", "nullText", "nullPointMode", "prefix", "postfix",
		"prefixFontSize", "postfixFontSize", "valueFontSize", "options-gauge"} {
		delete(p, k)
	}
	return notes
}

// singlestatThresholds turns "50,80" and three colors into threshold
// steps: below the first value the first color, and so on.
func singlestatThresholds(p JSON) JSON {
	colors := arr(p, "colors")
	color := func(i int) any {
		if i < len(colors) {
			if c, ok := colors[i].(string); ok && c != "" {
				return c
			}
		}
		return []string{"green", "orange", "red"}[min(i, 2)]
	}
	steps := []any{JSON{"color": color(0), "value": nil}}
	var vals []any
	switch t := p["thresholds"].(type) {
	case string:
		for _, s := range strings.Split(t, ",") {
			if s = strings.TrimSpace(s); s != "" {
				vals = append(vals, s)
			}
		}
	case []any:
		vals = t
	}
	for i, s := range vals {
		if v, ok := number(s); ok {
			steps = append(steps, JSON{"color": color(i + 1), "value": v})
		}
	}
	if len(vals) == 0 {
		// No thresholds: one neutral color, as Grafana's migration does.
		steps = []any{JSON{"color": "green", "value": nil}}
	}
	return JSON{"mode": "absolute", "steps": steps}
}

// singlestatMappings converts valueMaps (mappingType 1) and rangeMaps
// (mappingType 2) to value mappings.
func singlestatMappings(p JSON) []any {
	var out []any
	values := JSON{}
	for _, m := range objs(p, "valueMaps") {
		v := valueString(m["value"])
		if v == "null" {
			out = append(out, JSON{"type": "special", "options": JSON{"match": "null", "result": JSON{"text": m["text"]}}})
			continue
		}
		values[v] = JSON{"text": m["text"]}
	}
	if len(values) > 0 {
		out = append(out, JSON{"type": "value", "options": values})
	}
	for _, m := range objs(p, "rangeMaps") {
		from, ok1 := number(m["from"])
		to, ok2 := number(m["to"])
		if !ok1 || !ok2 {
			continue
		}
		out = append(out, JSON{"type": "range", "options": JSON{"from": from, "to": to, "result": JSON{"text": m["text"]}}})
	}
	return out
}

// regexpQuote quotes the characters a JavaScript regular expression treats
// specially, for field-name matchers the UI evaluates.
func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$/`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
