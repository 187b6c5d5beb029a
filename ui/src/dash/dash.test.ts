import { describe, expect, it } from 'vitest';
import { calcInterval, describeRange, parseTime, rateInterval, resolveRange, roundInterval } from './time';
import { emptyVars, escapeRegex, interpolate, legend, usedVars } from './interpolate';
import { formatUnit } from './units';
import { ALL, initialSelection, toVars } from './variables';
import type { Variable } from './model';

const now = Date.UTC(2026, 0, 15, 13, 45, 30);

describe('Grafana time', () => {
  it('parses relative times with rounding', () => {
    expect(parseTime('now', now)).toBe(now);
    expect(parseTime('now-6h', now)).toBe(now - 6 * 3600000);
    expect(parseTime('now/d', now)).toBe(Date.UTC(2026, 0, 15));
    expect(parseTime('now/d', now, true)).toBe(Date.UTC(2026, 0, 16) - 1);
    expect(parseTime('now-1d/d', now)).toBe(Date.UTC(2026, 0, 14));
    expect(parseTime('1700000000000', now)).toBe(1700000000000);
    expect(parseTime('2026-01-01T00:00:00Z', now)).toBe(Date.UTC(2026, 0, 1));
    expect(parseTime('now-x', now)).toBeNull();
  });
  it('resolves and describes ranges', () => {
    expect(resolveRange('now-1h', 'now', now)).toEqual({ from: now - 3600000, to: now, raw: { from: 'now-1h', to: 'now' } });
    expect(resolveRange('now', 'now-1h', now)).toBeNull();
    expect(describeRange('now-6h', 'now')).toBe('Last 6 hours');
    expect(describeRange('now-1d', 'now')).toBe('Last 1 day');
  });
  it('computes $__interval and $__rate_interval', () => {
    const r = resolveRange('now-24h', 'now', now)!;
    expect(roundInterval(86400000 / 1000)).toBe(60000);
    expect(calcInterval(r, 1000)).toBe(60000);
    expect(calcInterval(resolveRange('now-5m', 'now', now)!, 1000)).toBe(200);
    expect(calcInterval(resolveRange('now-5m', 'now', now)!, 1000, '15s')).toBe(15000);
    expect(calcInterval(resolveRange('now-5m', 'now', now)!, 1000, '>30s')).toBe(30000);
    expect(rateInterval(15000, 15000)).toBe(60000);
    expect(rateInterval(120000, 15000)).toBe(135000);
  });
});

describe('variables', () => {
  const vars = {
    job: { values: ['node'] },
    host: { values: ['10.0.0.1:9100'] },
    inst: { values: ['a:9100', 'b.x:9100'], multi: true },
    one: { values: ['b.x:9100'], multi: true },
    all: { values: ['x', 'y'], all: true, allValue: '.*', includeAll: true },
    allNoCustom: { values: ['x', 'y'], all: true, includeAll: true },
  };
  it("writes values into PromQL as Grafana's Prometheus data source does", () => {
    // A plain variable goes in as it is: the dots of an address must not
    // become escapes, which a PromQL string would refuse.
    expect(interpolate('up{job="$job", instance="$host"}', vars)).toBe('up{job="node", instance="10.0.0.1:9100"}');
    // Multi-value: a regex alternation, escaped for inside a string literal.
    expect(interpolate('up{instance=~"$inst"}', vars)).toBe('up{instance=~"(a:9100|b\\\\.x:9100)"}');
    expect(interpolate('up{instance=~"$one"}', vars)).toBe('up{instance=~"b\\\\.x:9100"}');
    expect(interpolate("x{a='$q'}", { q: { values: ["it's"] } })).toBe("x{a='it\\'s'}");
  });
  it('formats single and multi values', () => {
    expect(interpolate('up{instance=~"${inst:pipe}"}', vars)).toBe('up{instance=~"a:9100|b.x:9100"}');
    expect(interpolate('[[inst:csv]]', vars)).toBe('a:9100,b.x:9100');
    expect(interpolate('${inst:json}', vars)).toBe('["a:9100","b.x:9100"]');
    expect(interpolate('${job:raw} ${inst:raw}', vars)).toBe('node a:9100,b.x:9100');
    expect(interpolate('${inst:doublequote}', vars)).toBe('"a:9100","b.x:9100"');
    expect(interpolate('$all', vars)).toBe('.*');
    expect(interpolate('$allNoCustom', vars)).toBe('(x|y)');
  });
  it('leaves unknown variables and PromQL alone', () => {
    expect(interpolate('rate(x[$__rate_interval]) $unknown', vars)).toBe('rate(x[$__rate_interval]) $unknown');
    expect(escapeRegex('a.b|c(d)')).toBe('a\\.b\\|c\\(d\\)');
  });
  it('finds the variables a query uses', () => {
    expect(usedVars('up{job="$job", instance=~"${inst:regex}"} [[x]]').sort()).toEqual(['inst', 'job', 'x']);
    // Variables with no value (no options), but not one whose All has a
    // custom value, nor unknown names.
    const vars = { ns: { values: [''] }, job: { values: ['node'] }, any: { values: [''], all: true, allValue: '.*' }, none: { values: [''], all: true, includeAll: true } };
    expect(emptyVars(['up{namespace="$ns", job="$job", a=~"$any"}', 'x{b=~"${none}", c="$unknown"}'], vars)).toEqual(['ns', 'none']);
  });
  it('starts on the saved value if there is such an option, else on the first option, All where there is one', () => {
    const opts = [{ text: 'a', value: 'a' }, { text: 'b', value: 'b' }];
    const q = (extra: Partial<Variable>): Variable => ({ name: 'ns', type: 'query', query: 'label_values(ns)', ...extra });
    expect(initialSelection(q({ current: { text: 'b', value: 'b' } }), opts, undefined)).toEqual(['b']);
    expect(initialSelection(q({ current: { text: 'b', value: 'b' } }), opts, ['a'])).toEqual(['a']);
    expect(initialSelection(q({ current: { text: 'gone', value: 'gone' } }), opts, undefined)).toEqual(['a']);
    expect(initialSelection(q({ current: {} }), [], undefined)).toEqual([]);
    // Grafana's All is the first option, of multi-value variables too, and
    // of variables whose query found nothing (Cilium's Hubble dashboards:
    // current {}, multi, includeAll, allValue .*).
    for (const extra of [{}, { multi: true }, { current: {} }, { current: { text: 'gone', value: ['gone'] } }]) {
      expect(initialSelection(q({ includeAll: true, ...extra }), opts, undefined)).toEqual([ALL]);
    }
    const none = q({ includeAll: true, multi: true, allValue: '.*', current: {} });
    const sel = initialSelection(none, [], undefined);
    expect(sel).toEqual([ALL]);
    expect(interpolate('x{ns=~"$ns"}', toVars([{ def: none, options: [], selected: sel }]))).toBe('x{ns=~".*"}');
  });
  it('renders legend formats', () => {
    expect(legend('{{instance}} - {{ mode }}', { instance: 'a', mode: 'idle' }, 'f')).toBe('a - idle');
    expect(legend('', { a: '1' }, 'fallback')).toBe('fallback');
    expect(legend('{{missing}}x', {}, 'f')).toBe('x');
  });
});

describe('units', () => {
  it('formats the common units', () => {
    expect(formatUnit(1536, 'bytes')).toBe('1.5 KiB');
    expect(formatUnit(1500, 'decbytes')).toBe('1.5 kB');
    expect(formatUnit(0.25, 'percentunit')).toBe('25%');
    expect(formatUnit(42.123, 'percent', 1)).toBe('42.1%');
    expect(formatUnit(0.0021, 's')).toBe('2.1 ms');
    expect(formatUnit(90, 's')).toBe('1.5 min');
    expect(formatUnit(250, 'ms')).toBe('250 ms');
    expect(formatUnit(1234567, 'short')).toBe('1.23 M');
    expect(formatUnit(12, 'reqps')).toBe('12 req/s');
    expect(formatUnit(2e9, 'bps')).toBe('2 Gbps');
    expect(formatUnit(NaN, 'short')).toBe('NaN');
    expect(formatUnit(null, 'short')).toBe('');
    expect(formatUnit(5, 'suffix: apples')).toBe('5 apples');
  });
});

import { markdownToHTML } from './markdown';
import { calcName, mapValue, reduce, thresholdColor } from './reduce';

describe('markdown', () => {
  it('renders the common forms and escapes raw HTML', () => {
    expect(markdownToHTML('# Title\n\nSome **bold** and `code`.\n\n- a\n- b')).toBe('<h1>Title</h1>\n<p>Some <strong>bold</strong> and <code>code</code>.</p>\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>');
    expect(markdownToHTML('<script>alert(1)</script>')).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
    expect(markdownToHTML('[x](http://e.org)')).toBe('<p><a href="http://e.org">x</a></p>');
  });
});

describe('reductions, thresholds and mappings', () => {
  const vals = [1, null, 3, 2];
  it('reduces like Grafana calcs', () => {
    expect(reduce(vals, 'lastNotNull')).toBe(2);
    expect(reduce(vals, 'mean')).toBe(2);
    expect(reduce(vals, 'max')).toBe(3);
    expect(reduce(vals, 'sum')).toBe(6);
    expect(reduce([null], 'mean')).toBeNull();
    expect(calcName('current')).toBe('lastNotNull');
    expect(calcName('avg')).toBe('mean');
  });
  it('colors by thresholds', () => {
    const steps = [{ value: null, color: 'green' }, { value: 80, color: 'red' }];
    expect(thresholdColor(50, steps)).toBe('green');
    expect(thresholdColor(80, steps)).toBe('red');
    expect(thresholdColor(0.9, steps, 0, 1, true)).toBe('red');
  });
  it('maps values', () => {
    const m = [
      { type: 'value' as const, options: { '1': { text: 'UP', color: 'green' } } },
      { type: 'range' as const, options: { from: 10, to: 20, result: { text: 'mid' } } },
      { type: 'special' as const, options: { match: 'null', result: { text: 'N/A' } } },
    ];
    expect(mapValue(1, '1', m)).toEqual({ text: 'UP', color: 'green' });
    expect(mapValue(15, '15', m)).toEqual({ text: 'mid' });
    expect(mapValue(null, '', m)).toEqual({ text: 'N/A' });
    expect(mapValue(5, '5', m)).toBeNull();
  });
});

import { addPanel, allPanels, move, removePanel, updatePanel } from './edit';

describe('dashboard edits', () => {
  const d = { title: 't', panels: [
    { id: 1, type: 'timeseries', gridPos: { x: 0, y: 0, w: 12, h: 8 } },
    { id: 2, type: 'row', collapsed: true, gridPos: { x: 0, y: 8, w: 24, h: 1 }, panels: [{ id: 3, type: 'stat', gridPos: { x: 0, y: 9, w: 6, h: 4 } }] },
  ] };
  it('moves and resizes inside the grid without touching the original', () => {
    const m = move(d, 1, 20, -3, 0, 2);
    expect(allPanels(m).find((p) => p.id === 1)!.gridPos).toEqual({ x: 12, y: 0, w: 12, h: 10 });
    expect(d.panels[0].gridPos).toEqual({ x: 0, y: 0, w: 12, h: 8 });
  });
  it('edits and removes panels inside collapsed rows', () => {
    const u = updatePanel(d, 3, (p) => (p.title = 'x'));
    expect(allPanels(u).find((p) => p.id === 3)!.title).toBe('x');
    expect(allPanels(removePanel(d, 3)).map((p) => p.id)).toEqual([1, 2]);
  });
  it('adds a panel below the others with a fresh id', () => {
    const { d: a, id } = addPanel(d, 'up');
    expect(id).toBe(4);
    expect(allPanels(a).find((p) => p.id === 4)!.gridPos!.y).toBe(9);
  });
});

import { alignSeries } from './Panels';

describe('aligning series', () => {
  const s = (times: number[], values: (number | null)[]) => ({ name: '', labels: {}, refId: 'A', times, values });
  it('uses the step grid, with gaps', () => {
    const a = alignSeries([s([100, 120], [1, 3]), s([110, 120, 130], [2, 4, 5])]);
    expect(a.times).toEqual([100, 110, 120, 130]);
    expect(a.cols).toEqual([[1, null, 3, null], [null, 2, 4, 5]]);
  });
  it('merges times off the grid', () => {
    const a = alignSeries([s([100, 110], [1, 2]), s([105], [9])]);
    expect(a.times).toEqual([100, 105, 110]);
    expect(a.cols).toEqual([[1, null, 2], [null, 9, null]]);
  });
  it('handles no data', () => {
    expect(alignSeries([s([], [])])).toEqual({ times: [], cols: [[]] });
  });
});

import { toCSV } from '../pages/Inspector';

describe('inspector CSV', () => {
  it('writes time, series and value rows, quoting names', () => {
    const csv = toCSV([{ name: 'up{job="a,b"}', labels: {}, refId: 'A', times: [0, 60], values: [1, null] }]);
    expect(csv).toBe('time,series,value\n1970-01-01T00:00:00.000Z,"up{job=""a,b""}",1\n1970-01-01T00:01:00.000Z,"up{job=""a,b""}",\n');
  });
});

import { fromHistory, fromSeries, isBuiltIn } from './annotations';

describe('annotations', () => {
  it('turns runs of non-zero values into events', () => {
    const ev = fromSeries([{ metric: { alertname: 'Down', instance: 'a', severity: 'page' }, values: [[0, '1'], [60, '1'], [120, '0'], [180, '1'], [420, '1']] }], 60,
      { name: 'n', titleFormat: '{{alertname}}', textFormat: 'on {{instance}}', tagKeys: 'severity', iconColor: 'red' });
    expect(ev.map((e) => [e.time, e.timeEnd])).toEqual([[0, 60000], [180000, 180000], [420000, 420000]]);
    expect(ev[0]).toMatchObject({ title: 'Down', text: 'on a', tags: ['page'], color: 'red' });
  });
  it('shows alert history events as points', () => {
    const ev = fromHistory([
      { id: 1, time: '2026-01-01T00:00:00Z', kind: 'alert', alert: { state: 'firing', labels: { alertname: 'X', job: 'j' }, startsAt: '', endsAt: '' } },
      { id: 2, time: '2026-01-01T00:01:00Z', kind: 'notification' },
    ], {});
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ time: Date.UTC(2026, 0, 1), title: 'X firing', text: 'job=j' });
  });
  it('tells the built-in annotations apart', () => {
    expect(isBuiltIn({ builtIn: 1 })).toBe(true);
    expect(isBuiltIn({ datasource: { type: 'grafana', uid: '-- Grafana --' } })).toBe(true);
    expect(isBuiltIn({ datasource: { type: 'prometheus', uid: 'argus' }, expr: 'x' })).toBe(false);
  });
});
