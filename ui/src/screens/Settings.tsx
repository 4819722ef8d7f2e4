import { useEffect, useRef, useState } from 'preact/hooks';
import { client } from '../client';
import { when } from '../format';
import { copyText } from '../markdown';
import type { ApiKey, EngineSettings } from '../middleware';
import { notify, report, useApp } from '../store';
import { type Theme, getTheme, setTheme } from '../theme';

function ApiKeys() {
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [name, setName] = useState('');
  const [fresh, setFresh] = useState<ApiKey | null>(null);
  const load = () => client.listApiKeys().then(setKeys, report);
  useEffect(() => void load(), []);

  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const k = await client.createApiKey(name.trim() || undefined);
      setFresh(k);
      setName('');
      await load();
    } catch (err) {
      report(err);
    }
  };
  const revoke = async (k: ApiKey) => {
    if (!confirm(`Revoke "${k.name}"? Programs using it stop working.`)) return;
    try {
      await client.revokeApiKey(k.id);
      await load();
    } catch (err) {
      report(err);
    }
  };

  /** The API's address as this page reaches the server (the document's directory, any path prefix kept). */
  const baseUrl = new URL('v1', location.href.split('#')[0]).href;
  const modelId = useApp((s) => s.draft.modelId);
  return (
    <div class="card">
      <h3>API keys</h3>
      <p class="muted small">For programs using the OpenAI-compatible API. Base URL:</p>
      <code class="base-url">{baseUrl}</code>
      <pre class="curl" tabIndex={0} aria-label="Example request"><code>{`curl ${baseUrl}/chat/completions \\
  -H "Authorization: Bearer ${fresh?.key ?? '<your key>'}" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${modelId || '<model id>'}", "messages": [{"role": "user", "content": "Hello"}]}'`}</code></pre>
      {fresh?.key && (
        <div class="fresh-key" role="status">
          <p>Copy this key now: it is not shown again.</p>
          <code class="key">{fresh.key}</code>
          <div class="row">
            <button class="primary" onClick={() => copyText(fresh.key!).then((ok) => notify(ok ? 'Copied.' : 'Copy failed.'))}>Copy</button>
            <button onClick={() => setFresh(null)}>Done</button>
          </div>
        </div>
      )}
      <ul class="keys">
        {keys.map((k) => (
          <li key={k.id}>
            <span><strong>{k.name}</strong> <span class="muted small">{k.prefix}… · {when(k.created)}</span></span>
            <button onClick={() => revoke(k)}>Revoke</button>
          </li>
        ))}
      </ul>
      <form class="row" onSubmit={create}>
        <input aria-label="Key name" placeholder="Name (e.g. my script)" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <button class="primary">Create key</button>
      </form>
    </div>
  );
}

function RemoteEngine() {
  const [settings, setSettings] = useState<EngineSettings | null>(null);
  const [url, setUrl] = useState('');
  const [key, setKey] = useState('');
  /** The URL was typed in: the saved one, when it arrives after that, must not replace it. */
  const typed = useRef(false);
  useEffect(() => {
    client.getEngine('openai').then((s) => {
      setSettings(s);
      if (!typed.current) setUrl(s.full_url);
    }, report);
  }, []);
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      const s = await client.setEngine('openai', { full_url: url.trim(), api_key: key ? key : undefined });
      setSettings(s);
      setKey('');
      notify('Remote engine saved.');
    } catch (err) {
      report(err);
    }
  };
  return (
    <form class="card" onSubmit={save}>
      <h3>Remote engine (OpenAI-compatible)</h3>
      <label>
        URL
        <input name="full_url" type="url" placeholder="https://api.openai.com/v1/chat/completions" value={url}
          onInput={(e) => {
            typed.current = true;
            setUrl(e.currentTarget.value);
          }} />
      </label>
      <label>
        API key
        <input name="api_key" type="password" autocomplete="off"
          placeholder={settings?.api_key_set ? `set (${settings.api_key}); type to replace` : 'not set'}
          value={key} onInput={(e) => setKey(e.currentTarget.value)} />
      </label>
      <button class="primary">Save</button>
    </form>
  );
}

/** API keys, the remote engine, the theme, and logging out. */
export function Settings({ onLogout }: { onLogout?: () => void }) {
  const [theme, setThemeState] = useState<Theme>(getTheme());
  const pick = (t: Theme) => {
    setTheme(t);
    setThemeState(t);
  };
  return (
    <section class="page settings">
      <h2>Settings</h2>
      <div class="card">
        <h3>Appearance</h3>
        <div class="row" role="radiogroup" aria-label="Theme">
          {(['system', 'light', 'dark'] as Theme[]).map((t) => (
            <label class="radio" key={t}>
              <input type="radio" name="theme" checked={theme === t} onChange={() => pick(t)} /> {t}
            </label>
          ))}
        </div>
      </div>
      {client.capabilities.apiKeys && <ApiKeys />}
      <RemoteEngine />
      {onLogout && (
        <div class="card">
          <h3>Session</h3>
          <button onClick={onLogout}>Log out</button>
        </div>
      )}
    </section>
  );
}
