// The login page, and the form that asks a user to change a generated
// password.
import { useState } from 'preact/hooks';
import { changePassword, login, type Me } from '../lib/session';
import { navigate, type Route } from '../lib/router';

export function Login({ route, me }: { route: Route; me: Me | null }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  // Shown in place of another page (anonymous access off), it returns
  // there after the login.
  const next = safeNext(route.params.get('next') ?? (route.path !== '/login' ? route.path + window.location.search : null));
  if (me?.mustChangePassword) return <ChangePassword next={next} forced />;
  if (me && !me.authEnabled) {
    return <div class="card"><h1>Log in</h1><p>Access control is off on this server (auth.enabled: false): there is nothing to log in to.</p></div>;
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErr('');
    try {
      const m = await login(user, password);
      if (!m.mustChangePassword) navigate(next);
    } catch (e) {
      setErr((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card login" onSubmit={submit}>
      <h1>Log in to argus</h1>
      {err && <div class="error" role="alert">{err}</div>}
      <label>User <input name="user" autocomplete="username" value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} required /></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required /></label>
      <button class="primary" type="submit" disabled={busy}>{busy ? 'Logging in…' : 'Log in'}</button>
    </form>
  );
}

export function ChangePassword({ next, forced }: { next: string; forced?: boolean }) {
  const [cur, setCur] = useState('');
  const [pw, setPw] = useState('');
  const [pw2, setPw2] = useState('');
  const [err, setErr] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    if (pw !== pw2) {
      setErr('The new passwords differ.');
      return;
    }
    try {
      await changePassword(cur, pw);
      navigate(next);
    } catch (e) {
      setErr((e as Error).message);
    }
  };
  return (
    <form class="card login" onSubmit={submit}>
      <h1>Change your password</h1>
      {forced && <p>This account has a generated password; choose your own to go on.</p>}
      {err && <div class="error" role="alert">{err}</div>}
      <label>Current password <input name="current" type="password" autocomplete="current-password" value={cur} onInput={(e) => setCur((e.target as HTMLInputElement).value)} required /></label>
      <label>New password <input name="new" type="password" autocomplete="new-password" minLength={8} value={pw} onInput={(e) => setPw((e.target as HTMLInputElement).value)} required /></label>
      <label>Repeat it <input name="repeat" type="password" autocomplete="new-password" value={pw2} onInput={(e) => setPw2((e.target as HTMLInputElement).value)} required /></label>
      <button class="primary" type="submit">Change password</button>
    </form>
  );
}

// safeNext keeps the redirect after login on this site.
export function safeNext(next: string | null): string {
  // Not //host or /\\host, which browsers read as another site.
  return next && next.startsWith('/') && !next.startsWith('//') && !next.includes('\\') ? next : '/dashboards';
}
