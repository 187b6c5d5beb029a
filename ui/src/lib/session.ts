// Who is using the UI, and the CSRF token its changes carry. argus guards
// changes with a session cookie plus a token only its own pages can read;
// installCSRF adds the token to every same-origin request that may change
// something, so no page has to remember it.
import { useEffect, useState } from 'preact/hooks';

export type Role = 'none' | 'viewer' | 'editor' | 'admin';

export interface Me {
  user?: string;
  role: Role;
  kind: 'session' | 'token' | 'basic' | 'anonymous' | 'disabled';
  csrfToken?: string;
  mustChangePassword?: boolean;
  authEnabled: boolean;
  anonymous: Role;
}

const rank: Record<Role, number> = { none: 0, viewer: 1, editor: 2, admin: 3 };

let current: Me | null = null;
const listeners = new Set<(m: Me | null) => void>();

function set(m: Me | null) {
  current = m;
  for (const l of listeners) l(m);
}

// allows reports whether a principal with role may do what needs need.
export function allows(role: Role | undefined, need: Role): boolean {
  return rank[role ?? 'none'] >= rank[need];
}

// can reports whether the current user may do what needs need.
export function can(need: Role): boolean {
  return allows(current?.role, need);
}

async function call(path: string, body?: unknown): Promise<any> {
  const r = await fetch(`/api/v1/auth/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const out = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(out.error ?? `${r.status} ${r.statusText}`);
  return out.data;
}

export async function loadMe(): Promise<Me> {
  const m = (await call('me')) as Me;
  set(m);
  return m;
}

export async function login(user: string, password: string): Promise<Me> {
  const m = (await call('login', { user, password })) as Me;
  set(m);
  return m;
}

export async function logout(): Promise<void> {
  await call('logout', {});
  await loadMe();
}

export async function changePassword(currentPassword: string, next: string): Promise<Me> {
  const m = (await call('password', { current: currentPassword, new: next })) as Me;
  set(m);
  return m;
}

// useMe returns the current user, loading it once.
export function useMe(): Me | null {
  const [m, setM] = useState(current);
  useEffect(() => {
    listeners.add(setM);
    if (!current) loadMe().catch(() => set({ role: 'viewer', kind: 'anonymous', authEnabled: false, anonymous: 'viewer' }));
    return () => void listeners.delete(setM);
  }, []);
  return m;
}

// isUnsafe reports whether a request may change state and goes to argus
// itself, so that it carries the CSRF token (and nothing is sent to
// another origin).
export function isUnsafe(method: string | undefined, url: string, origin: string): boolean {
  const m = (method ?? 'GET').toUpperCase();
  if (m === 'GET' || m === 'HEAD' || m === 'OPTIONS') return false;
  try {
    return new URL(url, origin).origin === origin;
  } catch {
    return false;
  }
}

export function installCSRF() {
  const orig = window.fetch.bind(window);
  window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const token = current?.csrfToken;
    if (token && isUnsafe(method, url, window.location.origin)) {
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      headers.set('X-CSRF-Token', token);
      init = { ...init, headers };
    }
    return orig(input, init);
  };
}
