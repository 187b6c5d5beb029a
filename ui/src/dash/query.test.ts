import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session, type QueryResult } from './query';
import { points } from '../pages/Inspector';

// A real HTTP server answering like the Prometheus API, slowly, with a
// body that has multi-byte characters, so that the measured size is the
// body's bytes and the time is the request's.
const body = JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: { city: 'Zürich ☃' }, value: [1, '1'] }] } });

// Node's http module, typed as far as the test uses it: the UI's
// TypeScript has no Node types.
interface Res { writeHead(status: number, headers: Record<string, string>): void; end(body: string): void }
interface Server { listen(port: number, host: string, cb: () => void): void; address(): { port: number }; close(cb: () => void): void }
let server: Server;
let base = '';

beforeAll(async () => {
  const http = (await import('node:http' as string)) as { createServer(h: (req: unknown, res: Res) => void): Server };
  server = http.createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(body);
    }, 30);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${server.address().port}/api/v1`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

describe('query measurements', () => {
  it('measures each request: time, parse time and body size, once per distinct query', async () => {
    const s = new Session();
    const p = new URLSearchParams({ query: 'up' });
    expect(s.has(base, 'query', p)).toBe(false);
    const r = await s.get(base, 'query', p);
    expect(r.stats.bytes).toBe(new TextEncoder().encode(body).length);
    expect(r.stats.bytes).toBeGreaterThan(body.length);
    expect(r.stats.ms).toBeGreaterThanOrEqual(25);
    expect(r.stats.parseMs).toBeGreaterThanOrEqual(0);
    expect(r.stats.status).toBe(200);
    expect(r.stats.url).toBe(`${base}/query?query=up`);
    expect(s.has(base, 'query', p)).toBe(true);
    expect((await s.get(base, 'query', p)).stats).toBe(r.stats);
    expect(s.requests).toBe(1);
  });
  it('counts the points of each kind of answer', () => {
    const q = (resultType: string, result: unknown) => ({ data: { resultType, result } }) as unknown as QueryResult;
    expect(points(q('matrix', [{ metric: {}, values: [[1, '1'], [2, '2']] }, { metric: {}, values: [[1, '1']] }]))).toBe(3);
    expect(points(q('vector', [{ metric: {}, value: [1, '1'] }, { metric: {}, value: [1, '2'] }]))).toBe(2);
    expect(points(q('scalar', [1, '1']))).toBe(1);
  });
});
