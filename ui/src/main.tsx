// The UI shell: navigation, the router and the pages.
import { Component, render, type ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import './style.css';
import { navigate, onLinkClick, useRoute } from './lib/router';
import { Explore } from './pages/Explore';
import { Targets, ServiceDiscovery } from './pages/Targets';
import { Rules } from './pages/Rules';
import { Alerts } from './pages/Alerts';
import { SilenceEditor, Silences } from './pages/Silences';
import { History } from './pages/History';
import { Status } from './pages/Status';
import { Dashboards } from './pages/Dashboards';
import { DashboardPage } from './pages/Dashboard';
import { ChangePassword, Login } from './pages/Login';
import { Admin } from './pages/Admin';
import { allows, installCSRF, logout, useMe } from './lib/session';

const nav = [
  ['/dashboards', 'Dashboards'],
  ['/query', 'Explore'],
  ['/alerts', 'Alerts'],
  ['/silences', 'Silences'],
  ['/history', 'History'],
  ['/rules', 'Rules'],
  ['/targets', 'Targets'],
  ['/service-discovery', 'Discovery'],
  ['/status', 'Status'],
] as const;

function App() {
  const route = useRoute();
  const me = useMe();
  const path = route.path === '/graph' ? '/query' : route.path;
  const title = path === '/login' ? 'Log in' : path === '/admin' ? 'Administration' : path.startsWith('/d/') ? 'Dashboards' : nav.find(([p]) => path === p || path.startsWith(p + '/'))?.[1];
  useEffect(() => {
    document.title = title ? `${title} · argus` : 'argus';
  }, [title]);
  let page;
  // With anonymous access off, or a password to change first, every page
  // is the login form until then.
  const mustLogin = me && me.authEnabled && (me.role === 'none' || me.mustChangePassword);
  if (!me) page = <p class="muted">Loading…</p>;
  else if (path === '/login' || mustLogin) page = <Login route={route} me={me} />;
  else if (path === '/account/password') page = <ChangePassword next="/dashboards" />;
  else if (path === '/admin') page = <Admin />;
  else if (path === '/query') page = <Explore route={route} />;
  else if (path === '/targets') page = <Targets />;
  else if (path === '/service-discovery') page = <ServiceDiscovery />;
  else if (path === '/rules') page = <Rules />;
  else if (path === '/alerts') page = <Alerts route={route} />;
  else if (path === '/silences') page = <Silences />;
  else if (path.startsWith('/silences/')) page = <SilenceEditor route={route} />;
  else if (path === '/history') page = <History route={route} />;
  else if (path === '/status') page = <Status />;
  else if (path === '/dashboards') page = <Dashboards route={route} />;
  else if (path.startsWith('/d/')) page = <DashboardPage route={route} />;
  else page = <div><h1>Not found</h1><p>No page at {path}. <a href="/query">Go to Explore</a>.</p></div>;
  return (
    <div onClick={onLinkClick}>
      <nav class="top" aria-label="main">
        <a class="brand" href="/query">argus</a>
        {nav.map(([p, name]) => (
          <a key={p} href={p} class={path === p || path.startsWith(p + '/') || (p === '/dashboards' && path.startsWith('/d/')) ? 'active' : ''} aria-current={path === p ? 'page' : undefined}>{name}</a>
        ))}
        {allows(me?.role, 'admin') && me?.authEnabled && <a href="/admin" class={path === '/admin' ? 'active' : ''}>Admin</a>}
        <span class="account">
          {me?.authEnabled && (me.kind === 'session'
            ? <>
                <a href="/account/password" title="change your password" data-testid="account">{me.user} · {me.role}</a>
                <button class="link" data-testid="logout" onClick={() => logout().then(() => navigate('/login'))}>Log out</button>
              </>
            : <a href={`/login?next=${encodeURIComponent(route.path)}`} data-testid="login-link">Log in</a>)}
        </span>
      </nav>
      <main><ErrorBoundary key={route.path}>{page}</ErrorBoundary></main>
    </div>
  );
}

// ErrorBoundary keeps a page's bug from blanking the whole UI: the page
// says what went wrong and the navigation still works.
class ErrorBoundary extends Component<{ children: ComponentChildren }, { error: Error | null }> {
  state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  render() {
    if (this.state.error) {
      return (
        <div class="error" role="alert">
          This page failed: {this.state.error.message}. Reload it, or go back; if it keeps failing, the link may hold a value the page cannot show.
        </div>
      );
    }
    return this.props.children;
  }
}

installCSRF();
render(<App />, document.getElementById('app')!);
