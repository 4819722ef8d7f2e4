// Hash routes (#/t/<id>, #/hub, ...): the document's path never changes, so relative URLs keep working at any
// path prefix and from Electron's file://.
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { screen: 'chat'; threadId?: string }
  | { screen: 'hub' }
  | { screen: 'system' }
  | { screen: 'settings' };

export function parse(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 't' && parts[1]) return { screen: 'chat', threadId: parts[1] };
  if (parts[0] === 'hub' || parts[0] === 'system' || parts[0] === 'settings') return { screen: parts[0] };
  return { screen: 'chat' };
}

export function threadHref(id: string): string {
  return `#/t/${encodeURIComponent(id)}`;
}

export function navigate(href: string): void {
  if (location.hash !== href) location.hash = href;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const update = () => setRoute(parse(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
