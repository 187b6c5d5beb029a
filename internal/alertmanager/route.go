package alertmanager

import (
	"maps"
	"strconv"
	"strings"
	"time"

	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
)

// Defaults of the root route, Alertmanager's.
const (
	defaultGroupWait      = 30 * time.Second
	defaultGroupInterval  = 5 * time.Minute
	defaultRepeatInterval = 4 * time.Hour
)

// route is one node of the routing tree with its settings resolved
// (inherited from the parent where not set).
type route struct {
	parent   *route
	children []*route
	matchers labels.Matchers
	cont     bool

	receiver       string
	groupBy        map[model.LabelName]struct{}
	groupByAll     bool
	groupWait      time.Duration
	groupInterval  time.Duration
	repeatInterval time.Duration
	muteIntervals  []string
	activeInterval []string
	labels         model.LabelSet

	// idx numbers routes depth-first, children before parents, as
	// Alertmanager does.
	idx int
	// key is Alertmanager's route key (matchers from the root down), the
	// prefix of group keys that receivers see.
	key string
	// id is key plus the position among siblings, unique in the tree.
	id string
}

// newRouteTree builds the tree of cr.
func newRouteTree(cr *amconfig.Route) *route {
	counter := 0
	return newRoute(cr, nil, 0, &counter)
}

func newRoute(cr *amconfig.Route, parent *route, pos int, counter *int) *route {
	r := &route{
		parent:         parent,
		receiver:       "",
		groupBy:        map[model.LabelName]struct{}{},
		groupWait:      defaultGroupWait,
		groupInterval:  defaultGroupInterval,
		repeatInterval: defaultRepeatInterval,
		labels:         model.LabelSet{},
	}
	if parent != nil {
		r.receiver = parent.receiver
		r.groupBy = parent.groupBy
		r.groupByAll = parent.groupByAll
		r.groupWait, r.groupInterval, r.repeatInterval = parent.groupWait, parent.groupInterval, parent.repeatInterval
		r.labels = parent.labels
	}
	if len(cr.Labels) > 0 {
		merged := maps.Clone(r.labels)
		maps.Copy(merged, cr.Labels)
		r.labels = merged
	}
	if cr.Receiver != "" {
		r.receiver = cr.Receiver
	}
	if cr.GroupBy != nil {
		r.groupBy = map[model.LabelName]struct{}{}
		for _, ln := range cr.GroupBy {
			r.groupBy[ln] = struct{}{}
		}
		r.groupByAll = false
	} else if cr.GroupByAll {
		r.groupByAll = true
	}
	if cr.GroupWait != nil {
		r.groupWait = time.Duration(*cr.GroupWait)
	}
	if cr.GroupInterval != nil {
		r.groupInterval = time.Duration(*cr.GroupInterval)
	}
	if cr.RepeatInterval != nil {
		r.repeatInterval = time.Duration(*cr.RepeatInterval)
	}
	r.matchers = cr.AllMatchers()
	r.cont = cr.Continue
	r.muteIntervals = cr.MuteTimeIntervals
	r.activeInterval = cr.ActiveTimeIntervals

	var key, id strings.Builder
	if parent != nil {
		key.WriteString(parent.key)
		key.WriteByte('/')
		id.WriteString(parent.id)
		id.WriteByte('/')
	}
	key.WriteString(r.matchers.String())
	id.WriteString(r.matchers.String())
	if parent != nil {
		id.WriteByte('/')
		id.WriteString(strconv.Itoa(pos))
	}
	r.key, r.id = key.String(), id.String()

	for i, c := range cr.Routes {
		r.children = append(r.children, newRoute(c, r, i, counter))
	}
	r.idx = *counter
	*counter++
	return r
}

// match returns the routes an alert with lset goes to: the deepest
// matching routes, following continue, or r itself if no child matches.
func (r *route) match(lset model.LabelSet) []*route {
	if !r.matchers.Matches(lset) {
		return nil
	}
	var all []*route
	for _, c := range r.children {
		m := c.match(lset)
		all = append(all, m...)
		if m != nil && !c.cont {
			break
		}
	}
	if len(all) == 0 {
		all = append(all, r)
	}
	return all
}

// walk calls fn for r and its descendants, parents first.
func (r *route) walk(fn func(*route)) {
	fn(r)
	for _, c := range r.children {
		c.walk(fn)
	}
}

// groupLabels returns the labels of lset that r groups by.
func (r *route) groupLabels(lset model.LabelSet) model.LabelSet {
	out := model.LabelSet{}
	for ln, lv := range lset {
		if _, ok := r.groupBy[ln]; ok || r.groupByAll {
			out[ln] = lv
		}
	}
	return out
}
