import { describe, expect, it } from 'vitest';
import { fixedOptions, moveVariable, nameError, newVariable, saveModel, setQuery } from './varedit';

describe('variable editing', () => {
  it('saves a custom variable as Grafana stores it', () => {
    const v = { ...newVariable('custom', 'region'), query: 'eu,us' };
    expect(JSON.stringify(saveModel(v, fixedOptions(v)!))).toBe(JSON.stringify({
      current: { selected: false, text: 'eu', value: 'eu' }, hide: 0, includeAll: false, multi: false, name: 'region',
      options: [{ selected: true, text: 'eu', value: 'eu' }, { selected: false, text: 'us', value: 'us' }],
      query: 'eu,us', queryValue: '', skipUrlSync: false, type: 'custom',
    }));
  });
  it('keeps a selection that is still there, and selects All or the first otherwise', () => {
    const v = { ...newVariable('custom', 'x'), query: 'a : 1,b : 2,c : 3', multi: true, includeAll: true, allValue: '.*' };
    const opts = fixedOptions(v)!;
    const kept = saveModel({ ...v, current: { text: ['b', 'c'], value: ['2', '3', 'gone'] } }, opts);
    expect(kept.current).toEqual({ selected: true, text: ['b', 'c'], value: ['2', '3'] });
    expect(kept.options!.map((o) => [o.value, o.selected])).toEqual([['$__all', false], ['1', false], ['2', true], ['3', true]]);
    expect(kept.allValue).toBe('.*');
    expect(saveModel(v, opts).current).toEqual({ selected: true, text: ['All'], value: ['$__all'] });
    expect(saveModel({ ...v, multi: false, includeAll: false }, opts).current).toEqual({ selected: false, text: 'a', value: '1' });
  });
  it('saves a query variable with its query in both places and no options', () => {
    const v = setQuery({ ...newVariable('query', 'job'), regex: '/n.*/', sort: 1, refresh: 2 }, 'label_values(up, job)');
    const s = saveModel(v, [{ text: 'node', value: 'node' }]);
    expect(s).toMatchObject({
      datasource: { type: 'prometheus', uid: 'argus' }, definition: 'label_values(up, job)',
      query: { query: 'label_values(up, job)', refId: 'PrometheusVariableQueryEditor-VariableQuery' },
      regex: '/n.*/', sort: 1, refresh: 2, options: [], current: { selected: false, text: 'node', value: 'node' }, type: 'query',
    });
    expect('allValue' in s).toBe(false);
  });
  it('saves interval, constant, text box and data source variables', () => {
    const iv = { ...newVariable('interval', 'iv'), query: '1m,5m', auto: true };
    expect(saveModel(iv, fixedOptions(iv)!)).toMatchObject({
      auto: true, auto_count: 30, auto_min: '10s', refresh: 2, current: { text: 'auto', value: '$__auto_interval_iv' },
      options: [{ text: 'auto', value: '$__auto_interval_iv', selected: true }, { text: '1m', value: '1m', selected: false }, { text: '5m', value: '5m', selected: false }],
    });
    const c = { ...newVariable('constant', 'c'), query: 'prod' };
    expect(saveModel(c, fixedOptions(c)!)).toMatchObject({ hide: 2, query: 'prod', current: { value: 'prod' } });
    const t = { ...newVariable('textbox', 't'), query: 'x' };
    expect(saveModel(t, fixedOptions(t)!)).toMatchObject({ query: 'x', current: { text: 'x', value: 'x' }, options: [{ selected: true, text: 'x', value: 'x' }] });
    const ds = newVariable('datasource', 'ds');
    expect(saveModel(ds, [{ text: 'argus', value: 'argus' }])).toMatchObject({ query: 'prometheus', current: { text: 'argus', value: 'argus' }, options: [], multi: false, includeAll: false });
  });
  it('keeps the label and description when the type changes', () => {
    const v = newVariable('textbox', 'x', { ...newVariable('custom', 'x'), label: 'X', description: 'd', hide: 1 });
    expect(v).toMatchObject({ type: 'textbox', label: 'X', description: 'd', hide: 1 });
  });
  it('checks names and moves variables', () => {
    expect(nameError('job', ['inst'])).toBe('');
    expect(nameError('', [])).not.toBe('');
    expect(nameError('a-b', [])).not.toBe('');
    expect(nameError('__x', [])).not.toBe('');
    expect(nameError('inst', ['inst'])).toMatch(/already/);
    const l = [newVariable('custom', 'a'), newVariable('custom', 'b'), newVariable('custom', 'c')];
    expect(moveVariable(l, 2, -1).map((v) => v.name)).toEqual(['a', 'c', 'b']);
    expect(moveVariable(l, 0, -1)).toBe(l);
  });
});
