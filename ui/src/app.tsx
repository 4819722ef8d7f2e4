import { useEffect, useRef, useState } from 'preact/hooks';
import { client } from './client';
import { navigate, useRoute } from './router';
import { Assistants } from './screens/Assistants';
import { Chat } from './screens/Chat';
import { Hub } from './screens/Hub';
import { Login } from './screens/Login';
import { RightPanel } from './screens/RightPanel';
import { Settings } from './screens/Settings';
import { SystemMonitor } from './screens/System';
import { ThreadList } from './screens/ThreadList';
import { describe, dismiss, setState, start, stop, useApp } from './store';

type Gate = 'checking' | 'login' | 'app' | 'unreachable';

export function App() {
  const [gate, setGate] = useState<Gate>('checking');
  const [gateError, setGateError] = useState('');
  const needLogin = useApp((s) => s.needLogin);
  const loginReason = useApp((s) => s.loginReason);

  const check = async () => {
    try {
      const s = await client.session();
      if (s.login_required && !s.authenticated) {
        setGate('login');
        return;
      }
      setGate('app');
      setState({ needLogin: false });
      void start();
    } catch (e) {
      setGateError(describe(e).text);
      setGate('unreachable');
    }
  };
  useEffect(() => void check(), []);
  useEffect(() => {
    if (needLogin) {
      stop();
      setGate('login');
    }
  }, [needLogin]);
  // The server's login redirect lands on .../login: once logged in, go back to the app's own page.
  const loggedIn = () => {
    // What went wrong before the login (the lost connection, the ended session) is over.
    setState({ notices: [], chatErrors: {}, loginReason: undefined });
    if (location.pathname.endsWith('/login')) location.replace(`./${location.hash}`);
    else void check();
  };

  if (gate === 'checking') return <div class="center muted">Connecting…</div>;
  if (gate === 'login') return <Login onDone={loggedIn} reason={loginReason} />;
  if (gate === 'unreachable') {
    return (
      <div class="center">
        <div class="card">
          <h2>Jan</h2>
          <p class="error" role="alert">{gateError}</p>
          <button class="primary" onClick={() => { setGate('checking'); void check(); }}>Retry</button>
        </div>
      </div>
    );
  }
  const logout = client.capabilities.login
    ? async () => {
        stop();
        await client.logout().catch(() => undefined);
        setGate('login');
      }
    : undefined;
  return <Shell onLogout={logout} />;
}

function Shell({ onLogout }: { onLogout?: () => void }) {
  const route = useRoute();
  const connection = useApp((s) => s.connection);
  const notices = useApp((s) => s.notices);
  const threadTitle = useApp((s) =>
    route.screen === 'chat' && route.threadId ? s.threads.find((t) => t.id === route.threadId)?.title : undefined,
  );
  const [menu, setMenu] = useState(false);
  const [panel, setPanel] = useState(() => matchMedia('(min-width: 1100px)').matches);
  const phone = useMedia(PHONE);
  const threadId = route.screen === 'chat' ? route.threadId : undefined;
  const menuRef = useRef(menu);
  menuRef.current = menu;
  const panelRef = useRef(panel);
  panelRef.current = panel;

  // Escape closes the phone menu first (capture: before the chat sees it); what the chat does not take (an edit to
  // cancel, a reply to stop) closes the panel when the focus is in it or it covers the screen.
  useEffect(() => {
    const first = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && menuRef.current) {
        e.preventDefault();
        setMenu(false);
        document.querySelector<HTMLElement>('button.menu')?.focus();
      }
    };
    const last = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented || !panelRef.current) return;
      const inPanel = !!(document.activeElement as HTMLElement | null)?.closest('.panel');
      if (inPanel || matchMedia(PHONE).matches) {
        setPanel(false);
        document.querySelector<HTMLElement>('button[aria-label="Thread settings"]')?.focus();
      }
    };
    addEventListener('keydown', first, true);
    addEventListener('keydown', last);
    return () => {
      removeEventListener('keydown', first, true);
      removeEventListener('keydown', last);
    };
  }, []);
  /** The skip link: to the message box on the chat, else to the screen's content. */
  const skip = () => {
    const target = document.querySelector<HTMLElement>('#composer') ?? document.querySelector<HTMLElement>('main');
    target?.focus();
  };
  const title =
    route.screen === 'chat'
      ? (threadTitle ?? (threadId ? '' : 'New chat'))
      : { hub: 'Hub', assistants: 'Assistants', system: 'System monitor', settings: 'Settings' }[route.screen];

  return (
    <div class={`shell ${menu ? 'menu-open' : ''} ${panel && route.screen === 'chat' ? 'panel-open' : ''}`}>
      <button class="skip-link" onClick={skip}>{route.screen === 'chat' ? 'Skip to the message box' : 'Skip to the content'}</button>
      {/* The closed phone menu is off-screen: out of the Tab order and of screen readers too. */}
      <aside class="sidebar" inert={phone && !menu}>
        <div class="brand">
          <strong>Jan</strong>
          <button class="icon close-menu" aria-label="Close menu" onClick={() => setMenu(false)}>×</button>
        </div>
        <nav class="screens" aria-label="Screens">
          {(
            [
              ['#/', 'Chat', 'chat'],
              ['#/hub', 'Hub', 'hub'],
              ['#/assistants', 'Assistants', 'assistants'],
              ['#/system', 'System', 'system'],
              ['#/settings', 'Settings', 'settings'],
            ] as const
          ).map(([href, label, screen]) => (
            <a key={href} href={href} class={route.screen === screen ? 'active' : ''} onClick={() => setMenu(false)}>{label}</a>
          ))}
        </nav>
        <ThreadList current={threadId} onPick={() => setMenu(false)} />
      </aside>
      <div class="scrim" onClick={() => setMenu(false)} />
      <main tabIndex={-1}>
        <header class="topbar">
          <button class="icon menu" aria-label="Menu" onClick={() => setMenu(true)}>☰</button>
          <h1 class="title">{title}</h1>
          {connection !== 'open' && (
            <span class="badge error" role="status">{connection === 'connecting' ? 'connecting…' : 'server unreachable'}</span>
          )}
          {route.screen === 'chat' && (
            <button class="icon" aria-label="Thread settings" aria-pressed={panel} onClick={() => setPanel(!panel)}>⚙</button>
          )}
        </header>
        <div class="notices">
          {notices.map((n) => (
            <div key={n.id} class={`notice ${n.kind}`} role={n.kind === 'error' ? 'alert' : 'status'}>
              <span>{n.text}</span>
              {n.link && <a href={n.link.href} onClick={() => dismiss(n.id)}>{n.link.label}</a>}
              <button class="icon" aria-label="Dismiss" onClick={() => dismiss(n.id)}>×</button>
            </div>
          ))}
        </div>
        <div class="content">
          {route.screen === 'chat' && <Chat key={threadId ?? ''} threadId={threadId} />}
          {route.screen === 'hub' && <Hub />}
          {route.screen === 'assistants' && <Assistants />}
          {route.screen === 'system' && <SystemMonitor />}
          {route.screen === 'settings' && <Settings onLogout={onLogout} />}
        </div>
      </main>
      {route.screen === 'chat' && panel && <RightPanel key={threadId ?? ''} threadId={threadId} />}
    </div>
  );
}

/** The width where the thread list becomes a menu (styles.css says the same). */
const PHONE = '(max-width: 760px)';

/** Whether the media query matches, following changes. */
function useMedia(query: string): boolean {
  const [matches, setMatches] = useState(() => matchMedia(query).matches);
  useEffect(() => {
    const list = matchMedia(query);
    const update = () => setMatches(list.matches);
    list.addEventListener('change', update);
    update();
    return () => list.removeEventListener('change', update);
  }, [query]);
  return matches;
}

export { navigate };
