// The parts of Grafana's dashboard JSON model the renderer reads. The
// server migrates old schemas on import (rows to gridPos, graph to
// timeseries, singlestat to stat), so the UI sees the current model; it
// still tolerates the old names where cheap.

export interface DataSourceRef {
  type?: string;
  uid?: string;
}

export interface Target {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  interval?: string;
  intervalFactor?: number;
  instant?: boolean;
  range?: boolean;
  format?: 'time_series' | 'table' | 'heatmap';
  hide?: boolean;
  datasource?: DataSourceRef | string | null;
}

export interface Threshold {
  value: number | null;
  color: string;
}

export interface FieldConfig {
  defaults?: {
    unit?: string;
    decimals?: number | null;
    min?: number | null;
    max?: number | null;
    displayName?: string;
    color?: { mode?: string; fixedColor?: string };
    thresholds?: { mode?: 'absolute' | 'percentage'; steps?: Threshold[] };
    mappings?: ValueMapping[];
    links?: { title?: string; url?: string; targetBlank?: boolean }[];
    custom?: {
      drawStyle?: 'line' | 'bars' | 'points';
      lineWidth?: number;
      fillOpacity?: number;
      showPoints?: 'auto' | 'always' | 'never';
      pointSize?: number;
      stacking?: { mode?: 'none' | 'normal' | 'percent'; group?: string };
      axisPlacement?: 'auto' | 'left' | 'right' | 'hidden';
      scaleDistribution?: { type?: 'linear' | 'log'; log?: number };
      spanNulls?: boolean | number;
      thresholdsStyle?: { mode?: 'off' | 'line' | 'area' | 'line+area' | 'dashed' };
      axisLabel?: string;
    };
  };
  overrides?: { matcher: { id: string; options?: string }; properties: { id: string; value: unknown }[] }[];
}

export interface ValueMapping {
  type: 'value' | 'range' | 'regex' | 'special';
  options: Record<string, { text?: string; color?: string; index?: number } | unknown>;
}

export interface Panel {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  datasource?: DataSourceRef | string | null;
  targets?: Target[];
  fieldConfig?: FieldConfig;
  options?: Record<string, any>;
  interval?: string;
  maxDataPoints?: number;
  timeFrom?: string;
  timeShift?: string;
  collapsed?: boolean;
  panels?: Panel[];
  repeat?: string;
  repeatDirection?: 'h' | 'v';
  maxPerRow?: number;
  transparent?: boolean;
  links?: { title?: string; url?: string; targetBlank?: boolean }[];
  transformations?: Transformation[];
  // text panel
  mode?: string;
  content?: string;
  // set by repetition
  scopedVars?: Record<string, { text: string; value: string | string[] }>;
}

// Transformation is one of a panel's data transformations, as Grafana
// stores them.
export interface Transformation {
  id: string;
  options?: Record<string, any>;
  disabled?: boolean;
}

export interface Variable {
  name: string;
  type: 'query' | 'custom' | 'constant' | 'interval' | 'textbox' | 'datasource' | 'adhoc' | string;
  label?: string;
  description?: string;
  skipUrlSync?: boolean;
  queryValue?: string;
  hide?: number; // 0 shown, 1 label hidden, 2 variable hidden
  query?: string | { query?: string; qryType?: number; refId?: string };
  definition?: string;
  datasource?: DataSourceRef | string | null;
  regex?: string;
  sort?: number;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string | null;
  current?: { text?: string | string[]; value?: string | string[]; selected?: boolean };
  options?: { text: string; value: string; selected?: boolean }[];
  refresh?: number; // 0 never, 1 on load, 2 on time range change
  auto?: boolean;
  auto_count?: number;
  auto_min?: string;
}

export interface Dashboard {
  uid?: string;
  title?: string;
  tags?: string[];
  time?: { from: string; to: string };
  refresh?: string | false;
  timezone?: string;
  weekStart?: string;
  panels?: Panel[];
  rows?: { panels?: Panel[]; title?: string; collapse?: boolean; height?: string | number }[];
  templating?: { list?: Variable[] };
  annotations?: { list?: any[] };
  links?: { title?: string; url?: string; type?: string; tags?: string[]; asDropdown?: boolean; targetBlank?: boolean }[];
  schemaVersion?: number;
  version?: number;
  graphTooltip?: number;
}

// dsUID reads a datasource reference in any of its forms.
export function dsUID(ref: DataSourceRef | string | null | undefined): string {
  if (ref === null || ref === undefined) return '';
  if (typeof ref === 'string') return ref;
  return ref.uid ?? '';
}

// apiBase is where a data source's Prometheus API answers: argus's own at
// /api/v1, the others through the server's proxy (credentials stay there).
export const ownAPI = '/api/v1';

export function apiBase(uid: string): string {
  if (uid === '' || uid === 'argus' || uid === 'default' || uid === '-- Mixed --' || uid.startsWith('$') || uid === 'prometheus') return ownAPI;
  return `/api/datasources/proxy/uid/${encodeURIComponent(uid)}/api/v1`;
}
