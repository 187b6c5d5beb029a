package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	commoncfg "github.com/prometheus/common/config"
)

// LoadFile reads, decodes and validates the config file at path. Beyond
// Parse it does what needs the file system, as Prometheus does:
//
//   - scrape_config_files globs are expanded and the scrape_configs of
//     each matching file (which may hold nothing else) are appended to
//     ScrapeConfigs; errors in them name that file;
//   - relative paths (rule_files, scrape_config_files, file_sd files,
//     TLS and credential files, log files) are made relative to the
//     directory of the file they were written in.
//
// Files named by the config, other than scrape_config_files and
// probe.config_file, are not opened.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ld := newLoader(path)
	ld.decodeMain(data)
	ld.dir = filepath.Dir(path)
	ld.includeScrapeConfigFiles()
	ld.includeProbeModules()
	return ld.finish()
}

// loader carries a config and its problems through the loading steps, so
// that one run reports everything wrong rather than the first thing.
type loader struct {
	c     *Config
	dir   string // directory relative paths are resolved against; "" for none
	errs  []*Error
	fatal bool // decoding stopped early; checking values would add noise
	// failed lists values that could not be decoded, as file and key path.
	failed []*Error
}

func newLoader(filename string) *loader {
	return &loader{c: defaults(filename)}
}

func (ld *loader) decodeMain(data []byte) {
	res := decodeFile(data, ld.c.file, ld.c)
	ld.c.pos = res.pos
	ld.add(ld.c.file, res)
}

func (ld *loader) add(file string, res decoded) {
	ld.errs = append(ld.errs, res.errs...)
	ld.fatal = ld.fatal || res.fatal
	for _, p := range res.failed {
		ld.failed = append(ld.failed, &Error{File: file, Path: p})
	}
}

// finish completes and validates the config and, for LoadFile, resolves
// relative paths.
func (ld *loader) finish() (*Config, error) {
	c := ld.c
	if ld.fatal {
		return nil, ld.joined()
	}
	c.expandExternalLabels()
	c.complete()
	ld.addValidation(c.validate())
	if len(ld.errs) > 0 {
		return nil, ld.joined()
	}
	if ld.dir != "" {
		c.setDirectory(ld.dir)
	}
	c.inheritFilePaths()
	return c, nil
}

// addValidation adds the problems Validate found, except those about a
// value that already failed to decode: its default stood in for it, and a
// second message about it ("url is empty") would only confuse.
func (ld *loader) addValidation(errs []*Error) {
	for _, e := range errs {
		if !coveredBy(e, ld.failed) {
			ld.errs = append(ld.errs, e)
		}
	}
}

func coveredBy(e *Error, by []*Error) bool {
	for _, d := range by {
		if d.File != e.File {
			continue
		}
		if rest, ok := strings.CutPrefix(e.Path, d.Path); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
			return true
		}
	}
	return false
}

// joined returns the problems in reading order, the main file first, at
// most maxErrors of them.
func (ld *loader) joined() error {
	errs := ld.errs
	main := ld.c.file
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i], errs[j]
		if (a.File == main) != (b.File == main) {
			return a.File == main
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return joinErrors(errs)
}

// joinErrors joins problems, cutting the list at maxErrors: past that the
// rest are usually consequences of the first ones.
func joinErrors(errs []*Error) error {
	var out []error
	for i, e := range errs {
		if i == maxErrors {
			out = append(out, &Error{File: e.File, Err: errors.New("too many problems; fix these first")})
			break
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// scrapeConfigFile is the content allowed in a scrape_config_files file.
type scrapeConfigFile struct {
	ScrapeConfigs []*Scrape `yaml:"scrape_configs"`
}

// includeScrapeConfigFiles appends the scrape jobs of every file matched
// by scrape_config_files, in pattern order and, per pattern, file name
// order.
func (ld *loader) includeScrapeConfigFiles() {
	if ld.fatal {
		return
	}
	c := ld.c
	for i, pattern := range c.ScrapeConfigFiles {
		if !patFilePath.MatchString(pattern) {
			continue // reported by Validate
		}
		files, err := filepath.Glob(commoncfg.JoinDir(ld.dir, pattern))
		if err != nil {
			p := indexPath("scrape_config_files", i)
			ld.errs = append(ld.errs, &Error{File: c.file, Line: c.pos[p].line, Path: p,
				Err: fmt.Errorf("bad pattern %q: %w", pattern, err)})
			continue
		}
		for _, f := range files {
			ld.includeScrapeConfigFile(f)
		}
	}
}

// includeScrapeConfigFile appends the jobs of one file. Their positions are
// re-keyed to their index in c.ScrapeConfigs but keep their own file and
// path, so that errors point into the right file.
func (ld *loader) includeScrapeConfigFile(file string) {
	c := ld.c
	data, err := os.ReadFile(file)
	if err != nil {
		ld.errs = append(ld.errs, &Error{File: file, Err: err})
		return
	}
	var sf scrapeConfigFile
	res := decodeFile(data, file, &sf)
	ld.add(file, res)
	pos := res.pos
	offset := len(c.ScrapeConfigs)
	for j, s := range sf.ScrapeConfigs {
		s.file = file
		from, to := indexPath("scrape_configs", j), indexPath("scrape_configs", offset+j)
		for path, p := range pos {
			if rest, ok := strings.CutPrefix(path, from); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
				if c.pos == nil {
					c.pos = positions{}
				}
				c.pos[to+rest] = p
			}
		}
	}
	c.ScrapeConfigs = append(c.ScrapeConfigs, sf.ScrapeConfigs...)
}

// setDirectory makes relative paths relative to dir, the directory of the
// main config file, or for scrape jobs from scrape_config_files, to the
// directory of their file.
func (c *Config) setDirectory(dir string) {
	c.Global.QueryLogFile = commoncfg.JoinDir(dir, c.Global.QueryLogFile)
	c.Global.ScrapeFailureLogFile = commoncfg.JoinDir(dir, c.Global.ScrapeFailureLogFile)
	joinAll(dir, c.RuleFiles)
	joinAll(dir, c.ScrapeConfigFiles)
	for _, s := range c.ScrapeConfigs {
		d := dir
		if s.file != "" {
			d = filepath.Dir(s.file)
		}
		s.ScrapeFailureLogFile = commoncfg.JoinDir(d, s.ScrapeFailureLogFile)
		s.HTTPClientConfig.SetDirectory(d)
		setSDDirectory(d, s.FileSDConfigs, s.HTTPSDConfigs)
	}
	for _, am := range c.Alerting.Alertmanagers {
		am.HTTPClientConfig.SetDirectory(dir)
		setSDDirectory(dir, am.FileSDConfigs, am.HTTPSDConfigs)
	}
	for _, rw := range c.RemoteWrite {
		rw.HTTPClientConfig.SetDirectory(dir)
	}
	for _, rr := range c.RemoteRead {
		rr.HTTPClientConfig.SetDirectory(dir)
	}
	c.Tracing.TLSConfig.SetDirectory(dir)
	c.Alertmanager.setDirectory(dir)
	for _, in := range c.Integrations {
		in.setDirectory(dir)
	}
	c.Dashboards.setDirectory(dir)
	for _, d := range c.DataSources {
		if d != nil {
			d.HTTPClientConfig.SetDirectory(dir)
		}
	}
	c.Probe.ConfigFile = commoncfg.JoinDir(dir, c.Probe.ConfigFile)
	c.State.setDirectory(dir)
	c.Auth.setDirectory(dir)
	c.AppsDir = commoncfg.JoinDir(dir, c.AppsDir)
	c.AppsFront.setDirectory(dir)
	for _, a := range c.Apps {
		a.setDirectory(dir)
	}
}

func setSDDirectory(dir string, files []*FileSD, https []*HTTPSD) {
	for _, f := range files {
		joinAll(dir, f.Files)
	}
	for _, h := range https {
		h.HTTPClientConfig.SetDirectory(dir)
	}
}

func joinAll(dir string, paths []string) {
	for i, p := range paths {
		paths[i] = commoncfg.JoinDir(dir, p)
	}
}
