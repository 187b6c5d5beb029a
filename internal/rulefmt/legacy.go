package rulefmt

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// LegacyError says that a file is in the rule syntax of Prometheus 1.x
// (ALERT name IF expr ... / name = expr), which argus does not read, and
// how to convert it.
type LegacyError struct {
	// Line is the first line (from 1) that looks like 1.x syntax.
	Line int
	// Converted is a best-effort translation into the YAML format, empty
	// if the file could not be translated.
	Converted string
}

func (e *LegacyError) Error() string {
	msg := fmt.Sprintf("line %d: this is the rule syntax of Prometheus 1.x, which argus does not read; "+
		"rule files are YAML since Prometheus 2.0 (convert with `promtool update rules FILE` of Prometheus 2.x, "+
		"or rewrite it by hand)", e.Line)
	if e.Converted != "" {
		msg += "; a translation to check:\n" + e.Converted
	}
	return msg
}

var (
	legacyAlert  = regexp.MustCompile(`^\s*ALERT\s+[a-zA-Z_:][a-zA-Z0-9_:]*\s*$|^\s*ALERT\s+[a-zA-Z_:][a-zA-Z0-9_:]*\s+IF\s`)
	legacyRecord = regexp.MustCompile(`^\s*[a-zA-Z_:][a-zA-Z0-9_:]*\s*(\{[^}]*\})?\s*=\s*[^=~\s]`)
)

// DetectLegacy returns a *LegacyError if content looks like a Prometheus
// 1.x rule file, and nil otherwise. It is only consulted for content that
// is not a valid YAML rule file.
func DetectLegacy(content []byte) *LegacyError {
	lines := strings.Split(string(content), "\n")
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if legacyAlert.MatchString(l) || legacyRecord.MatchString(l) {
			return &LegacyError{Line: i + 1, Converted: convertLegacy(string(content))}
		}
		// The first meaningful line decides: YAML files start otherwise.
		return nil
	}
	return nil
}

// convertLegacy translates a 1.x rule file into the YAML format, or
// returns "" when a statement cannot be understood. It is a helper for
// the user, not a parser argus relies on.
func convertLegacy(content string) string {
	var rules []Rule
	for _, st := range legacyStatements(content) {
		r, ok := convertStatement(st)
		if !ok {
			return ""
		}
		rules = append(rules, r)
	}
	if len(rules) == 0 {
		return ""
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(RuleGroups{Groups: []RuleGroup{{Name: "converted", Rules: rules}}}); err != nil {
		return ""
	}
	return b.String()
}

// legacyStatements splits the file at lines that start a statement.
func legacyStatements(content string) []string {
	var (
		out []string
		cur strings.Builder
	)
	for l := range strings.SplitSeq(content, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "#") {
			continue
		}
		if (legacyAlert.MatchString(l) || legacyRecord.MatchString(l)) && !startsIndented(l) {
			if strings.TrimSpace(cur.String()) != "" {
				out = append(out, cur.String())
			}
			cur.Reset()
		}
		cur.WriteString(l)
		cur.WriteByte('\n')
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

func startsIndented(l string) bool { return l != "" && (l[0] == ' ' || l[0] == '\t') }

// convertStatement translates one ALERT or recording statement.
func convertStatement(st string) (Rule, bool) {
	st = strings.TrimSpace(st)
	if rest, ok := strings.CutPrefix(st, "ALERT"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n') {
		return convertAlert(strings.TrimSpace(rest))
	}
	eq := strings.IndexByte(st, '=')
	if br := strings.IndexByte(st, '{'); br >= 0 && br < eq {
		end := strings.IndexByte(st, '}')
		if end < 0 {
			return Rule{}, false
		}
		eq = strings.IndexByte(st[end:], '=')
		if eq >= 0 {
			eq += end
		}
	}
	if eq < 0 {
		return Rule{}, false
	}
	name, expr := st[:eq], st[eq+1:]
	r := Rule{Record: strings.TrimSpace(name), Expr: collapseSpace(expr)}
	if i := strings.IndexByte(r.Record, '{'); i >= 0 {
		ls, ok := parseLegacyLabels(r.Record[i:])
		if !ok {
			return Rule{}, false
		}
		r.Record, r.Labels = strings.TrimSpace(r.Record[:i]), ls
	}
	return r, r.Record != "" && r.Expr != ""
}

func convertAlert(s string) (Rule, bool) {
	parts := splitKeywords(s, []string{"IF", "FOR", "LABELS", "ANNOTATIONS"})
	r := Rule{Alert: strings.TrimSpace(parts[""])}
	r.Expr = collapseSpace(parts["IF"])
	if d := strings.TrimSpace(parts["FOR"]); d != "" {
		v, err := model.ParseDuration(d)
		if err != nil {
			return Rule{}, false
		}
		r.For = v
	}
	var ok bool
	if l := parts["LABELS"]; l != "" {
		if r.Labels, ok = parseLegacyLabels(l); !ok {
			return Rule{}, false
		}
	}
	if a := parts["ANNOTATIONS"]; a != "" {
		if r.Annotations, ok = parseLegacyLabels(a); !ok {
			return Rule{}, false
		}
	}
	return r, r.Alert != "" && r.Expr != ""
}

// splitKeywords cuts s at the given upper-case keywords when they stand
// as words outside quotes, braces, brackets and parentheses. The text
// before the first keyword is under "".
func splitKeywords(s string, keywords []string) map[string]string {
	out := map[string]string{}
	key, start, depth := "", 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && quote != '`' {
				i++
			} else if c == quote {
				quote = 0
			}
			continue
		case c == '"' || c == '\'' || c == '`':
			quote = c
			continue
		case c == '{' || c == '(' || c == '[':
			depth++
			continue
		case c == '}' || c == ')' || c == ']':
			depth--
			continue
		}
		if depth != 0 || (i > 0 && !isSpace(s[i-1])) {
			continue
		}
		for _, k := range keywords {
			if strings.HasPrefix(s[i:], k) && (i+len(k) == len(s) || isSpace(s[i+len(k)]) || s[i+len(k)] == '{') {
				out[key] += s[start:i]
				key, start = k, i+len(k)
				i += len(k) - 1
				break
			}
		}
	}
	out[key] += s[start:]
	return out
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// parseLegacyLabels reads a 1.x label set: { name = "value", ... }.
func parseLegacyLabels(s string) (map[string]string, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, false
	}
	s = s[1 : len(s)-1]
	out := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t\r\n,")
		if s == "" {
			return out, true
		}
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			return nil, false
		}
		rest = strings.TrimSpace(rest)
		if rest == "" {
			return nil, false
		}
		end := closingQuote(rest)
		if end < 0 {
			return nil, false
		}
		v, err := unquoteLegacy(rest[:end+1])
		if err != nil {
			return nil, false
		}
		out[strings.TrimSpace(name)] = v
		s = rest[end+1:]
	}
}

// closingQuote returns the index of the quote closing the string s starts
// with, or -1.
func closingQuote(s string) int {
	q := s[0]
	if q != '"' && q != '\'' && q != '`' {
		return -1
	}
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && q != '`':
			i++
		case s[i] == q:
			return i
		}
	}
	return -1
}

func unquoteLegacy(s string) (string, error) {
	if s[0] == '\'' {
		// Go reads single quotes as runes; swap them for double quotes.
		inner := strings.ReplaceAll(s[1:len(s)-1], `\'`, `'`)
		return strconv.Unquote(`"` + strings.ReplaceAll(inner, `"`, `\"`) + `"`)
	}
	return strconv.Unquote(s)
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }
