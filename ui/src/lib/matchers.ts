// Label matchers in the syntax Alertmanager and amtool take:
// `{alertname="Down", severity=~"crit|page"}` or the same without braces.
import type { Labels } from './labels';

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  type: MatchType;
  value: string;
}

// The API's shape (as /api/v2/silences takes it).
export interface APIMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual?: boolean; // absent means true, as in Alertmanager's API
}

export class MatcherError extends Error {}

const nameRe = /^[a-zA-Z_][a-zA-Z0-9_]*/;

// parseMatchers reads a list of matchers; it throws a MatcherError that
// names the position and what was expected.
export function parseMatchers(text: string): Matcher[] {
  let s = text.trim();
  if (s.startsWith('{')) {
    if (!s.endsWith('}')) throw new MatcherError('missing closing "}"');
    s = s.slice(1, -1);
  }
  const out: Matcher[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  while (true) {
    skipSpace();
    if (i >= s.length) break;
    const nm = nameRe.exec(s.slice(i));
    if (!nm) throw new MatcherError(`expected a label name at position ${i + 1}`);
    const name = nm[0];
    i += name.length;
    skipSpace();
    const op = (['=~', '!~', '!=', '='] as MatchType[]).find((o) => s.startsWith(o, i));
    if (!op) throw new MatcherError(`expected =, !=, =~ or !~ after "${name}"`);
    i += op.length;
    skipSpace();
    let value: string;
    if (s[i] === '"' || s[i] === "'") {
      const q = s[i];
      let j = i + 1;
      let v = '';
      while (j < s.length && s[j] !== q) {
        if (s[j] === '\\' && j + 1 < s.length) {
          const c = s[j + 1];
          v += c === 'n' ? '\n' : c === 't' ? '\t' : c;
          j += 2;
        } else {
          v += s[j++];
        }
      }
      if (j >= s.length) throw new MatcherError(`unterminated quoted value for "${name}"`);
      value = v;
      i = j + 1;
    } else {
      const m = /^[^,\s}]*/.exec(s.slice(i))!;
      value = m[0];
      i += value.length;
    }
    if (op === '=~' || op === '!~') {
      try {
        anchored(value);
      } catch {
        throw new MatcherError(`invalid regular expression for "${name}": ${value}`);
      }
    }
    out.push({ name, type: op, value });
    skipSpace();
    if (i < s.length) {
      if (s[i] !== ',') throw new MatcherError(`expected "," at position ${i + 1}`);
      i++;
    }
  }
  return out;
}

// anchored compiles a matcher's regex as Alertmanager does (anchored at
// both ends). A leading (?i), which Go's regexp takes and JavaScript does
// not, becomes the case-insensitive flag.
export function anchored(re: string): RegExp {
  const ci = re.startsWith('(?i)');
  return new RegExp(`^(?:${ci ? re.slice(4) : re})$`, ci ? 'i' : '');
}

export function matches(m: Matcher, labels: Labels): boolean {
  const v = labels[m.name] ?? '';
  switch (m.type) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return anchored(m.value).test(v);
    case '!~':
      return !anchored(m.value).test(v);
  }
}

export function matchesAll(ms: Matcher[], labels: Labels): boolean {
  return ms.every((m) => matches(m, labels));
}

export function toAPI(m: Matcher): APIMatcher {
  return { name: m.name, value: m.value, isRegex: m.type === '=~' || m.type === '!~', isEqual: m.type === '=' || m.type === '=~' };
}

export function fromAPI(m: APIMatcher): Matcher {
  const type: MatchType = m.isRegex ? (m.isEqual === false ? '!~' : '=~') : m.isEqual === false ? '!=' : '=';
  return { name: m.name, type, value: m.value };
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.type}${JSON.stringify(m.value)}`;
}

export function formatMatchers(ms: Matcher[]): string {
  return `{${ms.map(formatMatcher).join(', ')}}`;
}

// fromLabels is the matcher list of a silence pre-filled from an alert:
// every label of the alert, by equality.
export function fromLabels(labels: Labels): Matcher[] {
  return Object.keys(labels).sort().map((name) => ({ name, type: '=' as MatchType, value: labels[name] }));
}
