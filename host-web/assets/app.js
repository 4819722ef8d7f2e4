// Relative URLs only: the page works behind any host name or proxy path.
const $ = (id) => document.getElementById(id);
const messages = [];
let controller = null;

async function api(path, options = {}) {
  const res = await fetch(path, { credentials: 'same-origin', ...options });
  if (res.status === 401) { location.href = 'login'; throw new Error('not logged in'); }
  return res;
}

async function start() {
  const health = await fetch('health').then((r) => r.json()).catch(() => null);
  $('status').textContent = health ? 'server ok' : 'server unreachable';
  const session = await fetch('api/session', { credentials: 'same-origin' }).then((r) => (r.ok ? r.json() : null)).catch(() => null);
  if (session && session.login_required) { $('logout').hidden = false; }
  await loadModels();
  watchEvents();
}

function option(value, text) {
  const o = document.createElement('option');
  o.value = value; o.textContent = text; return o;
}

async function loadModels() {
  const models = await api('v1/models').then((r) => r.json());
  $('model').replaceChildren(...models.data.map((m) => option(m.id, m.name || m.id)));
  if (!models.data.length) { $('log').textContent = 'No model yet: download one below or import one (see the README).'; }
  const catalog = await api('v1/catalog').then((r) => r.json());
  const gb = (bytes) => (bytes ? ` (${(bytes / 1e9).toFixed(1)} GB)` : '');
  $('catalog').replaceChildren(...catalog.data.filter((m) => m.status !== 'downloaded')
    .map((m) => option(m.id, `${m.name || m.id}${gb(m.metadata?.size)}${m.status === 'downloading' ? ' …' : ''}`)));
}

// The core's events: download progress and the end of a download.
function watchEvents() {
  const events = new EventSource('api/events');
  events.onmessage = (e) => {
    const event = JSON.parse(e.data);
    if (event.type === 'download_progress') {
      const pct = event.total ? ` ${(100 * event.transferred / event.total).toFixed(1)}%` : '';
      $('progress').textContent = `${event.model_id}:${pct} ${(event.transferred / 1e6).toFixed(0)} MB`;
    } else if (event.type === 'download_done') {
      $('progress').textContent = `${event.model_id}: ready`; loadModels();
    } else if (event.type === 'download_failed') {
      $('progress').textContent = `${event.model_id}: ${event.message}`;
    }
  };
}

function append(cls, text) {
  const div = document.createElement('div');
  div.className = cls; div.textContent = text; $('log').append(div); return div;
}

async function send(text) {
  messages.push({ role: 'user', content: text });
  append('user', text);
  const out = append('assistant', '');
  controller = new AbortController();
  $('stop').disabled = false;
  try {
    const res = await api('v1/chat/completions', {
      method: 'POST', signal: controller.signal, headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: $('model').value, messages, stream: true }),
    });
    if (!res.ok) { out.textContent = (await res.json()).error.message; return; }
    const reader = res.body.getReader(); const decoder = new TextDecoder(); let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        const data = event.replace(/^data: /, '');
        if (data === '[DONE]') continue;
        const delta = JSON.parse(data).choices?.[0]?.delta?.content;
        if (delta) out.textContent += delta;
      }
    }
    messages.push({ role: 'assistant', content: out.textContent });
  } catch (e) {
    if (e.name !== 'AbortError') out.textContent += ` [${e.message}]`;
  } finally { $('stop').disabled = true; controller = null; }
}

$('chat').addEventListener('submit', (e) => { e.preventDefault(); const t = $('prompt').value.trim(); if (t) { $('prompt').value = ''; send(t); } });
$('prompt').addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('chat').requestSubmit(); } });
$('get').addEventListener('submit', async (e) => {
  e.preventDefault();
  const id = $('catalog').value;
  if (!id) return;
  const res = await api(`v1/models/download/${encodeURIComponent(id)}`, { method: 'POST' });
  $('progress').textContent = res.ok ? `${id}: starting…` : (await res.json()).error.message;
});
$('stop').addEventListener('click', () => controller && controller.abort());
$('logout').addEventListener('click', async (e) => { e.preventDefault(); await fetch('api/logout', { method: 'POST', credentials: 'same-origin' }); location.href = 'login'; });
start();
