// Administration, for admins: users (add, role, password, end sessions,
// delete), API tokens (create, shown once; revoke) and the audit log of
// every change, who made it and when.
import { useState } from 'preact/hooks';
import { v1get } from '../api';
import { Loading } from '../components/common';
import { useData } from '../lib/useData';
import { formatTime } from '../lib/time';

interface User { name: string; role: string; mustChangePassword?: boolean; created: string }
interface Token { id: number; name: string; role: string; createdBy: string; created: string; expires?: string; lastUsed?: string; revoked?: boolean; token?: string }
interface AuditEntry { id: number; time: string; actor: string; action: string; target?: string; detail?: string }

const roles = ['viewer', 'editor', 'admin'];

async function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(`/api/v1/${path}`, {
    method,
    headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const out = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(out.error ?? `${r.status} ${r.statusText}`);
  return out.data as T;
}

function value(e: Event): string {
  return (e.target as HTMLInputElement).value;
}

export function Admin() {
  const [err, setErr] = useState('');
  const users = useData((s) => v1get<User[]>('users', undefined, s));
  const tokens = useData((s) => v1get<Token[]>('tokens', undefined, s));
  const audit = useData((s) => v1get<AuditEntry[]>('audit', new URLSearchParams({ limit: '200' }), s));
  const act = (f: () => Promise<unknown>) => async () => {
    setErr('');
    try {
      await f();
    } catch (e) {
      setErr((e as Error).message);
    }
    users.reload();
    tokens.reload();
    audit.reload();
  };
  return (
    <div>
      <h1>Administration</h1>
      {err && <div class="error" role="alert">{err}</div>}
      <h2>Users</h2>
      <Loading d={users} what="users">
        {(us) => (
          <table data-testid="users">
            <thead><tr><th>Name</th><th>Role</th><th>Created</th><th /></tr></thead>
            <tbody>
              {us.map((u) => (
                <tr key={u.name} data-testid="user">
                  <td>{u.name}{u.mustChangePassword && <span class="muted"> (must change password)</span>}</td>
                  <td>
                    <select aria-label={`role of ${u.name}`} value={u.role} onChange={(e) => act(() => send('PUT', `users/${encodeURIComponent(u.name)}`, { role: value(e) }))()}>
                      {roles.map((r) => <option key={r}>{r}</option>)}
                    </select>
                  </td>
                  <td>{formatTime(Date.parse(u.created) / 1000)}</td>
                  <td>
                    <button onClick={act(async () => {
                      const pw = window.prompt(`New password for ${u.name} (at least 8 characters)`);
                      if (pw) await send('PUT', `users/${encodeURIComponent(u.name)}`, { password: pw });
                    })}>Set password</button>
                    <button onClick={act(() => send('DELETE', `users/${encodeURIComponent(u.name)}/sessions`))}>End sessions</button>
                    <button onClick={act(async () => {
                      if (window.confirm(`Delete user ${u.name}?`)) await send('DELETE', `users/${encodeURIComponent(u.name)}`);
                    })}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
      <AddUser onDone={(f) => act(f)()} />
      <h2>API tokens</h2>
      <Loading d={tokens} what="tokens">
        {(ts) => (
          <table data-testid="tokens">
            <thead><tr><th>ID</th><th>Name</th><th>Role</th><th>Created by</th><th>Expires</th><th>Last used</th><th /></tr></thead>
            <tbody>
              {ts.map((t) => (
                <tr key={t.id} data-testid="token" class={t.revoked ? 'muted' : ''}>
                  <td>{t.id}</td><td>{t.name}</td><td>{t.role}</td><td>{t.createdBy}</td>
                  <td>{t.expires ? formatTime(Date.parse(t.expires) / 1000) : 'never'}</td>
                  <td>{t.lastUsed ? formatTime(Date.parse(t.lastUsed) / 1000) : 'never'}</td>
                  <td>{t.revoked ? 'revoked' : <button onClick={act(() => send('DELETE', `tokens/${t.id}`))}>Revoke</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
      <CreateToken onError={setErr} onDone={() => { tokens.reload(); audit.reload(); }} />
      <h2>Audit log</h2>
      <Loading d={audit} what="the audit log">
        {(es) => (
          <table data-testid="audit">
            <thead><tr><th>Time</th><th>Who</th><th>What</th><th>On</th></tr></thead>
            <tbody>
              {es.map((e) => (
                <tr key={e.id} data-testid="audit-entry">
                  <td>{formatTime(Date.parse(e.time) / 1000)}</td><td>{e.actor}</td><td>{e.action}</td><td>{e.target}{e.detail ? ` (${e.detail})` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
    </div>
  );
}

function AddUser({ onDone }: { onDone: (f: () => Promise<unknown>) => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [pw, setPw] = useState('');
  return (
    <form class="inline" onSubmit={(e) => {
      e.preventDefault();
      onDone(async () => {
        await send('POST', 'users', { name, role, password: pw });
        setName('');
        setPw('');
      });
    }}>
      <input aria-label="new user name" placeholder="name" value={name} onInput={(e) => setName(value(e))} required />
      <select aria-label="new user role" value={role} onChange={(e) => setRole(value(e))}>{roles.map((r) => <option key={r}>{r}</option>)}</select>
      <input aria-label="new user password" type="password" autocomplete="new-password" placeholder="password (8+ characters)" value={pw} onInput={(e) => setPw(value(e))} required />
      <button class="primary" type="submit">Add user</button>
    </form>
  );
}

function CreateToken({ onDone, onError }: { onDone: () => void; onError: (e: string) => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [expires, setExpires] = useState('30d');
  const [secret, setSecret] = useState('');
  return (
    <div>
      <form class="inline" onSubmit={async (e) => {
        e.preventDefault();
        try {
          const t = await send<Token>('POST', 'tokens', { name, role, expires });
          setSecret(t.token ?? '');
          setName('');
          onDone();
        } catch (err) {
          onError((err as Error).message);
        }
      }}>
        <input aria-label="new token name" placeholder="name" value={name} onInput={(e) => setName(value(e))} required />
        <select aria-label="new token role" value={role} onChange={(e) => setRole(value(e))}>{roles.map((r) => <option key={r}>{r}</option>)}</select>
        <input aria-label="new token lifetime" placeholder="lifetime, e.g. 30d (empty: never expires)" value={expires} onInput={(e) => setExpires(value(e))} />
        <button class="primary" type="submit">Create token</button>
      </form>
      {secret && (
        <p class="card" data-testid="token-secret">
          The new token, shown this once: <code>{secret}</code>. Send it as <code>Authorization: Bearer …</code>.
        </p>
      )}
    </div>
  );
}
