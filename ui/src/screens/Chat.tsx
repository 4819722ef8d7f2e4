import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import {
  NEW_CHAT,
  continueReply,
  deleteMessage,
  isActing,
  regenerate,
  resend,
  sendMessage,
  setChatError,
  shownText,
  showThread,
  stopReply,
  threadModelId,
} from '../conversation';
import { copyText } from '../markdown';
import { type Message, messageText } from '../middleware';
import { navigate, threadHref } from '../router';
import { getState, rememberModel, saveThreadSettings, updateDraft, useApp } from '../store';
import { keepUnsent, onUnsent, unsentText } from '../unsent';
import { Markdown } from './Markdown';

export { threadModelId };

/** A reply that ended before it was done, with text to go on from: cut at max tokens, stopped or interrupted. */
function continuable(m: Message): boolean {
  if (m.role !== 'assistant' || !messageText(m)) return false;
  const code = (m.metadata?.error as { code?: string } | undefined)?.code;
  return m.metadata?.finish_reason === 'length' || m.status === 'stopped' || (m.status === 'error' && code === 'interrupted');
}

/** How close to the end (px) the list must be to follow new text. */
const FOLLOW_SLACK = 80;

/**
 * The conversation of one thread (the app mounts one per thread: nothing here outlives a switch): messages with
 * markdown, the composer, streaming with stop, regenerate, edit and resend. The thread's messages and its reply
 * live in conversation.ts, so a reply goes on while another thread is shown.
 */
export function Chat({ threadId }: { threadId?: string }) {
  const key = threadId ?? NEW_CHAT;
  const thread = useApp((s) => s.threads.find((t) => t.id === threadId));
  const models = useApp((s) => s.models);
  const loaded = useApp((s) => s.loaded);
  const modelStates = useApp((s) => s.modelStates);
  const draftModel = useApp((s) => s.draft.modelId);
  /** The assistant a new chat is for, when the user picked one (the panel is closed on phones). */
  const draftAssistant = useApp((s) => s.assistants.find((a) => a.id === s.draft.assistantId)?.name);
  const conversation = useApp((s) => (threadId ? s.conversations[threadId] : undefined));
  const live = useApp((s) => (threadId ? s.live[threadId] : undefined));
  const error = useApp((s) => s.chatErrors[key]);
  const [input, setInputState] = useState(() => unsentText(key));
  const [editing, setEditing] = useState<{ id: string; text: string } | null>(null);
  /** Set when a reply ends, for screen readers (the list itself is not live: it would read every token). */
  const [announce, setAnnounce] = useState('');
  const [away, setAway] = useState(false);
  const list = useRef<HTMLDivElement>(null);
  const composer = useRef<HTMLTextAreaElement>(null);
  /** Whether the list follows the end (the user has not scrolled up). */
  const following = useRef(true);
  const editingRef = useRef(editing);
  editingRef.current = editing;
  const messages = conversation?.messages ?? [];
  const busy = live !== undefined;

  const setInput = (text: string) => keepUnsent(key, text);
  // A send that failed after this screen was left for the thread it made puts its text back here.
  useEffect(() => onUnsent((k, text) => k === key && setInputState(text)), [key]);

  useEffect(() => {
    showThread(threadId);
    // The composer takes the focus on a new chat or another thread, unless the user already is elsewhere on the
    // page (a field of the panel) or types on a touch screen (the keyboard would cover the thread).
    const at = document.activeElement;
    const free = !at || at === document.body || !!at.closest('.sidebar, .topbar');
    if (free && matchMedia('(pointer: fine)').matches) composer.current?.focus();
  }, []);

  // A thread opens at its newest message and follows the reply while the user has not scrolled up.
  useLayoutEffect(() => {
    const el = list.current;
    if (el && following.current) el.scrollTop = el.scrollHeight;
  });
  const onScroll = () => {
    const el = list.current;
    if (!el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < FOLLOW_SLACK;
    following.current = atEnd;
    setAway(!atEnd);
  };
  const toEnd = () => {
    following.current = true;
    setAway(false);
    list.current?.scrollTo({ top: list.current.scrollHeight });
  };

  const wasLive = useRef(busy);
  useEffect(() => {
    if (wasLive.current && !busy) setAnnounce(`${thread?.assistants?.[0]?.assistant_name ?? 'Jan'} finished replying.`);
    wasLive.current = busy;
  }, [busy]);

  // Escape cancels an edit, or else stops the reply (the shell closes the menu before, and the panel after).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented) return;
      if (editingRef.current) {
        setEditing(null);
        e.preventDefault();
      } else if (threadId && getState().live[threadId]) {
        stopReply(threadId);
        e.preventDefault();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [threadId]);

  const modelId = threadModelId(thread) ?? draftModel;
  const modelMissing = loaded && (!modelId || !models.some((m) => m.id === modelId));

  const send = async () => {
    const text = input.trim();
    if (!text || busy || isActing(threadId)) return;
    setInput('');
    following.current = true;
    let created: string | undefined;
    const sent = await sendMessage(threadId, text, (id) => {
      created = id;
      navigate(threadHref(id));
    });
    // Nothing was sent: the text goes back where it was typed (the new thread, when one was made).
    if (!sent) keepUnsent(created ?? key, text);
  };

  /** The model picker by the composer: the thread's model (saved with it), or the new chat's. */
  const chooseModel = (id: string) => {
    rememberModel(id);
    if (!threadId) updateDraft((d) => ({ ...d, modelId: id }));
    else void saveThreadSettings(threadId, (t) => ({ model: { ...(t.assistants?.[0]?.model ?? { id: '' }), id } }));
  };

  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void send();
    }
  };

  const [copied, setCopied] = useState<string | null>(null);
  const copyMessage = (m: Message) =>
    void copyText(messageText(m)).then((ok) => {
      setCopied(ok ? m.id : null);
      setTimeout(() => setCopied((c) => (c === m.id ? null : c)), 1500);
    });

  const state = modelId ? modelStates[modelId] : undefined;
  const lastAssistant = [...messages].reverse().find((m) => m.role === 'assistant');
  const replier = thread?.assistants?.[0]?.assistant_name ?? 'Jan';
  const actions = (m: Message) => (
    <footer class="actions">
      {m.role === 'user' && (
        <button class="link" onClick={() => setEditing({ id: m.id, text: messageText(m) })}>Edit</button>
      )}
      {m === lastAssistant && m === messages.at(-1) && (
        <button class="link" onClick={() => threadId && void regenerate(threadId)}>
          {m.status === 'error' ? 'Retry' : 'Regenerate'}
        </button>
      )}
      {m === messages.at(-1) && continuable(m) && (
        <button class="link" title="Write on from where the reply ended" onClick={() => {
          if (!threadId) return;
          following.current = true;
          void continueReply(threadId);
        }}>Continue</button>
      )}
      <button class="link" onClick={() => copyMessage(m)}>{copied === m.id ? 'Copied' : 'Copy'}</button>
      {threadId && (
        <button class="link" onClick={() => confirm('Delete this message?') && void deleteMessage(threadId, m.id)}>
          Delete
        </button>
      )}
      {m.role === 'assistant' && m.metadata?.finish_reason === 'length' && (
        <span class="badge" title="The reply reached its max tokens">cut at max tokens</span>
      )}
      {m.role === 'assistant' && typeof m.metadata?.timings?.predicted_per_second === 'number' && (
        <span class="muted small">{m.metadata.timings.predicted_per_second.toFixed(1)} tokens/s</span>
      )}
    </footer>
  );

  return (
    <section class="chat">
      <div class="messages" ref={list} onScroll={onScroll} aria-busy={busy}>
        {messages.length === 0 && !busy && (
          <div class="empty">
            <h2>{thread ? thread.title : draftAssistant ? `New chat with ${draftAssistant}` : 'New chat'}</h2>
            {threadId && !conversation ? (
              <p class="muted">Loading…</p>
            ) : modelMissing ? (
              <p>
                No model yet. <a href="#/hub">Download or import one in the Hub</a>.
              </p>
            ) : (
              <p class="muted">Ask anything. Enter sends, Shift+Enter adds a line.</p>
            )}
          </div>
        )}
        {messages.map((m) => {
          const streaming = live?.messageId === m.id;
          const text = shownText(m, live);
          const isEditing = editing?.id === m.id;
          const failure = m.status === 'error' ? (m.metadata?.error as { message?: string } | undefined)?.message : undefined;
          return (
            <article key={m.id} class={`msg ${m.role} ${streaming ? 'streaming' : ''}`} data-id={m.id} data-status={m.status}>
              <header>
                <strong>{m.role === 'user' ? 'You' : replier}</strong>
                {m.status && m.status !== 'ready' && !streaming && (
                  <span class={`badge ${m.status}`} title={failure}>{m.status}</span>
                )}
                {streaming && <span class="badge pending">{text ? 'writing…' : state?.startsWith('loading') ? `model ${state}` : 'thinking…'}</span>}
              </header>
              {isEditing ? (
                <div class="edit">
                  <textarea value={editing!.text} rows={3} aria-label="Edit message"
                    onInput={(e) => setEditing({ id: m.id, text: e.currentTarget.value })} />
                  <div class="row">
                    <button class="primary" onClick={() => {
                      if (!threadId || !editing) return;
                      const { id, text: changed } = editing;
                      setEditing(null);
                      following.current = true;
                      void resend(threadId, id, changed);
                    }}>Save and resend</button>
                    <button onClick={() => setEditing(null)}>Cancel</button>
                  </div>
                </div>
              ) : m.role === 'user' ? (
                <div class="plain">{text}</div>
              ) : (
                <Markdown text={text} />
              )}
              {failure && !streaming && <p class="muted small failure">{failure}</p>}
              {!busy && !isEditing && actions(m)}
            </article>
          );
        })}
      </div>
      {away && (
        <button class="to-end" aria-label="Jump to the newest message" onClick={toEnd}>↓</button>
      )}
      <div class="sr-only" role="status" aria-live="polite">{announce}</div>
      {error && (
        <div class="error banner" role="alert">
          {error.text} {error.link && <a href={error.link.href}>{error.link.label}</a>}
          {/* A reply that never started (queue full, model failed to load) can be asked for again. */}
          {!busy && threadId && messages.at(-1)?.role === 'user' && (
            <button class="link" onClick={() => void regenerate(threadId)}>Try again</button>
          )}
          <button class="link" aria-label="Dismiss" onClick={() => setChatError(key, undefined)}>×</button>
        </div>
      )}
      <form class="composer" onSubmit={(e) => { e.preventDefault(); void send(); }}>
        <textarea id="composer" ref={composer} aria-label="Message" placeholder="Message Jan (Enter sends, Shift+Enter adds a line)"
          rows={2} value={input} onInput={(e) => setInput(e.currentTarget.value)} onKeyDown={onKey} />
        {busy ? (
          <button type="button" class="stop" onClick={() => stopReply(threadId)}>Stop</button>
        ) : (
          <button class="primary" disabled={!input.trim()}>Send</button>
        )}
      </form>
      <div class="muted small model-line">
        {models.length > 0 ? (
          <label>
            Model{' '}
            <select name="chat-model" value={modelId} onChange={(e) => chooseModel(e.currentTarget.value)}>
              {!models.some((m) => m.id === modelId) && (
                <option value={modelId ?? ''}>{modelId === '*' ? "the assistant's model" : modelId || '(none)'}</option>
              )}
              {models.map((m) => <option key={m.id} value={m.id}>{m.name || m.id}</option>)}
            </select>
          </label>
        ) : (
          'No model yet'
        )}{' '}
        <span class="model-id">{modelId}{state ? ` (${state})` : ''}</span>
      </div>
    </section>
  );
}
