// Hash routes (#/t/<id>, #/hub, ...): the document's path never changes, so relative URLs keep working at any
// path prefix and from Electron's file://.
import { useLayoutEffect, useState } from 'preact/hooks';

export type Route =
  | { screen: 'chat'; threadId?: string }
  | { screen: 'hub' }
  | { screen: 'assistants' }
  | { screen: 'system' }
  | { screen: 'settings' };

const SCREENS = ['hub', 'assistants', 'system', 'settings'] as const;

export function parse(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 't' && parts[1]) return { screen: 'chat', threadId: parts[1] };
  const screen = SCREENS.find((name) => name === parts[0]);
  if (screen) return { screen };
  return { screen: 'chat' };
}

export function threadHref(id: string): string {
  return `#/t/${encodeURIComponent(id)}`;
}

export function navigate(href: string): void {
  if (location.hash !== href) location.hash = href;
}

/** The current route; follows the hash from the commit of the first render (a change before that included). */
export function useRoute(): Route {
  const [hash, setHash] = useState(() => location.hash);
  useLayoutEffect(() => {
    const update = () => setHash(location.hash);
    addEventListener('hashchange', update);
    update();
    return () => removeEventListener('hashchange', update);
  }, []);
  return parse(hash);
}
