package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// nodeExporterBinary is where Debian's prometheus-node-exporter package
// (node_exporter 1.5) installs node_exporter, the reference these tests
// compare against.
const nodeExporterBinary = "/usr/bin/prometheus-node-exporter"

// allowance documents one accepted difference between node_exporter and
// argus. Keys of the maps below are difference keys (see diffFamilies) where
// '*' matches any text.
type allowance struct {
	// always is set when the difference shows on every Linux machine; the
	// test then fails if it does not, so the list cannot go stale.
	always bool
	reason string
}

// unimplementedCollector returns the two allowances of a node_exporter
// default collector argus does not implement: its scrape series, present on
// every machine, and its metric families, present only with the hardware
// or kernel feature.
func unimplementedCollector(m map[string]allowance, name, families, reason string) {
	m[`-node_scrape_collector_*{collector="`+name+`"}`] = allowance{true, reason}
	for f := range strings.SplitSeq(families, " ") {
		m["-"+f] = allowance{false, reason}
	}
}

// allowedDifferences lists every accepted difference between a default
// node_exporter 1.5 (with upstream's default filters, see
// nodeExporterArgs) and New(Options{}) on the same machine. The same list,
// with the same reasons, is in docs/node-collector.md.
var allowedDifferences = func() map[string]allowance {
	m := map[string]allowance{
		"-go_*": {true, "Go runtime metrics of the node_exporter process. argus's own Go runtime " +
			"and process metrics come from its self-monitoring registry, not from this package."},
		"-process_*": {true, "Process metrics of the node_exporter process; see go_*."},
		"-promhttp_*": {true, "Metrics of node_exporter's own /metrics HTTP handler; " +
			"argus has no separate exporter endpoint."},
		"-node_exporter_build_info": {true, "argus is not node_exporter: a node_exporter " +
			"version label would be false."},
		"-node_selinux_config_mode": {false, "Only on SELinux hosts; its values could not be " +
			"checked against node_exporter on a test machine, so argus reports only " +
			"node_selinux_enabled."},
		"-node_selinux_current_mode": {false, "See node_selinux_config_mode."},
	}
	const textfile = "The textfile collector (metrics from *.prom files) is out of scope: " +
		"argus scrapes such metrics through its own configuration."
	unimplementedCollector(m, "textfile", "node_textfile_*", textfile)
	// node_textfile_scrape_error is there even without a directory.
	m["-node_textfile_*"] = allowance{true, textfile}
	for _, c := range [...]struct{ name, families, reason string }{
		{"bcache", "node_bcache_*", "bcache SSD caching is rare on servers argus targets."},
		{"bonding", "node_bonding_*", "Not yet implemented: bonded interfaces (/sys/class/net/bonding_masters)."},
		{"btrfs", "node_btrfs_*", "Not yet implemented: btrfs allocation statistics."},
		{"cpufreq", "node_cpu_frequency_* node_cpu_scaling_*", "Not yet implemented: CPU frequency scaling " +
			"(absent in most virtual machines)."},
		{"dmi", "node_dmi_info", "Not yet implemented: DMI/SMBIOS hardware identity."},
		{"fibrechannel", "node_fibrechannel_*", "Fibre Channel HBAs are out of scope."},
		{"hwmon", "node_hwmon_*", "Not yet implemented: hardware sensors; absent on the virtual test " +
			"machines, so names and labels could not be checked against node_exporter."},
		{"infiniband", "node_infiniband_*", "InfiniBand is out of scope."},
		{"ipvs", "node_ipvs_*", "Not yet implemented: IPVS load balancer statistics."},
		{"mdadm", "node_md_*", "Not yet implemented: Linux software RAID (/proc/mdstat)."},
		{"nfs", "node_nfs_*", "Not yet implemented: NFS client statistics."},
		{"nfsd", "node_nfsd_*", "Not yet implemented: NFS server statistics."},
		{"nvme", "node_nvme_*", "Not yet implemented: NVMe controller info."},
		{"powersupplyclass", "node_power_supply_*", "Power supplies and batteries are rare on servers."},
		{"rapl", "node_rapl_*", "Not yet implemented: Intel RAPL energy counters."},
		{"schedstat", "node_schedstat_*", "Not yet implemented: scheduler statistics (/proc/schedstat)."},
		{"tapestats", "node_tape_*", "Tape drives are out of scope."},
		{"xfs", "node_xfs_*", "Not yet implemented: XFS statistics."},
		{"zfs", "node_zfs_*", "Not yet implemented: ZFS statistics."},
	} {
		unimplementedCollector(m, c.name, c.families, c.reason)
	}
	return m
}()

// nodeExporterArgs starts node_exporter with upstream 1.5's default filters,
// which argus uses. Debian patches some defaults (it also hides /run, /mnt,
// /media and the lo interface) and enables the systemd collector, which
// upstream leaves off.
func nodeExporterArgs(listen string) []string {
	return []string{
		"--web.listen-address=" + listen,
		"--collector.filesystem.mount-points-exclude=" + DefaultFilesystemMountPointsExclude,
		"--collector.filesystem.fs-types-exclude=" + DefaultFilesystemFSTypesExclude,
		"--collector.diskstats.device-exclude=" + DefaultDiskstatsDeviceExclude,
		"--collector.netdev.device-exclude=",
		"--collector.netstat.fields=" + DefaultNetstatFields,
		"--collector.vmstat.fields=" + DefaultVmstatFields,
		"--no-collector.systemd",
	}
}

// TestMatchesNodeExporter compares argus with the real node_exporter on this
// machine: the same metric families, HELP texts, types, and the same series
// (label names and values); the only accepted differences are
// allowedDifferences.
func TestMatchesNodeExporter(t *testing.T) {
	requireNodeExporter(t)
	url := startNodeExporter(t, nil)
	c := New(Options{})
	var diffs []difference
	// Devices, ARP entries and mounts can change between the two scrapes;
	// a difference that persists over three attempts is real.
	for attempt := range 3 {
		theirs := scrapeNodeExporter(t, url)
		ours := reduceFamilies(gather(t, c))
		diffs = diffFamilies(theirs, ours, func(name string) bool {
			return name == "node_scrape_collector_success"
		})
		unexpected, _ := checkAllowed(diffs, allowedDifferences)
		if len(unexpected) == 0 {
			break
		}
		t.Logf("attempt %d: %d unexpected differences", attempt+1, len(unexpected))
		time.Sleep(500 * time.Millisecond)
	}
	reportDifferences(t, diffs, allowedDifferences, true)
}

// fixtureIgnoredValues are families whose values come from the test host or
// the clock, not from the fixture files; their series are still compared.
var fixtureIgnoredValues = map[string]bool{
	"node_scrape_collector_duration_seconds": true,
	"node_time_seconds":                      true,
	// statfs of the fixture's mount points measures the test machine's
	// disk, which changes between the two scrapes.
	"node_filesystem_size_bytes":  true,
	"node_filesystem_free_bytes":  true,
	"node_filesystem_avail_bytes": true,
	"node_filesystem_files":       true,
	"node_filesystem_files_free":  true,
}

// TestFixtureMatchesNodeExporter runs node_exporter on testdata/fixture and
// requires the same output as argus's, values included. Since
// TestFixtureGolden pins argus's output for the fixture, this also
// validates the golden file.
func TestFixtureMatchesNodeExporter(t *testing.T) {
	requireNodeExporter(t)
	opts := fixtureOptions(t)
	url := startNodeExporter(t, []string{
		"--path.procfs=" + opts.ProcPath,
		"--path.sysfs=" + opts.SysPath,
		"--path.rootfs=" + opts.RootfsPath,
		"--path.udev.data=" + opts.UdevDataPath,
		// Netlink would read the host's interfaces, not the fixture's.
		"--no-collector.netdev.netlink",
	})
	theirs := scrapeNodeExporter(t, url)
	ours := reduceFamilies(gather(t, New(opts)))
	diffs := diffFamilies(theirs, ours, func(name string) bool {
		return !fixtureIgnoredValues[name] && !strings.HasPrefix(name, "node_timex_")
	})
	allowed := maps.Clone(allowedDifferences)
	allowed["+node_network_receive_nohandler_total"] = allowance{true, "node_exporter reads this counter " +
		"over netlink, which --no-collector.netdev.netlink turns off; argus reads it from sysfs."}
	reportDifferences(t, diffs, allowed, true)
}

func requireNodeExporter(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(nodeExporterBinary); err != nil {
		t.Fatalf("%s is needed as the reference implementation: install Debian's "+
			"prometheus-node-exporter package (apt-get install prometheus-node-exporter): %v",
			nodeExporterBinary, err)
	}
}

// startNodeExporter runs node_exporter on a free loopback port until the
// test ends and returns its /metrics URL.
func startNodeExporter(t *testing.T, extraArgs []string) string {
	t.Helper()
	var lastErr error
	// The port is free when picked but could be taken before node_exporter
	// binds it; try a few.
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, nodeExporterBinary, append(nodeExporterArgs(addr), extraArgs...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatalf("start %s: %v", nodeExporterBinary, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		url := "http://" + addr + "/metrics"
		if lastErr = waitReady(url, exited); lastErr == nil {
			t.Cleanup(func() {
				cancel()
				<-exited
			})
			return url
		}
		cancel()
		<-exited
		lastErr = fmt.Errorf("%w; stderr:\n%s", lastErr, stderr.String())
	}
	t.Fatalf("node_exporter did not start: %v", lastErr)
	return ""
}

func waitReady(url string, exited <-chan error) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("node_exporter exited: %v", err)
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("timed out waiting for node_exporter")
}

// scrapeNodeExporter fetches and parses node_exporter's output.
func scrapeNodeExporter(t *testing.T, url string) map[string]family {
	t.Helper()
	client := http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse node_exporter output: %v", err)
	}
	return reduceFamilies(slices.Collect(maps.Values(mfs)))
}

// family is a metric family reduced to what compatibility depends on.
type family struct {
	help, typ string
	series    map[string]float64 // by label set, rendered `{a="1",b="2"}`
}

func reduceFamilies(mfs []*dto.MetricFamily) map[string]family {
	out := make(map[string]family, len(mfs))
	for _, mf := range mfs {
		f := family{help: mf.GetHelp(), typ: mf.GetType().String(), series: map[string]float64{}}
		for _, m := range mf.GetMetric() {
			var v float64
			switch {
			case m.Counter != nil:
				v = m.GetCounter().GetValue()
			case m.Gauge != nil:
				v = m.GetGauge().GetValue()
			case m.Untyped != nil:
				v = m.GetUntyped().GetValue()
			}
			f.series[labelString(m.GetLabel())] = v
		}
		out[mf.GetName()] = f
	}
	return out
}

func labelString(pairs []*dto.LabelPair) string {
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = fmt.Sprintf("%s=%q", p.GetName(), p.GetValue())
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// difference is one way argus's output differs from node_exporter's. Keys:
//
//	-name / +name                 family only in node_exporter / only in argus
//	-name{labels} / +name{labels} series only in node_exporter / only in argus
//	help name, type name          HELP text or type differ
//	value name{labels}            value differs (where values are compared)
type difference struct {
	key, detail string
}

func diffFamilies(theirs, ours map[string]family, compareValues func(name string) bool) []difference {
	var diffs []difference
	for _, name := range slices.Sorted(maps.Keys(theirs)) {
		t := theirs[name]
		o, ok := ours[name]
		if !ok {
			diffs = append(diffs, difference{key: "-" + name})
			continue
		}
		if t.help != o.help {
			diffs = append(diffs, difference{"help " + name, fmt.Sprintf("node_exporter %q, argus %q", t.help, o.help)})
		}
		if t.typ != o.typ {
			diffs = append(diffs, difference{"type " + name, fmt.Sprintf("node_exporter %s, argus %s", t.typ, o.typ)})
		}
		for _, labels := range slices.Sorted(maps.Keys(t.series)) {
			ov, ok := o.series[labels]
			switch {
			case !ok:
				diffs = append(diffs, difference{key: "-" + name + labels})
			case compareValues(name) && ov != t.series[labels]:
				diffs = append(diffs, difference{"value " + name + labels,
					fmt.Sprintf("node_exporter %v, argus %v", t.series[labels], ov)})
			}
		}
		for _, labels := range slices.Sorted(maps.Keys(o.series)) {
			if _, ok := t.series[labels]; !ok {
				diffs = append(diffs, difference{key: "+" + name + labels})
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(ours)) {
		if _, ok := theirs[name]; !ok {
			diffs = append(diffs, difference{key: "+" + name})
		}
	}
	return diffs
}

// checkAllowed splits diffs into unexpected ones and returns which allowance
// patterns matched.
func checkAllowed(diffs []difference, allowed map[string]allowance) (unexpected []difference, used map[string]bool) {
	used = map[string]bool{}
	for _, d := range diffs {
		matched := false
		for pattern := range allowed {
			if globMatch(pattern, d.key) {
				used[pattern] = true
				matched = true
			}
		}
		if !matched {
			unexpected = append(unexpected, d)
		}
	}
	return unexpected, used
}

// reportDifferences fails the test for every unexpected difference and, if
// requireAlways, for every "always" allowance that did not occur.
func reportDifferences(t *testing.T, diffs []difference, allowed map[string]allowance, requireAlways bool) {
	t.Helper()
	unexpected, used := checkAllowed(diffs, allowed)
	for _, d := range unexpected {
		t.Errorf("unexpected difference %s %s", d.key, d.detail)
	}
	for _, pattern := range slices.Sorted(maps.Keys(allowed)) {
		if requireAlways && allowed[pattern].always && !used[pattern] {
			t.Errorf("allowed difference %s no longer occurs: remove it here and from docs/node-collector.md", pattern)
		}
	}
	t.Logf("%d differences, %d unexpected", len(diffs), len(unexpected))
	if testing.Verbose() {
		for _, d := range diffs {
			t.Logf("difference %s %s", d.key, d.detail)
		}
	}
}

// globMatch reports whether s matches pattern, where '*' matches any run
// of characters (including '/', '{' and '"', unlike path.Match).
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// TestDifferencesDocumented requires every allowed difference to appear,
// in backquotes, in docs/node-collector.md.
func TestDifferencesDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "node-collector.md"))
	if err != nil {
		t.Fatal(err)
	}
	for pattern := range allowedDifferences {
		if !strings.Contains(string(doc), "`"+pattern+"`") {
			t.Errorf("docs/node-collector.md does not list `%s`", pattern)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	f := func(pattern, s string, want bool) {
		t.Helper()
		if got := globMatch(pattern, s); got != want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", pattern, s, got, want)
		}
	}
	f("-go_*", "-go_goroutines", true)
	f("-go_*", "+go_goroutines", false)
	f(`-node_scrape_collector_*{collector="nfs"}`, `-node_scrape_collector_success{collector="nfs"}`, true)
	f(`-node_scrape_collector_*{collector="nfs"}`, `-node_scrape_collector_success{collector="nfsd"}`, false)
	f("-node_dmi_info", "-node_dmi_info", true)
	f("-node_dmi_info", "-node_dmi_info_x", false)
	f("a*b*c", "abc", true)
	f("a*b*c", "ac", false)
}
