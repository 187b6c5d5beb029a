// Silences: the list (active, pending, expired), and the editor that
// creates or edits one with a preview of the current alerts it would
// silence.
import { useEffect, useState } from 'preact/hooks';
import { APIError, v2, type AMAlert, type Silence } from '../api';
import { LabelList, Loading } from '../components/common';
import { formatMatchers, fromAPI, matchesAll, MatcherError, parseMatchers, toAPI, type Matcher } from '../lib/matchers';
import { navigate, type Route } from '../lib/router';
import { useData } from '../lib/useData';
import { allows, useMe } from '../lib/session';
import { formatDuration, formatTime, parseDuration, since } from '../lib/time';

const states = ['active', 'pending', 'expired'] as const;

// editorNeeded says why a viewer's buttons are disabled.
const editorNeeded = 'Changing silences needs the editor role; log in as an editor.';

export function Silences() {
  const canEdit = allows(useMe()?.role, 'editor');
  const d = useData((s) => v2<Silence[]>('silences', { signal: s }), [], 15000);
  const [text, setText] = useState('');
  const [err, setErr] = useState('');
  const expire = async (id: string) => {
    try {
      await v2(`silence/${encodeURIComponent(id)}`, { method: 'DELETE' });
      d.reload();
    } catch (e) {
      setErr(`Could not expire silence ${id}: ${(e as Error).message}`);
    }
  };
  return (
    <div>
      <h1>Silences</h1>
      <div class="row">
        <input class="grow" aria-label="filter" placeholder="Filter by matcher text, creator or comment" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        <a href="/silences/new"><button class="primary" disabled={!canEdit} title={canEdit ? undefined : editorNeeded}>New silence</button></a>
      </div>
      {err && <div class="error" role="alert">{err}</div>}
      <Loading d={d} what="silences">
        {(data) => {
          const t = text.toLowerCase();
          const list = data.filter((s) => !t || `${silenceMatchers(s)} ${s.createdBy} ${s.comment}`.toLowerCase().includes(t));
          return states.map((st) => {
            const ss = list.filter((s) => s.status.state === st).sort((a, b) => (st === 'expired' ? b.endsAt.localeCompare(a.endsAt) : a.endsAt.localeCompare(b.endsAt)));
            return (
              <details key={st} open={st !== 'expired'} class="card">
                <summary style="padding: 8px 10px"><strong>{st[0].toUpperCase() + st.slice(1)}</strong> <span class="muted">({ss.length})</span></summary>
                <div class="body">
                  {ss.length === 0 && <div class="muted">None.</div>}
                  {ss.map((s) => <SilenceRow key={s.id} s={s} onExpire={expire} />)}
                </div>
              </details>
            );
          });
        }}
      </Loading>
    </div>
  );
}

function silenceMatchers(s: Silence): string {
  return formatMatchers(s.matchers.map(fromAPI));
}

function SilenceRow({ s, onExpire }: { s: Silence; onExpire: (id: string) => void }) {
  const canEdit = allows(useMe()?.role, 'editor');
  const now = Date.now() / 1000;
  const ends = Date.parse(s.endsAt) / 1000;
  return (
    <div class="card" data-testid="silence">
      <header>
        <code>{silenceMatchers(s)}</code>
        <span class="grow" />
        <a href={`/silences/${s.id}`}><button disabled={!canEdit} title={canEdit ? undefined : editorNeeded}>{s.status.state === 'expired' ? 'Recreate' : 'Edit'}</button></a>
        {s.status.state !== 'expired' && <button disabled={!canEdit} title={canEdit ? undefined : editorNeeded} onClick={() => onExpire(s.id)}>Expire</button>}
      </header>
      <div class="body">
        <div class="muted">
          {s.status.state === 'pending' ? `starts ${since(Date.parse(s.startsAt) / 1000, now)}, ` : ''}
          {s.status.state === 'expired' ? `expired ${since(ends, now)}` : `ends ${since(ends, now)} (${formatTime(ends)})`}
          {' · by '}{s.createdBy}{' · '}<span class="mono">{s.id}</span>
        </div>
        {s.comment && <div>{s.comment}</div>}
      </div>
    </div>
  );
}

const presets = ['1h', '2h', '4h', '1d', '3d', '1w'];

export function SilenceEditor({ route }: { route: Route }) {
  const canEdit = allows(useMe()?.role, 'editor');
  const id = route.path.startsWith('/silences/') && route.path !== '/silences/new' ? safeDecode(route.path.slice('/silences/'.length)) : '';
  const [matcherText, setMatcherText] = useState(route.params.get('matchers') ?? '');
  const [duration, setDuration] = useState('2h');
  const [startsAt, setStartsAt] = useState('');
  const [createdBy, setCreatedBy] = useState(() => localStorage.getItem('argus.silenceAuthor') ?? '');
  const [comment, setComment] = useState(route.params.get('comment') ?? '');
  const [err, setErr] = useState('');
  const [saving, setSaving] = useState(false);
  const [loadedState, setLoadedState] = useState('');
  // The times of the silence being edited, kept when the duration is not
  // changed: the alert manager updates a silence in place only if its start
  // stays the same, else it expires it and creates another.
  const [loadedTimes, setLoadedTimes] = useState<{ startsAt: string; endsAt: string; duration: string } | null>(null);

  // Editing loads the silence once.
  useEffect(() => {
    if (!id) return;
    v2<Silence>(`silence/${encodeURIComponent(id)}`)
      .then((s) => {
        setMatcherText(silenceMatchers(s));
        const start = Date.parse(s.startsAt) / 1000;
        const end = Date.parse(s.endsAt) / 1000;
        setLoadedState(s.status.state);
        if (s.status.state === 'expired') {
          setDuration(formatDuration(end - start));
        } else {
          const d = formatDuration(end - Math.max(start, Date.now() / 1000));
          setStartsAt(s.status.state === 'pending' ? s.startsAt : '');
          setDuration(d);
          setLoadedTimes({ startsAt: s.startsAt, endsAt: s.endsAt, duration: d });
        }
        setCreatedBy(s.createdBy);
        setComment(s.comment);
      })
      .catch((e) => setErr(`Could not load silence ${id}: ${(e as Error).message}`));
  }, [id]);

  let matchers: Matcher[] = [];
  let matcherErr = '';
  try {
    matchers = parseMatchers(matcherText);
    if (matchers.length === 0) matcherErr = 'add at least one matcher, such as alertname="HighLoad"';
    else if (matchers.every((m) => (m.type === '=~' && m.value === '.*') || (m.type === '=' && m.value === '')))
      matcherErr = 'these matchers match every alert; name at least one label value';
  } catch (e) {
    matcherErr = e instanceof MatcherError ? e.message : String(e);
  }

  const alerts = useData((s) => v2<AMAlert[]>('alerts?silenced=true&inhibited=true&active=true', { signal: s }), [], 15000);
  const affected = matcherErr || !alerts.data ? [] : alerts.data.filter((a) => matchesAll(matchers, a.labels));

  const save = async () => {
    setErr('');
    const dur = parseDuration(duration);
    if (dur === null || dur <= 0) {
      setErr(`Bad duration "${duration}": use a duration such as 2h or 1d`);
      return;
    }
    if (!createdBy.trim()) {
      setErr('Say who creates the silence (Creator).');
      return;
    }
    if (!comment.trim()) {
      setErr('Say why in the comment, so that others know whether they may expire it.');
      return;
    }
    const start = startsAt ? Date.parse(startsAt) : Date.now();
    if (Number.isNaN(start)) {
      setErr(`Bad start time "${startsAt}": use RFC 3339, such as 2026-01-02T15:04:05Z`);
      return;
    }
    const keep = loadedTimes !== null && loadedState !== 'expired' && duration === loadedTimes.duration &&
      (startsAt === '' || startsAt === loadedTimes.startsAt);
    const body = {
      ...(id && loadedState !== 'expired' ? { id } : {}),
      matchers: matchers.map(toAPI),
      // An active silence keeps its start, so that it is updated in place.
      startsAt: keep || (loadedTimes !== null && loadedState === 'active' && startsAt === '') ? loadedTimes!.startsAt : new Date(start).toISOString(),
      endsAt: keep ? loadedTimes!.endsAt : new Date(start + dur * 1000).toISOString(),
      createdBy: createdBy.trim(),
      comment: comment.trim(),
    };
    setSaving(true);
    try {
      localStorage.setItem('argus.silenceAuthor', createdBy.trim());
      await v2<{ silenceID: string }>('silences', { method: 'POST', body: JSON.stringify(body) });
      navigate('/silences');
    } catch (e) {
      setErr(`Could not save the silence: ${e instanceof APIError ? e.message : (e as Error).message}`);
    } finally {
      setSaving(false);
    }
  };

  return (
    <div>
      <h1>{id ? (loadedState === 'expired' ? 'Recreate silence' : 'Edit silence') : 'New silence'}</h1>
      <div class="kv" style="max-width: 900px">
        <label for="sm">Matchers</label>
        <div>
          <input id="sm" class="mono" style="width:100%" data-testid="silence-matchers" placeholder='{alertname="HighLoad", instance=~"web-.*"}' value={matcherText} onInput={(e) => setMatcherText((e.target as HTMLInputElement).value)} />
          {matcherErr && matcherText !== '' && <div class="error">{matcherErr}</div>}
        </div>
        <label for="ss">Start</label>
        <input id="ss" placeholder="now (or RFC 3339)" value={startsAt} onInput={(e) => setStartsAt((e.target as HTMLInputElement).value)} />
        <label for="sd">Duration</label>
        <div class="row" style="margin:0">
          <input id="sd" size={8} value={duration} onInput={(e) => setDuration((e.target as HTMLInputElement).value)} />
          {presets.map((p) => <button key={p} onClick={() => setDuration(p)} class={p === duration ? 'primary' : ''}>{p}</button>)}
        </div>
        <label for="sc">Creator</label>
        <input id="sc" data-testid="silence-creator" value={createdBy} onInput={(e) => setCreatedBy((e.target as HTMLInputElement).value)} />
        <label for="sx">Comment</label>
        <textarea id="sx" rows={3} data-testid="silence-comment" value={comment} onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)} />
      </div>
      {err && <div class="error" role="alert">{err}</div>}
      <div class="row">
        {!canEdit && <p class="muted" data-testid="silence-readonly">{editorNeeded}</p>}
        <button class="primary" data-testid="silence-save" disabled={saving || matcherErr !== '' || !canEdit} onClick={save}>{saving ? 'Saving…' : id && loadedState !== 'expired' ? 'Update' : 'Create'}</button>
        <a href="/silences"><button>Cancel</button></a>
      </div>
      <h2>Alerts this silence would silence now: <span data-testid="affected-count">{affected.length}</span></h2>
      {alerts.error && <div class="error">Could not load the current alerts: {alerts.error}</div>}
      {affected.slice(0, 200).map((a) => (
        <div key={a.fingerprint} class="card"><div class="body"><LabelList labels={a.labels} /></div></div>
      ))}
    </div>
  );
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
