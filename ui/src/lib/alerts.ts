// Filtering of the alert groups the alert manager's routing tree formed.
import type { AlertGroup, AMAlert } from '../api';
import { matchesAll, type Matcher } from './matchers';

export interface AlertFilter {
  matchers: Matcher[];
  silenced: boolean; // show silenced alerts too
  inhibited: boolean; // show inhibited alerts too
  receiver: string; // "" for all
}

export function isSilenced(a: AMAlert): boolean {
  return (a.status.silencedBy ?? []).length > 0;
}

export function isInhibited(a: AMAlert): boolean {
  return (a.status.inhibitedBy ?? []).length > 0;
}

export function keepAlert(a: AMAlert, f: AlertFilter): boolean {
  if (!f.silenced && isSilenced(a)) return false;
  if (!f.inhibited && isInhibited(a)) return false;
  return matchesAll(f.matchers, a.labels);
}

// filterGroups keeps the alerts the filter lets through and drops groups
// left empty. Groups are sorted by receiver, then by their labels, and
// alerts by start time, oldest first, so the view does not jump about.
export function filterGroups(groups: AlertGroup[], f: AlertFilter): AlertGroup[] {
  const out: AlertGroup[] = [];
  for (const g of groups) {
    if (f.receiver !== '' && g.receiver.name !== f.receiver) continue;
    const alerts = g.alerts.filter((a) => keepAlert(a, f));
    if (alerts.length === 0) continue;
    alerts.sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.fingerprint.localeCompare(b.fingerprint));
    out.push({ ...g, alerts });
  }
  out.sort((a, b) => a.receiver.name.localeCompare(b.receiver.name) || groupKey(a).localeCompare(groupKey(b)));
  return out;
}

export function groupKey(g: AlertGroup): string {
  return Object.keys(g.labels).sort().map((k) => `${k}=${g.labels[k]}`).join(',');
}

// hiddenCounts says how many alerts the silenced and inhibited switches hide.
export function hiddenCounts(groups: AlertGroup[]): { silenced: number; inhibited: number } {
  const seen = new Set<string>();
  let silenced = 0;
  let inhibited = 0;
  for (const g of groups) {
    for (const a of g.alerts) {
      if (seen.has(a.fingerprint)) continue;
      seen.add(a.fingerprint);
      if (isSilenced(a)) silenced++;
      if (isInhibited(a)) inhibited++;
    }
  }
  return { silenced, inhibited };
}
