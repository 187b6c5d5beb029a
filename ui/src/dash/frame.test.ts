import { describe, expect, it } from 'vitest';
import { merged, organize, tableFrame } from './frame';
import type { Series } from './reduce';

const s = (refId: string, labels: Record<string, string>, values: (number | null)[]): Series => ({
  name: labels.instance ?? refId, labels, refId, times: values.map((_, i) => 1000 + i * 60), values,
});

const a1 = s('A', { __name__: 'up', job: 'node', instance: 'a' }, [1, 2, 3]);
const a2 = s('A', { job: 'node', instance: 'b' }, [5, null, 4]);
const b1 = s('B', { job: 'node', instance: 'a' }, [10, 20]);

const titles = (f: ReturnType<typeof merged>) => f.columns.map((c) => c.title);
const cells = (f: ReturnType<typeof merged>) => f.rows.map((r) => f.columns.map((c) => r.cells[c.key]?.raw ?? null));

describe('table frames', () => {
  it('merges queries on labels, one value column per query', () => {
    const f = merged([a1, a2, b1]);
    expect(titles(f)).toEqual(['instance', 'job', 'Value #A', 'Value #B']);
    expect(cells(f)).toEqual([['a', 'node', 3, 20], ['b', 'node', 4, null]]);
    expect(titles(merged([a1]))).toEqual(['instance', 'job', 'Value']);
  });

  it('reduces series to rows, with labels as fields on demand', () => {
    const f = tableFrame([a1, a2], [{ id: 'reduce', options: { reducers: ['mean', 'max', 'lastNotNull'] } }]);
    expect(titles(f)).toEqual(['Field', 'Mean', 'Max', 'Last *']);
    expect(cells(f)).toEqual([['a', 2, 3, 3], ['b', 4.5, 5, 4]]);
    const g = tableFrame([a1], [{ id: 'reduce', options: { reducers: ['max'], labelsToFields: true } }]);
    expect(titles(g)).toEqual(['Field', 'instance', 'job', 'Max']);
  });

  it('organizes: hides, orders and renames by the shown name', () => {
    const f = organize(merged([a1, a2]), { excludeByName: { job: true }, indexByName: { Value: 0, instance: 1 }, renameByName: { Value: 'Up', instance: 'Host' } });
    expect(titles(f)).toEqual(['Up', 'Host']);
    expect(cells(f)).toEqual([[3, 'a'], [4, 'b']]);
  });

  it('applies transformations in order, skipping disabled ones', () => {
    const f = tableFrame([a1, a2], [
      { id: 'organize', options: { renameByName: { instance: 'host' } } },
      { id: 'filterFieldsByName', options: { include: { names: ['host', 'Value'] } } },
      { id: 'organize', disabled: true, options: { excludeByName: { host: true } } },
    ]);
    expect(titles(f)).toEqual(['host', 'Value']);
    const g = tableFrame([a1], [{ id: 'filterFieldsByName', options: { include: { pattern: '/^(job|Value)$/' } } }]);
    expect(titles(g)).toEqual(['job', 'Value']);
    const h = tableFrame([a1], [{ id: 'labelsToFields', options: { keepLabels: ['job'] } }]);
    expect(titles(h)).toEqual(['job', 'Value']);
  });

  it('turns series into rows of time, metric and value, newest first', () => {
    const f = tableFrame([a1, b1], [{ id: 'seriesToRows' }]);
    expect(titles(f)).toEqual(['Time', 'Metric', 'Value']);
    expect(cells(f).slice(0, 3)).toEqual([['1970-01-01 00:18:40', 'a', 3], ['1970-01-01 00:17:40', 'a', 2], ['1970-01-01 00:17:40', 'a', 20]]);
    expect(f.rows.length).toBe(5);
  });

  it('hides and renames columns by overrides, as old table styles migrate to', () => {
    const f = tableFrame([a1], undefined, undefined, [
      { matcher: { id: 'byName', options: 'job' }, properties: [{ id: 'custom.hidden', value: true }] },
      { matcher: { id: 'byRegexp', options: '^inst' }, properties: [{ id: 'displayName', value: 'Host' }] },
    ]);
    expect(titles(f)).toEqual(['Host', 'Value']);
  });

  it('keeps the old table options.excludeByName', () => {
    expect(titles(tableFrame([a1], undefined, { job: true }))).toEqual(['instance', 'Value']);
  });
});
