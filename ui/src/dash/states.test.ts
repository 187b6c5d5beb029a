import { describe, expect, it } from 'vitest';
import type { Panel } from './model';
import type { Series } from './reduce';
import { schemeColor, stateLanes, stateLegend } from './states';

const s = (name: string, values: (number | null)[], t0 = 1000, step = 60): Series => ({
  name, labels: {}, refId: 'A', times: values.map((_, i) => t0 + i * step), values,
});

// The mappings of KEDA's "Changes in replicas" panel: an exact value
// before two ranges that both include it.
const keda: Panel = {
  type: 'state-timeline',
  fieldConfig: { defaults: {
    color: { mode: 'continuous-GrYlRd' },
    mappings: [
      { type: 'value', options: { 0: { color: 'green', index: 0, text: 'No scaling' } } },
      { type: 'range', options: { from: -200, to: 0, result: { color: 'light-red', index: 1, text: 'Scaling down' } } },
      { type: 'range', options: { from: 0, to: 200, result: { color: 'semi-dark-red', index: 2, text: 'Scaling up' } } },
    ],
    thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }] },
  } },
  options: { mergeValues: true },
};

const brief = (p: Panel, series: Series[], from = 1000, to = 1600) =>
  stateLanes(p, series, from, to).map((l) => l.segments.map((x) => [x.start, x.end, x.text, x.color]));

describe('state timeline', () => {
  it('maps values to states and merges equal neighbours', () => {
    expect(brief(keda, [s('.', [0, 0, 2, 1, -1, 0])])).toEqual([[
      [1000, 1120, 'No scaling', '#73bf69'],
      [1120, 1240, 'Scaling up', '#e02f44'],
      [1240, 1300, 'Scaling down', '#ff7383'],
      [1300, 1360, 'No scaling', '#73bf69'],
    ]]);
  });

  it('keeps equal neighbours apart without mergeValues', () => {
    expect(brief({ ...keda, options: { mergeValues: false } }, [s('.', [0, 0])])).toEqual([[
      [1000, 1060, 'No scaling', '#73bf69'], [1060, 1120, 'No scaling', '#73bf69'],
    ]]);
  });

  it('leaves nulls and missing samples as gaps, and clips to the range', () => {
    const gappy: Series = { name: 'x', labels: {}, refId: 'A', times: [900, 960, 1020, 1260, 1320], values: [0, 0, null, 0, 0] };
    expect(brief(keda, [gappy])).toEqual([[[1000, 1020, 'No scaling', '#73bf69'], [1260, 1380, 'No scaling', '#73bf69']]]);
    expect(brief(keda, [s('.', [0, 0, 0])], 1000, 1090)).toEqual([[[1000, 1090, 'No scaling', '#73bf69']]]);
  });

  it('colors unmapped values by thresholds, or along a continuous scheme', () => {
    const thr: Panel = { type: 'state-timeline', fieldConfig: { defaults: { unit: 'percent', thresholds: { steps: [{ value: null, color: 'green' }, { value: 80, color: 'red' }] } } } };
    expect(brief(thr, [s('cpu', [50, 90])])).toEqual([[[1000, 1060, '50%', '#73bf69'], [1060, 1120, '90%', '#f2495c']]]);
    const cont: Panel = { type: 'state-timeline', fieldConfig: { defaults: { color: { mode: 'continuous-GrYlRd' }, min: 0, max: 10 } } };
    expect(brief(cont, [s('a', [0, 5, 10])]).flat().map((x) => x[3])).toEqual(['#73bf69', '#fade2a', '#f2495c']);
    expect(schemeColor(['#000000', '#ffffff'], 0.5)).toBe('#808080');
  });

  it('has one lane per series and a legend of the mapped states', () => {
    const lanes = stateLanes(keda, [s('a', [0, 3]), s('b', [3, 5])], 1000, 1600);
    expect(lanes.map((l) => l.name)).toEqual(['a', 'b']);
    expect(stateLegend(lanes)).toEqual([{ text: 'No scaling', color: '#73bf69' }, { text: 'Scaling up', color: '#e02f44' }]);
    const plain: Panel = { type: 'state-timeline' };
    expect(stateLegend(stateLanes(plain, [s('a', [1, 2])], 1000, 1600))).toEqual([]);
  });
});
