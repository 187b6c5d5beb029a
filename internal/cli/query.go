package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// stringsFlag collects a repeatable flag (--match a --match b).
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// queryFlags are the flags every query subcommand takes.
type queryFlags struct {
	server  string
	output  string
	timeout time.Duration
}

// queryCmd runs `argus query instant|range|series|labels`. It talks to the
// HTTP API with the Prometheus project's own Go client, so it works against
// argus and against Prometheus alike (as promtool's query commands do).
func queryCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: argus query instant|range|series|labels", errUsage)
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("query " + sub)
	var qf queryFlags
	fs.StringVar(&qf.server, "server", "http://localhost:9090", "URL of the argus (or Prometheus) server")
	fs.StringVar(&qf.output, "o", "text", "output format: text or json")
	fs.DurationVar(&qf.timeout, "timeout", 2*time.Minute, "how long to wait for the answer")
	httpConfig := fs.String("http.config.file", "", "credentials and TLS for the server, in Prometheus's HTTP client format (as promtool's flag)")
	var (
		at, start, end string
		step           time.Duration
		matches        stringsFlag
	)
	switch sub {
	case "instant":
		fs.StringVar(&at, "time", "", "evaluation time (RFC3339 or Unix seconds); default now")
	case "range":
		fs.StringVar(&start, "start", "", "start time (RFC3339 or Unix seconds); default end - 5m")
		fs.StringVar(&end, "end", "", "end time (RFC3339 or Unix seconds); default now")
		fs.DurationVar(&step, "step", 0, "resolution; default (end-start)/250, at least 1s")
	case "series", "labels":
		fs.Var(&matches, "match", "series selector (repeatable)")
		fs.StringVar(&start, "start", "", "start time (RFC3339 or Unix seconds)")
		fs.StringVar(&end, "end", "", "end time (RFC3339 or Unix seconds)")
	default:
		return fmt.Errorf("%w: unknown query command %q", errUsage, sub)
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if qf.output != "text" && qf.output != "json" {
		return fmt.Errorf("%w: -o must be text or json, not %q", errUsage, qf.output)
	}
	u, err := url.Parse(qf.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: --server %q is not an http(s) URL", errUsage, qf.server)
	}
	rt, err := roundTripper(*httpConfig)
	if err != nil {
		return err
	}
	client, err := api.NewClient(api.Config{Address: qf.server, RoundTripper: rt})
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	papi := v1.NewAPI(client)
	ctx, cancel := context.WithTimeout(ctx, qf.timeout)
	defer cancel()
	now := time.Now()

	var (
		result   any
		warnings v1.Warnings
		infos    v1.Infos
	)
	switch sub {
	case "instant":
		if len(pos) != 1 {
			return fmt.Errorf("%w: argus query instant [flags] EXPR", errUsage)
		}
		ts, err := parseTimeFlag("time", at, now, now)
		if err != nil {
			return err
		}
		result, warnings, infos, err = papi.Query(ctx, pos[0], ts)
		if err != nil {
			return queryErr(err)
		}
	case "range":
		if len(pos) != 1 {
			return fmt.Errorf("%w: argus query range [flags] EXPR", errUsage)
		}
		e, err := parseTimeFlag("end", end, now, now)
		if err != nil {
			return err
		}
		s, err := parseTimeFlag("start", start, e.Add(-5*time.Minute), now)
		if err != nil {
			return err
		}
		if !s.Before(e) && !s.Equal(e) {
			return fmt.Errorf("%w: --start %s is after --end %s", errUsage, s.Format(time.RFC3339Nano), e.Format(time.RFC3339Nano))
		}
		if step == 0 {
			// promtool's default: about 250 points, at least one a second.
			step = time.Duration(math.Max(math.Floor(e.Sub(s).Seconds()/250), 1)) * time.Second
		}
		if step < 0 {
			return fmt.Errorf("%w: --step must be positive", errUsage)
		}
		result, warnings, infos, err = papi.QueryRange(ctx, pos[0], v1.Range{Start: s, End: e, Step: step})
		if err != nil {
			return queryErr(err)
		}
	case "series":
		if len(pos) > 0 {
			matches = append(matches, pos...)
		}
		if len(matches) == 0 {
			return fmt.Errorf("%w: argus query series --match SELECTOR [--match ...]", errUsage)
		}
		s, e, err := seriesRange(start, end, now)
		if err != nil {
			return err
		}
		result, warnings, infos, err = papi.Series(ctx, matches, s, e)
		if err != nil {
			return queryErr(err)
		}
	case "labels":
		if len(pos) > 1 {
			return fmt.Errorf("%w: argus query labels [flags] [LABEL_NAME]", errUsage)
		}
		s, e, err := seriesRange(start, end, now)
		if err != nil {
			return err
		}
		if len(pos) == 1 {
			result, warnings, infos, err = papi.LabelValues(ctx, pos[0], matches, s, e)
		} else {
			result, warnings, infos, err = papi.LabelNames(ctx, matches, s, e)
		}
		if err != nil {
			return queryErr(err)
		}
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	for _, i := range infos {
		fmt.Fprintln(stderr, "info:", i)
	}
	return printResult(stdout, qf.output, result)
}

// queryErr words an API error with its Prometheus error type, e.g.
// "query failed: bad_data: 1:5: parse error: ...".
func queryErr(err error) error {
	var ae *v1.Error
	if errors.As(err, &ae) {
		// The client does not read the body of a 401 or 403; say what
		// they mean here.
		switch {
		case ae.Type == v1.ErrClient && strings.HasSuffix(ae.Msg, " 401"):
			return errors.New("query failed: authentication required (401): give credentials with --http.config.file (basic_auth, or authorization with an API token)")
		case ae.Type == v1.ErrClient && strings.HasSuffix(ae.Msg, " 403"):
			return errors.New("query failed: permission denied (403): the credentials' role may not do this")
		}
		return fmt.Errorf("query failed: %s: %s", ae.Type, ae.Msg)
	}
	return fmt.Errorf("query failed: %w", err)
}

// seriesRange parses the optional --start and --end of series and labels;
// unset means the server's default (all time).
func seriesRange(start, end string, now time.Time) (time.Time, time.Time, error) {
	var s, e time.Time
	var err error
	if start != "" {
		if s, err = parseTimeFlag("start", start, time.Time{}, now); err != nil {
			return s, e, err
		}
	}
	if end != "" {
		if e, err = parseTimeFlag("end", end, time.Time{}, now); err != nil {
			return s, e, err
		}
	}
	return s, e, nil
}

// parseTimeFlag reads RFC3339 or Unix seconds (with a fraction); "" gives def
// and "now" the command's start time (one instant for every flag).
func parseTimeFlag(name, v string, def, now time.Time) (time.Time, error) {
	switch v {
	case "":
		return def, nil
	case "now":
		return now, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%w: --%s %q is neither RFC3339 nor Unix seconds", errUsage, name, v)
}

// printResult writes a result in the format promtool uses for text (the
// Prometheus client's String forms) or as JSON.
func printResult(w io.Writer, format string, result any) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		return enc.Encode(result)
	}
	switch r := result.(type) {
	case model.Value:
		s := r.String()
		if s == "" {
			return nil
		}
		_, err := fmt.Fprintln(w, s)
		return err
	case []model.LabelSet:
		for _, ls := range r {
			if _, err := fmt.Fprintln(w, ls); err != nil {
				return err
			}
		}
	case model.LabelNames:
		for _, s := range r {
			if _, err := fmt.Fprintln(w, s); err != nil {
				return err
			}
		}
	case model.LabelValues:
		for _, s := range r {
			if _, err := fmt.Fprintln(w, s); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unexpected result type %T", result)
	}
	return nil
}
