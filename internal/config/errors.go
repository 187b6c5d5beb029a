package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem found in a config file. Parse, LoadFile and Validate
// return every problem they find, each an *Error, joined with errors.Join;
// use errors.As to get the first one.
type Error struct {
	// File is the file the problem is in; empty for configs built in code.
	File string
	// Line is the 1-based line of the offending key or value, 0 if unknown
	// (for example a value that came from a default).
	Line int
	// Path is the key path as written in File, such as
	// scrape_configs[1].scrape_interval; empty for the document itself.
	Path string
	// Err is what is wrong.
	Err error
}

// Error formats the problem as "file:line: path: message", the shape
// editors and CI logs turn into clickable locations. Parts that are unknown
// are left out.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }

// position is where a key path was written.
type position struct {
	file string
	line int
	// shown is the key path as written in file. It differs from the map key
	// for scrape jobs merged in from scrape_config_files, which live at a
	// different index in Config.ScrapeConfigs than in their own file.
	shown string
}

// positions maps key paths (as in Config) to where they were written. It is
// filled by the decoder so that Validate, which only sees Go values, can
// still point at the line a problem came from.
type positions map[string]position

// find returns the position of path, or of its closest ancestor that has
// one, and the path to show to the user. A value that came from a default
// has no position of its own; its parent mapping is the best place to point.
func (p positions) find(path string) (position, string, bool) {
	if pos, ok := p[path]; ok {
		return pos, pos.shown, true
	}
	for i := len(path) - 1; i > 0; i-- {
		if path[i] != '.' && path[i] != '[' {
			continue
		}
		if pos, ok := p[path[:i]]; ok {
			return pos, pos.shown + path[i:], true
		}
	}
	return position{}, path, false
}

// identRE matches keys that can be shown in a path without quoting.
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// joinPath appends a mapping key to a key path. Keys that are not plain
// identifiers (header names, label names with dots) are quoted so the path
// stays unambiguous.
func joinPath(path, key string) string {
	if !identRE.MatchString(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath appends a sequence index to a key path.
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// lineRE matches the "line N: " prefix yaml.v3 puts on its messages; our
// own prefix replaces it.
var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// cleanYAMLError turns an error from yaml.v3 into a one-line message
// without yaml.v3's own location prefix.
func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, 0, len(te.Errors))
		for _, m := range te.Errors {
			msgs = append(msgs, lineRE.ReplaceAllString(m, ""))
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return errors.New(lineRE.ReplaceAllString(msg, ""))
}

// syntaxError converts a yaml.v3 parse error ("yaml: line 3: did not find
// expected key") into an *Error carrying the file and line.
func syntaxError(file string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	return &Error{File: file, Line: line, Err: errors.New(msg)}
}
