// The UI's client of argus's HTTP API: the Prometheus API (/api/v1) and the
// Alertmanager API (/api/v2), on the same origin.

export class APIError extends Error {
  constructor(message: string, readonly status: number, readonly errorType?: string) {
    super(message);
  }
}

export interface Envelope<T> {
  data: T;
  warnings: string[];
  infos: string[];
}

async function readError(resp: Response): Promise<APIError> {
  const text = await resp.text();
  try {
    const body = JSON.parse(text);
    if (body && typeof body.error === 'string') {
      return new APIError(body.error, resp.status, body.errorType);
    }
    if (body && typeof body.message === 'string') return new APIError(body.message, resp.status);
  } catch {
    // Not JSON: use the text.
  }
  return new APIError(text.trim() || `${resp.status} ${resp.statusText}`, resp.status);
}

async function send(url: string, init?: RequestInit): Promise<Response> {
  let resp: Response;
  try {
    resp = await fetch(url, init);
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new APIError(`argus did not answer (${(e as Error).message}); is it running?`, 0);
  }
  if (!resp.ok) throw await readError(resp);
  return resp;
}

// v1 calls a Prometheus API endpoint and unwraps its envelope.
export async function v1<T>(path: string, params?: URLSearchParams, signal?: AbortSignal): Promise<Envelope<T>> {
  const init: RequestInit = { signal, headers: { Accept: 'application/json' } };
  let url = `/api/v1/${path}`;
  if (params) {
    // POST keeps long queries out of URL length limits.
    init.method = 'POST';
    init.body = params;
  }
  const resp = await send(url, init);
  const body = await resp.json();
  if (body.status !== 'success') throw new APIError(body.error ?? 'request failed', resp.status, body.errorType);
  return { data: body.data as T, warnings: body.warnings ?? [], infos: body.infos ?? [] };
}

export async function v1get<T>(path: string, params?: URLSearchParams, signal?: AbortSignal): Promise<T> {
  const q = params ? `?${params}` : '';
  const resp = await send(`/api/v1/${path}${q}`, { signal, headers: { Accept: 'application/json' } });
  const body = await resp.json();
  if (body.status !== 'success') throw new APIError(body.error ?? 'request failed', resp.status, body.errorType);
  return body.data as T;
}

// v2 calls an Alertmanager API endpoint.
export async function v2<T>(path: string, init?: RequestInit): Promise<T> {
  const resp = await send(`/api/v2/${path}`, {
    ...init,
    headers: { Accept: 'application/json', ...(init?.body ? { 'Content-Type': 'application/json' } : {}) },
  });
  const text = await resp.text();
  return (text === '' ? null : JSON.parse(text)) as T;
}

// Shapes of the answers the pages use.

export interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

export interface QueryStats {
  timings?: Record<string, number>;
  samples?: { totalQueryableSamples?: number; peakSamples?: number };
}

export type QueryData =
  | { resultType: 'vector' | 'matrix'; result: Sample[]; stats?: QueryStats }
  | { resultType: 'scalar' | 'string'; result: [number, string]; stats?: QueryStats };

export interface Target {
  discoveredLabels: Record<string, string>;
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  globalUrl: string;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
  health: 'up' | 'down' | 'unknown';
  scrapeInterval: string;
  scrapeTimeout: string;
}

export interface DroppedTarget {
  discoveredLabels: Record<string, string>;
  scrapePool?: string;
}

export interface Rule {
  name: string;
  query: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
  lastEvaluation: string;
  evaluationTime: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  duration?: number;
  keepFiringFor?: number;
  state?: string;
  alerts?: PromAlert[];
}

export interface RuleGroup {
  name: string;
  file: string;
  interval: number;
  rules: Rule[];
  lastEvaluation: string;
  evaluationTime: number;
}

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt?: string;
  value: string;
}

export interface AMAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  fingerprint: string;
  generatorURL?: string;
  receivers: { name: string }[];
  status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
}

export interface AlertGroup {
  labels: Record<string, string>;
  receiver: { name: string };
  alerts: AMAlert[];
}

export interface Silence {
  id: string;
  matchers: { name: string; value: string; isRegex: boolean; isEqual?: boolean }[];
  startsAt: string;
  endsAt: string;
  updatedAt?: string;
  createdBy: string;
  comment: string;
  status: { state: 'active' | 'pending' | 'expired' };
}

export interface HistoryEvent {
  id: number;
  time: string;
  kind: string;
  fingerprint?: string;
  receiver?: string;
  alert?: { state: string; labels: Record<string, string>; annotations?: Record<string, string>; startsAt: string; endsAt: string };
  notification?: {
    groupKey: string; groupLabels: Record<string, string>; integration: string; index: number; reason: string;
    attempt: number; durationSeconds: number; success: boolean; error?: string; firing: number; resolved: number;
    fingerprints: string[];
  };
  silence?: { action: string; id: string; matchers: string; startsAt: string; endsAt: string; createdBy?: string; comment?: string };
}
