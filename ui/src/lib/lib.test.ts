import { describe, expect, it } from 'vitest';
import { autoStep, formatDuration, parseDuration, parseTime, since } from './time';
import { seriesName, selector } from './labels';
import { formatMatchers, fromAPI, fromLabels, matchesAll, MatcherError, parseMatchers, toAPI } from './matchers';
import { addHistory, fromParams, loadHistory, resolveWindow, toParams } from './explore';
import { filterGroups, hiddenCounts } from './alerts';
import type { AlertGroup, AMAlert } from '../api';

describe('durations and times', () => {
  it('parses Prometheus durations', () => {
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('15s')).toBe(15);
    expect(parseDuration('100ms')).toBe(0.1);
    expect(parseDuration('2w')).toBe(1209600);
    expect(parseDuration('30')).toBe(30);
    expect(parseDuration('1x')).toBeNull();
    expect(parseDuration('h')).toBeNull();
    expect(parseDuration('1h 5m')).toBeNull();
    expect(parseDuration('')).toBeNull();
  });
  it('formats durations', () => {
    expect(formatDuration(5400)).toBe('1h30m');
    expect(formatDuration(0.25)).toBe('250ms');
    expect(formatDuration(90061)).toBe('1d1h1m1s');
  });
  it('parses relative and absolute times', () => {
    expect(parseTime('now', 1000)).toBe(1000);
    expect(parseTime('now-5m', 1000)).toBe(700);
    expect(parseTime('1700000000', 0)).toBe(1700000000);
    expect(parseTime('2023-11-14T22:13:20Z', 0)).toBe(1700000000);
    expect(parseTime('yesterday', 0)).toBeNull();
    expect(parseTime('now-x', 0)).toBeNull();
  });
  it('picks about 250 points per range', () => {
    expect(autoStep(3600)).toBe(14);
    expect(autoStep(60)).toBe(1);
  });
  it('says how long ago', () => {
    expect(since(940, 1000)).toBe('1m ago');
    expect(since(1010, 1000)).toBe('in 10s');
  });
});

describe('labels', () => {
  it('writes series names with sorted, quoted labels', () => {
    expect(seriesName({ __name__: 'up', job: 'a', instance: 'x"y' })).toBe('up{instance="x\\"y", job="a"}');
    expect(seriesName({ __name__: 'up' })).toBe('up');
    expect(seriesName({})).toBe('{}');
    expect(selector({ b: '2', a: '1' })).toBe('{a="1", b="2"}');
  });
});

describe('matchers', () => {
  it('parses every operator, quoted and bare', () => {
    expect(parseMatchers('{alertname="Down", severity=~"crit|page", env!=dev, x!~\'a.*\'}')).toEqual([
      { name: 'alertname', type: '=', value: 'Down' },
      { name: 'severity', type: '=~', value: 'crit|page' },
      { name: 'env', type: '!=', value: 'dev' },
      { name: 'x', type: '!~', value: 'a.*' },
    ]);
    expect(parseMatchers('')).toEqual([]);
    expect(parseMatchers('a="x\\"y"')).toEqual([{ name: 'a', type: '=', value: 'x"y' }]);
  });
  it('says what is wrong', () => {
    expect(() => parseMatchers('{a="b"')).toThrow(MatcherError);
    expect(() => parseMatchers('a~"b"')).toThrow(/expected =, !=/);
    expect(() => parseMatchers('a="b')).toThrow(/unterminated/);
    expect(() => parseMatchers('a=~"("')).toThrow(/invalid regular expression/);
    expect(() => parseMatchers('1a="b"')).toThrow(/label name at position 1/);
  });
  it('matches anchored, missing labels as empty', () => {
    const ls = { alertname: 'Down', severity: 'critical' };
    expect(matchesAll(parseMatchers('severity=~"crit"'), ls)).toBe(false);
    expect(matchesAll(parseMatchers('severity=~"crit.*"'), ls)).toBe(true);
    expect(matchesAll(parseMatchers('team=""'), ls)).toBe(true);
    expect(matchesAll(parseMatchers('alertname!="Down"'), ls)).toBe(false);
    expect(matchesAll(parseMatchers('severity=~"(?i)CRIT.*"'), ls)).toBe(true);
  });
  it('converts to and from the API shape', () => {
    for (const m of parseMatchers('a="1", b!="2", c=~"3", d!~"4"')) {
      expect(fromAPI(toAPI(m))).toEqual(m);
    }
    expect(fromAPI({ name: 'a', value: 'b', isRegex: false } as never).type).toBe('=');
    expect(formatMatchers(fromLabels({ b: '2', a: '1' }))).toBe('{a="1", b="2"}');
  });
});

describe('explore state', () => {
  it('round-trips through the URL', () => {
    const s = { expr: 'rate(x[5m])', tab: 'table' as const, range: '6h', end: '1700000000', step: '30s', stacked: true };
    expect(fromParams(toParams(s))).toEqual(s);
    expect(fromParams(new URLSearchParams('')).range).toBe('1h');
  });
  it('resolves the query window and rejects bad fields', () => {
    const s = fromParams(new URLSearchParams('expr=up&range=1h'));
    expect(resolveWindow(s, 10000)).toEqual({ start: 6400, end: 10000, step: 14 });
    expect(() => resolveWindow({ ...s, range: 'x' }, 0)).toThrow(/bad range/);
    expect(() => resolveWindow({ ...s, step: '1ms', range: '4w' }, 0)).toThrow(/too small/);
    expect(() => resolveWindow({ ...s, end: 'soon' }, 0)).toThrow(/bad end/);
  });
  it('keeps history newest first without duplicates', () => {
    const m = new Map<string, string>();
    const store = { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
    addHistory(store, 'up');
    addHistory(store, 'rate(x[1m])');
    expect(addHistory(store, 'up')).toEqual(['up', 'rate(x[1m])']);
    m.set('argus.queryHistory', 'not json');
    expect(loadHistory(store)).toEqual([]);
  });
});

function alert(fp: string, labels: Record<string, string>, silenced = false, inhibited = false): AMAlert {
  return {
    labels, annotations: {}, startsAt: `2026-01-01T00:00:0${fp}Z`, endsAt: '', updatedAt: '', fingerprint: fp, receivers: [],
    status: { state: silenced || inhibited ? 'suppressed' : 'active', silencedBy: silenced ? ['s'] : [], inhibitedBy: inhibited ? ['i'] : [] },
  };
}

describe('alert groups', () => {
  const groups: AlertGroup[] = [
    { labels: { alertname: 'B' }, receiver: { name: 'team' }, alerts: [alert('2', { alertname: 'B', sev: 'page' }), alert('1', { alertname: 'B', sev: 'info' }, true)] },
    { labels: { alertname: 'A' }, receiver: { name: 'team' }, alerts: [alert('3', { alertname: 'A' }, false, true)] },
    { labels: {}, receiver: { name: 'default' }, alerts: [alert('4', { alertname: 'C' })] },
  ];
  it('hides silenced and inhibited alerts unless asked', () => {
    const out = filterGroups(groups, { matchers: [], silenced: false, inhibited: false, receiver: '' });
    expect(out.map((g) => [g.receiver.name, g.alerts.map((a) => a.fingerprint)])).toEqual([['default', ['4']], ['team', ['2']]]);
    const all = filterGroups(groups, { matchers: [], silenced: true, inhibited: true, receiver: '' });
    expect(all.map((g) => g.alerts.map((a) => a.fingerprint))).toEqual([['4'], ['3'], ['1', '2']]);
    expect(hiddenCounts(groups)).toEqual({ silenced: 1, inhibited: 1 });
  });
  it('filters by matchers and receiver', () => {
    const out = filterGroups(groups, { matchers: parseMatchers('sev="page"'), silenced: true, inhibited: true, receiver: 'team' });
    expect(out.map((g) => g.alerts.map((a) => a.fingerprint))).toEqual([['2']]);
  });
});

import { align, formatValue, parseValue, stack } from './series';

describe('series columns', () => {
  it('aligns samples on the step grid with gaps', () => {
    const c = align([
      { metric: {}, values: [[100, '1'], [120, '3']] },
      { metric: {}, values: [[110, 'NaN'], [120, '+Inf']] },
    ], 100, 120, 10);
    expect(c.xs).toEqual([100, 110, 120]);
    expect(c.ys[0]).toEqual([1, null, 3]);
    expect(Number.isNaN(c.ys[1][1])).toBe(true);
    expect(c.ys[1][2]).toBe(Infinity);
  });
  it('stacks, leaving gaps as gaps', () => {
    expect(stack([[1, null, 2], [1, 1, 1]])).toEqual([[1, null, 2], [2, 1, 3]]);
  });
  it('formats values', () => {
    expect(formatValue(1500)).toBe('1.5k');
    expect(formatValue(0.5)).toBe('0.5');
    expect(formatValue(1e-6)).toBe('1.000e-6');
    expect(formatValue(parseValue('-Inf'))).toBe('-Inf');
    expect(formatValue(null)).toBe('');
  });
});
