// Label sets as the UI shows them: the PromQL series notation.

export type Labels = Record<string, string>;

// escapeValue quotes a label value the way PromQL writes string literals.
export function escapeValue(v: string): string {
  return JSON.stringify(v);
}

// seriesName writes labels as `name{a="1", b="2"}`, name first, the others
// sorted, so that the same series always reads the same.
export function seriesName(labels: Labels): string {
  const name = labels.__name__ ?? '';
  const rest = Object.keys(labels)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${escapeValue(labels[k])}`);
  if (rest.length === 0) return name === '' ? '{}' : name;
  return `${name}{${rest.join(', ')}}`;
}

// selector writes labels as a PromQL selector that matches exactly them.
export function selector(labels: Labels): string {
  return `{${Object.keys(labels).sort().map((k) => `${k}=${escapeValue(labels[k])}`).join(', ')}}`;
}
