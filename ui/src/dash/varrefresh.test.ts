import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveVariable, type OptionCache } from './variables';
import type { Variable } from './model';

// Each test counts the label-values requests the variables make.
function stubAPI() {
  const calls: string[] = [];
  vi.stubGlobal('fetch', async (url: string) => {
    calls.push(url);
    return new Response(JSON.stringify({ status: 'success', data: ['a', 'b'] }), { status: 200 });
  });
  return calls;
}

afterEach(() => vi.unstubAllGlobals());

const day1 = { from: 1_700_000_000_000, to: 1_700_003_600_000 };
const day2 = { from: 1_700_003_600_000, to: 1_700_007_200_000 };

function v(refresh: number, extra: Partial<Variable> = {}): Variable {
  return { name: 'job', type: 'query', query: 'label_values(up, job)', refresh, ...extra };
}

describe('variable refresh', () => {
  it('on load (1): asked once, not again when the time range changes', async () => {
    const calls = stubAPI();
    const cache: OptionCache = new Map();
    const s = new AbortController().signal;
    await resolveVariable(v(1), [], day1 as any, [], s, cache);
    const st = await resolveVariable(v(1), [], day2 as any, [], s, cache);
    expect(calls.length).toBe(1);
    expect(st.options.map((o) => o.value)).toEqual(['a', 'b']);
  });

  it('on time range change (2): asked again for a new range, not for the same one', async () => {
    const calls = stubAPI();
    const cache: OptionCache = new Map();
    const s = new AbortController().signal;
    await resolveVariable(v(2), [], day1 as any, [], s, cache);
    await resolveVariable(v(2), [], day1 as any, [], s, cache);
    await resolveVariable(v(2), [], day2 as any, [], s, cache);
    expect(calls.length).toBe(2);
  });

  it('on load (1): asked again when a variable it uses changes', async () => {
    const calls = stubAPI();
    const cache: OptionCache = new Map();
    const s = new AbortController().signal;
    const dep = (val: string) => [{ def: { name: 'env', type: 'custom' } as Variable, options: [], selected: [val] }];
    const child = v(1, { query: 'label_values(up{env="$env"}, job)' });
    await resolveVariable(child, dep('prod'), day1 as any, [], s, cache);
    await resolveVariable(child, dep('prod'), day2 as any, [], s, cache);
    await resolveVariable(child, dep('dev'), day2 as any, [], s, cache);
    expect(calls.length).toBe(2);
    expect(decodeURIComponent(calls[1])).toContain('env="dev"');
  });

  it('never (0): uses the options saved with it and asks nothing', async () => {
    const calls = stubAPI();
    const st = await resolveVariable(v(0, { options: [{ text: 'x', value: 'x' }] }), [], day1 as any, [], new AbortController().signal, new Map());
    expect(calls.length).toBe(0);
    expect(st.options.map((o) => o.value)).toEqual(['x']);
  });
});
