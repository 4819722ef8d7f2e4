import { useState } from 'preact/hooks';
import { client } from '../client';
import { describe } from '../store';

/**
 * The web login: a clear message for a wrong password and for too many attempts (with the wait), and why it is
 * shown again when a session ended.
 */
export function Login({ onDone, reason }: { onDone: () => void; reason?: string }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await client.login(username, password);
      onDone();
    } catch (err) {
      setError(describe(err).text);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="login">
      <form class="card" onSubmit={submit}>
        <h1>Jan</h1>
        {reason ? <p class="notice info" role="status">{reason}</p> : <p class="muted">Log in to this Jan server.</p>}
        <label>
          Username
          <input name="username" autocomplete="username" value={username} required
            onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" value={password} required
            onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {error && <p class="error" role="alert">{error}</p>}
        <button class="primary" disabled={busy}>{busy ? 'Logging in…' : 'Log in'}</button>
      </form>
    </div>
  );
}
