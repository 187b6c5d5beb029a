import { describe, expect, it } from 'vitest';
import { dataLinks, interpolateLink, panelLinks, valueText, type LinkScope } from './links';

const from = Date.UTC(2026, 2, 28, 22, 0, 0);
const to = Date.UTC(2026, 2, 29, 4, 0, 0);
const base: LinkScope = {
  vars: {
    job: { values: ['node exporter'] },
    inst: { values: ['a:9100', 'b:9100'], multi: true },
    env: { values: ['x', 'y'], all: true, includeAll: true },
  },
  range: { from, to, raw: { from: 'now-6h', to: 'now' } },
  timezone: 'Europe/Berlin',
};
const point: LinkScope = {
  ...base,
  data: {
    series: 'up{instance="a b"}', field: 'Value', labels: { instance: 'a b&c', job: 'node' },
    value: { raw: 1536, shown: '1.5 KiB', text: '1.5', time: 1774735200000 },
  },
};

describe('data link interpolation', () => {
  const f = (u: string, s = point) => interpolateLink(u, s, 'uriencode');
  it('fills the field, series and value variables in', () => {
    expect(f('${__field.name} ${__field.labels.job} ${__value.raw} ${__value.numeric} ${__value.time}')).toBe('Value node 1536 1536 1774735200000');
    expect(f('t=${__value.text}&s=${__value}')).toBe('t=1.5&s=1.5%20KiB');
    expect(f('${__field.labels.missing}|')).toBe('|');
    expect(f('${__field.labels.__values}')).toBe('a%20b&c,%20node');
  });
  it("URL-encodes values as Grafana's uriencode does: URI syntax characters stay", () => {
    // encodeURI: the space is encoded, & and = are not; { } " are.
    expect(f('/d/x?i=${__field.labels.instance}')).toBe('/d/x?i=a%20b&c');
    expect(f('s=${__series.name}')).toBe('s=up%7Binstance=%22a%20b%22%7D');
    // RFC 3986's sub-delimiters are encoded too.
    expect(interpolateLink("${v}", { ...base, vars: { v: { values: ["it's (ok)!*"] } } }, 'uriencode')).toBe('it%27s%20%28ok%29%21%2A');
    // An explicit format wins.
    expect(f('i=${__field.labels.instance:percentencode}')).toBe('i=a%20b%26c');
    expect(f('i=${__field.labels.instance:raw}')).toBe('i=a b&c');
  });
  it('fills dashboard variables in with the format', () => {
    expect(f('/d/x?var-job=$job')).toBe('/d/x?var-job=node%20exporter');
    expect(f('$inst')).toBe('%7Ba:9100,b:9100%7D');
    expect(f('${inst:queryparam}')).toBe('var-inst=a%3A9100&var-inst=b%3A9100');
    expect(f('${inst:pipe}')).toBe('a:9100|b:9100');
    expect(f('[[job]]')).toBe('node%20exporter');
  });
  it('fills the time range in', () => {
    expect(f('/d/x?${__url_time_range}')).toBe('/d/x?from=now-6h&to=now');
    const abs = { ...point, range: { from, to, raw: { from: String(from), to: String(to) } } };
    expect(f('${__url_time_range}', abs)).toBe(`from=${from}&to=${to}`);
    expect(f('$__from-$__to')).toBe(`${from}-${to}`);
    expect(f('${__from:date:seconds}')).toBe(String(from / 1000));
    expect(f('${__from:date}')).toBe('2026-03-28T22:00:00.000Z');
    // A custom date format is written in the dashboard's time zone: the
    // range starts before and ends after the change to summer time.
    // An explicit format is the only one: the space is not encoded.
    expect(f('${__from:date:YYYY-MM-DD HH:mm}')).toBe('2026-03-28 23:00');
    expect(f('${__to:date:YYYY-MM-DDTHH:mm:ssZ}')).toBe('2026-03-29T06:00:00+02:00');
  });
  it('writes every variable for ${__all_variables}, All as $__all', () => {
    expect(f('/d/x?${__all_variables}')).toBe('/d/x?var-job=node+exporter&var-inst=a%3A9100&var-inst=b%3A9100&var-env=%24__all');
  });
  it('leaves unknown variables and data variables without data as they are', () => {
    expect(f('$nope ${nope:raw}')).toBe('$nope ${nope:raw}');
    expect(interpolateLink('${__value.raw} ${__field.labels.job}', base, 'uriencode')).toBe('${__value.raw} ${__field.labels.job}');
  });
  it('gives a table row\'s cells to ${__data.fields}', () => {
    const row = { ...point, data: { ...point.data!, row: { instance: 'a', 'Value #A': '3' } } };
    expect(f('${__data.fields.instance}/${__data.fields["Value #A"]}', row)).toBe('a/3');
  });
});

describe('links', () => {
  it('builds data links: URL encoded, title as is, target, unsafe URLs dropped', () => {
    const l = dataLinks([
      { title: 'Details of ${__field.labels.instance}', url: 'https://example.org/i/${__field.labels.instance}?${__url_time_range}', targetBlank: true },
      { title: 'bad', url: 'javascript:alert(${__value.raw})' },
      { title: 'no url' },
    ], point);
    expect(l).toEqual([{ title: 'Details of a b&c', href: 'https://example.org/i/a%20b&c?from=now-6h&to=now', blank: true }]);
  });
  it("builds panel links without encoding, multi-values as Grafana's glob", () => {
    expect(panelLinks([{ url: '/d/other?var-inst=$inst&var-job=${job}&${__url_time_range}' }], base)).toEqual([
      { title: '/d/other?var-inst={a:9100,b:9100}&var-job=node exporter&from=now-6h&to=now', href: '/d/other?var-inst={a:9100,b:9100}&var-job=node exporter&from=now-6h&to=now', blank: false },
    ]);
  });
  it('takes the unit off ${__value.text}', () => {
    expect(valueText('1.5 KiB')).toBe('1.5');
    expect(valueText('42%')).toBe('42');
    expect(valueText('$3.2')).toBe('3.2');
    expect(valueText('-1.2e-7 s')).toBe('-1.2e-7');
  });
});
