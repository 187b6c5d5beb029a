package alertmanager

import (
	"sync"
	"time"

	"github.com/prometheus/alertmanager/alert"
	amcommon "github.com/prometheus/alertmanager/config/common"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
)

// inhibitor mutes alerts matching a rule's target matchers while an alert
// matching its source matchers fires with the same values of the rule's
// equal labels.
type inhibitor struct {
	rules []*inhibitRule
}

type inhibitRule struct {
	source, target labels.Matchers
	equal          []model.LabelName

	mu sync.RWMutex
	// sources are the alerts that matched the source matchers, resolved
	// ones included until prune removes them.
	sources map[model.Fingerprint]*alert.Alert
}

func newInhibitor(rules []amcommon.InhibitRule) *inhibitor {
	ih := &inhibitor{}
	for _, cr := range rules {
		r := &inhibitRule{
			source:  ruleMatchers(cr.SourceMatch, cr.SourceMatchRE, cr.SourceMatchers),
			target:  ruleMatchers(cr.TargetMatch, cr.TargetMatchRE, cr.TargetMatchers),
			sources: map[model.Fingerprint]*alert.Alert{},
		}
		for _, ln := range cr.Equal {
			r.equal = append(r.equal, model.LabelName(ln))
		}
		ih.rules = append(ih.rules, r)
	}
	return ih
}

// ruleMatchers combines the three ways a rule side can be written.
func ruleMatchers(eq map[string]string, re amcommon.MatchRegexps, ms amcommon.Matchers) labels.Matchers {
	var out labels.Matchers
	for ln, lv := range eq {
		// Names were validated by the config loader; values need no check.
		m, err := labels.NewMatcher(labels.MatchEqual, ln, lv)
		if err == nil {
			out = append(out, m)
		}
	}
	for ln, lv := range re {
		m, err := labels.NewMatcher(labels.MatchRegexp, ln, lv.Original)
		if err == nil {
			out = append(out, m)
		}
	}
	return append(out, ms...)
}

// observe records a as a possible source alert.
func (ih *inhibitor) observe(a *alert.Alert) {
	for _, r := range ih.rules {
		if !r.source.Matches(a.Labels) {
			continue
		}
		r.mu.Lock()
		r.sources[a.Fingerprint()] = a
		r.mu.Unlock()
	}
}

// mutes returns the fingerprints of the firing alerts that inhibit an alert
// with lset, none if it is not inhibited.
func (ih *inhibitor) mutes(lset model.LabelSet, now time.Time) []string {
	fp := lset.Fingerprint()
	for _, r := range ih.rules {
		if !r.target.Matches(lset) {
			continue
		}
		// An alert that matches both sides must not inhibit itself nor be
		// inhibited by another alert matching both sides.
		if by, ok := r.inhibitedBy(lset, fp, r.source.Matches(lset), now); ok {
			return []string{by.String()}
		}
	}
	return nil
}

func (r *inhibitRule) inhibitedBy(lset model.LabelSet, fp model.Fingerprint, bothSides bool, now time.Time) (model.Fingerprint, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
outer:
	for sfp, a := range r.sources {
		if sfp == fp || a.ResolvedAt(now) {
			continue
		}
		for _, ln := range r.equal {
			if a.Labels[ln] != lset[ln] {
				continue outer
			}
		}
		if bothSides && r.target.Matches(a.Labels) {
			continue
		}
		return sfp, true
	}
	return 0, false
}

// prune forgets the source alerts that are resolved.
func (ih *inhibitor) prune(now time.Time) {
	for _, r := range ih.rules {
		r.mu.Lock()
		for fp, a := range r.sources {
			if a.ResolvedAt(now) {
				delete(r.sources, fp)
			}
		}
		r.mu.Unlock()
	}
}
