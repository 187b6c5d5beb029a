// Annotations: events drawn on time series panels. A Prometheus annotation
// query turns each series' runs of non-zero values into events (as
// Grafana's Prometheus data source does); the built-in "Annotations &
// Alerts" of a dashboard shows argus's own alert history instead of
// Grafana's annotation database.
import type { HistoryEvent, Sample } from '../api';
import { legend } from './interpolate';

export interface AnnotationDef {
  name?: string;
  enable?: boolean;
  hide?: boolean;
  builtIn?: number;
  iconColor?: string;
  datasource?: { type?: string; uid?: string } | string | null;
  expr?: string;
  step?: string;
  titleFormat?: string;
  textFormat?: string;
  tagKeys?: string;
  useValueForTime?: boolean;
  type?: string;
}

export interface AnnotationEvent {
  time: number; // ms
  timeEnd: number; // ms; equal to time for a point in time
  title: string;
  text: string;
  tags: string[];
  color: string;
}

// isBuiltIn tells the dashboard's own annotations (Grafana's database) from
// query annotations.
export function isBuiltIn(a: AnnotationDef): boolean {
  const ds = a.datasource;
  const uid = typeof ds === 'string' ? ds : ds?.uid ?? '';
  const type = typeof ds === 'string' ? '' : ds?.type ?? '';
  return a.builtIn === 1 || uid === '-- Grafana --' || uid === 'grafana' || type === 'grafana' || type === 'datasource';
}

// fromSeries makes events of a range query's result: consecutive steps with
// a value other than zero form one event, from the first to the last.
export function fromSeries(result: Sample[], stepS: number, a: AnnotationDef): AnnotationEvent[] {
  const out: AnnotationEvent[] = [];
  const color = a.iconColor ?? 'rgba(0, 211, 255, 1)';
  const tagKeys = (a.tagKeys ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  for (const s of result) {
    const title = legend(a.titleFormat, s.metric, a.name ?? '');
    const text = legend(a.textFormat, s.metric, '');
    const tags = tagKeys.map((k) => s.metric[k]).filter((v): v is string => !!v);
    let start = -1;
    let prev = -1;
    const flush = () => {
      if (start >= 0) out.push({ time: start * 1000, timeEnd: prev * 1000, title, text, tags, color });
      start = -1;
    };
    for (const [t, v] of s.values ?? []) {
      const on = v !== '0' && v !== 'NaN';
      if (on && start >= 0 && t - prev > stepS * 1.5) flush();
      if (on) {
        if (start < 0) start = a.useValueForTime ? Number(v) / 1000 : t;
        prev = a.useValueForTime ? Number(v) / 1000 : t;
      } else flush();
    }
    flush();
  }
  return out;
}

// fromHistory makes events of the alert manager's history: an alert
// firing or resolving is a point in time.
export function fromHistory(events: HistoryEvent[], a: AnnotationDef): AnnotationEvent[] {
  const color = a.iconColor ?? 'rgba(0, 211, 255, 1)';
  return events.filter((e) => e.alert).map((e) => {
    const t = Date.parse(e.time);
    const ls = e.alert!.labels;
    return {
      time: t,
      timeEnd: t,
      title: `${ls.alertname ?? 'alert'} ${e.alert!.state}`,
      text: Object.keys(ls).filter((k) => k !== 'alertname').sort().map((k) => `${k}=${ls[k]}`).join(', '),
      tags: [e.alert!.state],
      color,
    };
  });
}
