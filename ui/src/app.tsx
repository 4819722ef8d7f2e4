import { useEffect, useState } from 'preact/hooks';
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
    if (location.pathname.endsWith('/login')) location.replace(`./${location.hash}`);
    else void check();
  };

  if (gate === 'checking') return <div class="center muted">Connecting…</div>;
  if (gate === 'login') return <Login onDone={loggedIn} />;
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
  const threadId = route.screen === 'chat' ? route.threadId : undefined;
  const title =
    route.screen === 'chat'
      ? (threadTitle ?? (threadId ? '' : 'New chat'))
      : { hub: 'Hub', assistants: 'Assistants', system: 'System monitor', settings: 'Settings' }[route.screen];

  return (
    <div class={`shell ${menu ? 'menu-open' : ''} ${panel && route.screen === 'chat' ? 'panel-open' : ''}`}>
      <aside class="sidebar">
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
      <main>
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
          {route.screen === 'chat' && <Chat threadId={threadId} />}
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

export { navigate };
