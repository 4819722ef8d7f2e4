// What the user typed and has not sent yet, per thread (and for the new chat): it stays with its thread when the
// user goes elsewhere, and survives a reload or a login (localStorage, this browser only).

const KEY = 'jan.unsent';

function readAll(): Record<string, string> {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(KEY) ?? '{}');
    return value && typeof value === 'object' ? (value as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** The unsent text of a thread (`''` for the new chat). */
export function unsentText(key: string): string {
  const text = readAll()[key];
  return typeof text === 'string' ? text : '';
}

const listeners = new Set<(key: string, text: string) => void>();

/** Calls `listener` with every text kept from now on; returns the function that stops it. */
export function onUnsent(listener: (key: string, text: string) => void): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

/** Keeps (or, when empty, forgets) the unsent text of a thread. */
export function keepUnsent(key: string, text: string): void {
  listeners.forEach((l) => l(key, text));
  const all = readAll();
  if (text) all[key] = text;
  else delete all[key];
  try {
    localStorage.setItem(KEY, JSON.stringify(all));
  } catch {
    // Storage full or disabled: the text stays in the box until the page goes.
  }
}
