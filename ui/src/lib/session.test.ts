import { describe, expect, it } from 'vitest';
import { allows, isUnsafe } from './session';
import { safeNext } from '../pages/Login';

describe('session', () => {
  it('ranks roles', () => {
    expect(allows('admin', 'editor')).toBe(true);
    expect(allows('editor', 'editor')).toBe(true);
    expect(allows('viewer', 'editor')).toBe(false);
    expect(allows(undefined, 'viewer')).toBe(false);
    expect(allows('none', 'viewer')).toBe(false);
  });

  it('sends the CSRF token only with changes to argus itself', () => {
    const o = 'http://argus.example:9090';
    expect(isUnsafe('POST', '/api/v2/silences', o)).toBe(true);
    expect(isUnsafe('delete', 'http://argus.example:9090/api/v2/silence/x', o)).toBe(true);
    expect(isUnsafe('GET', '/api/v2/silences', o)).toBe(false);
    expect(isUnsafe(undefined, '/api/v2/silences', o)).toBe(false);
    expect(isUnsafe('POST', 'https://evil.example/steal', o)).toBe(false);
    expect(isUnsafe('POST', '//evil.example/steal', o)).toBe(false);
  });

  it('returns only to a page of this site after login', () => {
    expect(safeNext('/silences/new?x=1')).toBe('/silences/new?x=1');
    expect(safeNext('//evil.example/')).toBe('/dashboards');
    expect(safeNext('https://evil.example/')).toBe('/dashboards');
    expect(safeNext(null)).toBe('/dashboards');
    expect(safeNext('/\\evil.example')).toBe('/dashboards');
  });
});
