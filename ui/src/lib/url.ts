// safeHref keeps a link from data (dashboards, alerts) only if it leads to
// a web page: http, https or a path on this server. A javascript: or data:
// URL becomes no link at all.
export function safeHref(u: string | undefined | null): string | undefined {
  if (!u) return undefined;
  try {
    // Outside a page (unit tests) a relative link is read against any origin.
    const url = new URL(u, typeof location === 'undefined' ? 'http://localhost/' : location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? u : undefined;
  } catch {
    return undefined;
  }
}
