// The Explore page's state, kept in the URL: one panel's query, mode and
// time range, so that a link reproduces the view.
import { autoStep, parseDuration, parseTime } from './time';

export interface ExploreState {
  expr: string;
  tab: 'graph' | 'table';
  range: string; // a duration: the graph's width
  end: string; // "now" or an absolute time
  step: string; // "" for auto
  stacked: boolean;
}

export const defaultState: ExploreState = { expr: '', tab: 'graph', range: '1h', end: 'now', step: '', stacked: false };

export function fromParams(p: URLSearchParams): ExploreState {
  const tab = p.get('tab') === 'table' ? 'table' : 'graph';
  return {
    expr: p.get('expr') ?? '',
    tab,
    range: p.get('range') ?? defaultState.range,
    end: p.get('end') ?? 'now',
    step: p.get('step') ?? '',
    stacked: p.get('stacked') === '1',
  };
}

export function toParams(s: ExploreState): URLSearchParams {
  const p = new URLSearchParams();
  p.set('expr', s.expr);
  p.set('tab', s.tab);
  if (s.range !== defaultState.range) p.set('range', s.range);
  if (s.end !== 'now') p.set('end', s.end);
  if (s.step !== '') p.set('step', s.step);
  if (s.stacked) p.set('stacked', '1');
  return p;
}

export interface Window {
  start: number;
  end: number;
  step: number;
}

// resolveWindow turns the state into the start, end and step of a range
// query at time now, or throws an error that says which field is wrong.
export function resolveWindow(s: ExploreState, now: number): Window {
  const range = parseDuration(s.range);
  if (range === null || range <= 0) throw new Error(`bad range "${s.range}": use a duration such as 1h or 30m`);
  const end = parseTime(s.end, now);
  if (end === null) throw new Error(`bad end time "${s.end}": use now, now-1h, RFC 3339 or unix seconds`);
  let step = autoStep(range);
  if (s.step !== '') {
    const st = parseDuration(s.step);
    if (st === null || st <= 0) throw new Error(`bad step "${s.step}": use a duration such as 15s`);
    step = st;
  }
  if (range / step > 11000) throw new Error(`step ${s.step} is too small for range ${s.range}: at most 11,000 points per series`);
  return { start: end - range, end, step };
}

// History of queries, newest first, kept per browser.
const historyKey = 'argus.queryHistory';
const historyMax = 50;

export function loadHistory(store: Pick<Storage, 'getItem'>): string[] {
  try {
    const v = JSON.parse(store.getItem(historyKey) ?? '[]');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export function addHistory(store: Pick<Storage, 'getItem' | 'setItem'>, expr: string): string[] {
  const e = expr.trim();
  if (e === '') return loadHistory(store);
  const h = [e, ...loadHistory(store).filter((x) => x !== e)].slice(0, historyMax);
  store.setItem(historyKey, JSON.stringify(h));
  return h;
}
