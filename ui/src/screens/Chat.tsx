import { useEffect, useRef, useState } from 'preact/hooks';
import { client } from '../client';
import { type Message, type Thread, messageText } from '../middleware';
import { navigate, threadHref } from '../router';
import {
  describe,
  getState,
  onEvent,
  putThread,
  refreshThreads,
  report,
  threadSettingsSaved,
  useApp,
  whenLoaded,
} from '../store';
import { Markdown } from './Markdown';

export function threadModelId(thread: Thread | undefined): string | undefined {
  return thread?.assistants?.[0]?.model?.id;
}

interface Streaming {
  threadId: string;
  messageId?: string;
  text: string;
}

/** The conversation: messages with markdown, the composer, streaming with stop, regenerate, edit and resend. */
export function Chat({ threadId }: { threadId?: string }) {
  const thread = useApp((s) => s.threads.find((t) => t.id === threadId));
  const models = useApp((s) => s.models);
  const loaded = useApp((s) => s.loaded);
  const modelStates = useApp((s) => s.modelStates);
  const draftModel = useApp((s) => s.draft.modelId);
  /** The assistant a new chat is for, when the user picked one (the panel is closed on phones). */
  const draftAssistant = useApp((s) => s.assistants.find((a) => a.id === s.draft.assistantId)?.name);
  const [messages, setMessages] = useState<Message[]>([]);
  const [streaming, setStreaming] = useState<Streaming | null>(null);
  const [input, setInput] = useState('');
  const [error, setError] = useState<{ text: string; link?: { href: string; label: string } } | null>(null);
  const [editing, setEditing] = useState<{ id: string; text: string } | null>(null);
  const controller = useRef<AbortController | null>(null);
  /** The thread this screen just created and is streaming into: navigating to it must not reload it. */
  const created = useRef<string | null>(null);
  const list = useRef<HTMLDivElement>(null);
  /**
   * Bumped by every change this screen makes to the messages: a list fetched before it is stale (it would drop the
   * reply being streamed) and is thrown away.
   */
  const epoch = useRef(0);
  /** True from a send, regenerate or resend until its reply ends: the events it causes are this screen's own. */
  const acting = useRef(false);
  const busy = streaming !== null;

  const load = async (id: string) => {
    const at = epoch.current;
    try {
      const loadedMessages = await client.listMessages(id);
      if (location.hash === threadHref(id) && epoch.current === at) setMessages(loadedMessages);
    } catch (e) {
      report(e);
    }
  };

  useEffect(() => {
    setError(null);
    setEditing(null);
    if (!threadId) {
      setMessages([]);
      return;
    }
    if (created.current === threadId) return;
    epoch.current++;
    setMessages([]);
    void load(threadId);
  }, [threadId]);

  // Follow changes made elsewhere (another tab, the API) while idle.
  useEffect(
    () =>
      onEvent((e) => {
        if (!threadId || acting.current) return;
        if ((e.type === 'message_created' || e.type === 'message_updated') && e.message.thread_id === threadId) {
          void load(threadId);
        }
      }),
    [threadId],
  );

  useEffect(() => {
    const el = list.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 200) el.scrollTop = el.scrollHeight;
  }, [messages, streaming]);

  const modelId = threadModelId(thread) ?? draftModel;
  const modelMissing = loaded && (!modelId || !models.some((m) => m.id === modelId));

  /** Starts a local change: lists already on their way are stale, and events are ignored until it ends. */
  const begin = () => {
    acting.current = true;
    epoch.current++;
  };

  const runReply = async (id: string) => {
    const ctl = new AbortController();
    controller.current = ctl;
    setError(null);
    const current: Streaming = { threadId: id, text: '' };
    setStreaming({ ...current });
    try {
      // The panel's changes to this thread made before this reply was asked for are saved first: it uses them.
      await threadSettingsSaved(id);
      const outcome = await client.reply(
        id,
        {
          onMessage: (m) => {
            current.messageId = m.id;
            setMessages((ms) => [...ms, m]);
            setStreaming({ ...current });
          },
          onDelta: (d) => {
            current.text += d;
            setStreaming({ ...current });
          },
        },
        ctl.signal,
      );
      const mid = outcome.message_id ?? current.messageId;
      if (outcome.message) {
        const saved = outcome.message;
        setMessages((ms) => ms.map((m) => (m.id === saved.id ? saved : m)));
      } else if (mid) {
        const text = current.text;
        setMessages((ms) =>
          ms.map((m) =>
            m.id === mid ? { ...m, status: 'stopped', content: [{ type: 'text', text: { value: text, annotations: [] } }] } : m,
          ),
        );
      }
    } catch (e) {
      const mid = current.messageId;
      if (mid) setMessages((ms) => ms.map((m) => (m.id === mid ? { ...m, status: 'error' } : m)));
      setError(describe(e));
      report(e);
    } finally {
      epoch.current++;
      controller.current = null;
      setStreaming(null);
      void refreshThreads();
    }
  };

  const send = async () => {
    const text = input.trim();
    if (!text || busy || acting.current) return;
    acting.current = true;
    // Until the first load, the models (and so a new chat's model) are not known yet: wait for them.
    await whenLoaded();
    const now = getState();
    const chosen = threadModelId(now.threads.find((t) => t.id === threadId)) ?? now.draft.modelId;
    if (!chosen || !now.models.some((m) => m.id === chosen)) {
      acting.current = false;
      setError({ text: 'Choose a model first.', link: { href: '#/hub', label: 'Open the Hub' } });
      return;
    }
    setInput('');
    begin();
    try {
      let id = threadId;
      if (!id) {
        // The draft as it is now: the panel's changes are in it as soon as they are made.
        const draft = getState().draft;
        const t = await client.createThread({
          title: text.slice(0, 60),
          model: {
            id: draft.modelId,
            parameters: draft.parameters,
            settings: draft.ctxLen ? { ctx_len: draft.ctxLen } : undefined,
          },
          instructions: draft.instructions || undefined,
          assistant_id: draft.assistantId,
        });
        id = t.id;
        created.current = id;
        putThread(t);
        setMessages([]);
        navigate(threadHref(id));
      }
      const user = await client.addMessage(id, { role: 'user', content: text });
      setMessages((ms) => [...ms, user]);
      await runReply(id);
    } catch (e) {
      setInput(text);
      setError(describe(e));
      report(e);
    } finally {
      created.current = null;
      acting.current = false;
    }
  };

  const stop = () => controller.current?.abort();

  /** Replaces the last assistant reply with a new one. */
  const regenerate = async () => {
    if (!threadId || busy) return;
    const last = messages.at(-1);
    begin();
    try {
      if (last?.role === 'assistant') {
        await client.deleteMessage(threadId, last.id);
        setMessages((ms) => ms.slice(0, -1));
      }
      await runReply(threadId);
    } catch (e) {
      report(e);
    } finally {
      acting.current = false;
    }
  };

  /** Changes a user message, drops everything after it, and asks again. */
  const resend = async () => {
    if (!threadId || !editing || busy) return;
    const index = messages.findIndex((m) => m.id === editing.id);
    begin();
    try {
      await client.updateMessage(threadId, editing.id, { content: editing.text });
      for (const m of messages.slice(index + 1)) await client.deleteMessage(threadId, m.id);
      setMessages((ms) => [
        ...ms.slice(0, index),
        { ...ms[index], content: [{ type: 'text', text: { value: editing.text, annotations: [] } }] },
      ]);
      setEditing(null);
      await runReply(threadId);
    } catch (e) {
      report(e);
    } finally {
      acting.current = false;
    }
  };

  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void send();
    }
  };

  const state = modelId ? modelStates[modelId] : undefined;
  const lastAssistant = [...messages].reverse().find((m) => m.role === 'assistant');

  return (
    <section class="chat">
      <div class="messages" ref={list} aria-live="polite">
        {messages.length === 0 && !busy && (
          <div class="empty">
            <h2>{thread ? thread.title : draftAssistant ? `New chat with ${draftAssistant}` : 'New chat'}</h2>
            {modelMissing ? (
              <p>
                No model yet. <a href="#/hub">Download or import one in the Hub</a>.
              </p>
            ) : (
              <p class="muted">Ask anything. Enter sends, Shift+Enter adds a line.</p>
            )}
          </div>
        )}
        {messages.map((m) => {
          const live = streaming?.messageId === m.id;
          const text = live ? streaming!.text : messageText(m);
          const isEditing = editing?.id === m.id;
          return (
            <article key={m.id} class={`msg ${m.role} ${live ? 'streaming' : ''}`} data-id={m.id} data-status={m.status}>
              <header>
                <strong>{m.role === 'user' ? 'You' : (thread?.assistants?.[0]?.assistant_name ?? 'Jan')}</strong>
                {m.status && m.status !== 'ready' && !live && <span class={`badge ${m.status}`}>{m.status}</span>}
                {live && <span class="badge pending">{text ? 'writing…' : state?.startsWith('loading') ? `model ${state}` : 'thinking…'}</span>}
              </header>
              {isEditing ? (
                <div class="edit">
                  <textarea value={editing!.text} rows={3} aria-label="Edit message"
                    onInput={(e) => setEditing({ id: m.id, text: e.currentTarget.value })} />
                  <div class="row">
                    <button class="primary" onClick={resend}>Save and resend</button>
                    <button onClick={() => setEditing(null)}>Cancel</button>
                  </div>
                </div>
              ) : m.role === 'user' ? (
                <div class="plain">{text}</div>
              ) : (
                <Markdown text={text} />
              )}
              {!busy && !isEditing && (
                <footer class="actions">
                  {m.role === 'user' && (
                    <button class="link" onClick={() => setEditing({ id: m.id, text: messageText(m) })}>Edit</button>
                  )}
                  {m === lastAssistant && m === messages.at(-1) && (
                    <button class="link" onClick={regenerate}>Regenerate</button>
                  )}
                  {m.role === 'assistant' && typeof m.metadata?.timings?.predicted_per_second === 'number' && (
                    <span class="muted small">{m.metadata.timings.predicted_per_second.toFixed(1)} tokens/s</span>
                  )}
                </footer>
              )}
            </article>
          );
        })}
      </div>
      {error && (
        <div class="error banner" role="alert">
          {error.text} {error.link && <a href={error.link.href}>{error.link.label}</a>}
          {/* A reply that never started (queue full, model failed to load) can be asked for again. */}
          {!busy && threadId && messages.at(-1)?.role === 'user' && (
            <button class="link" onClick={regenerate}>Try again</button>
          )}
          <button class="link" aria-label="Dismiss" onClick={() => setError(null)}>×</button>
        </div>
      )}
      <form class="composer" onSubmit={(e) => { e.preventDefault(); void send(); }}>
        <textarea aria-label="Message" placeholder="Message Jan (Enter sends, Shift+Enter adds a line)" rows={2}
          value={input} onInput={(e) => setInput(e.currentTarget.value)} onKeyDown={onKey} />
        {busy ? (
          <button type="button" class="stop" onClick={stop}>Stop</button>
        ) : (
          <button class="primary" disabled={!input.trim()}>Send</button>
        )}
      </form>
      <p class="muted small model-line">
        {modelId ? `Model: ${modelId}${state ? ` (${state})` : ''}` : 'No model selected'}
      </p>
    </section>
  );
}
