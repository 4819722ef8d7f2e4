// Each thread's messages and the reply being written in it, kept outside the chat screen: a reply goes on while
// the user reads or writes in another thread, and coming back to it shows it where it is. The chat screen only
// renders what is here and calls the actions below.

import { client } from './client';
import { JanError, type Message, type ReplyOptions, messageText } from './middleware';
import {
  describe,
  getState,
  onEvent,
  putThread,
  refreshThreads,
  rememberModel,
  report,
  setState,
  threadSettingsSaved,
  whenLoaded,
} from './store';

/** A reply being written: its pending message (once the core made it) and the text so far. */
export interface LiveReply {
  messageId?: string;
  text: string;
}

/** What the chat shows about a failure: a sentence and where to act on it. */
export interface ChatError {
  text: string;
  link?: { href: string; label: string };
}

/** A thread's messages as last loaded or changed here; `loaded` is false until its first list arrives. */
export interface Conversation {
  messages: Message[];
  loaded: boolean;
}

/** The key of the new chat (no thread yet) in `chatErrors`. */
export const NEW_CHAT = '';

/** The model a thread replies with. */
export function threadModelId(thread: { assistants?: { model?: { id?: string } }[] } | undefined): string | undefined {
  return thread?.assistants?.[0]?.model?.id;
}

// Per thread: an action in progress (send, regenerate, resend: from its first request until its reply ended) and
// a count bumped by every change made here. A list asked for before a change is stale and thrown away; events
// about a thread with an action in progress are the action's own and are not re-read.
const acting = new Set<string>();
const epochs = new Map<string, number>();
const controllers = new Map<string, AbortController>();
/** The thread the chat shows: the one whose changes made elsewhere are re-read at once. */
let shown: string | undefined;

const bump = (id: string) => epochs.set(id, (epochs.get(id) ?? 0) + 1);

function setConversation(id: string, change: (messages: Message[]) => Message[]): void {
  setState((s) => {
    const current = s.conversations[id] ?? { messages: [], loaded: true };
    return { conversations: { ...s.conversations, [id]: { messages: change(current.messages), loaded: true } } };
  });
}

function setLive(id: string, live: LiveReply | undefined): void {
  setState((s) => {
    const { [id]: _, ...rest } = s.live;
    return { live: live ? { ...rest, [id]: live } : rest };
  });
}

export function setChatError(key: string, error: ChatError | undefined): void {
  setState((s) => {
    const { [key]: _, ...rest } = s.chatErrors;
    return { chatErrors: error ? { ...rest, [key]: error } : rest };
  });
}

/** Whether an action (send, regenerate, resend) runs in the thread. */
export function isActing(id: string | undefined): boolean {
  return id !== undefined && acting.has(id);
}

/** Loads a thread's messages, unless an action there is under way (its own copy is current). */
export async function loadMessages(id: string): Promise<void> {
  if (acting.has(id)) return;
  const at = epochs.get(id) ?? 0;
  try {
    const messages = await client.listMessages(id);
    if ((epochs.get(id) ?? 0) === at && !acting.has(id)) {
      setState((s) => ({ conversations: { ...s.conversations, [id]: { messages, loaded: true } } }));
    }
  } catch (e) {
    report(e);
  }
}

/** The chat now shows `id` (or the new chat): loads it, and follows changes made to it elsewhere. */
export function showThread(id: string | undefined): void {
  shown = id;
  if (id) void loadMessages(id);
}

/** A message of some thread changed elsewhere (another tab, the API, the core finishing an interrupted reply). */
export function messageChanged(threadId: string): void {
  if (acting.has(threadId)) return;
  if (threadId === shown) void loadMessages(threadId);
  else if (getState().conversations[threadId]) {
    // Re-read when it is next shown.
    bump(threadId);
    setState((s) => {
      const { [threadId]: _, ...rest } = s.conversations;
      return { conversations: rest };
    });
  }
}

/** Runs `work` as the thread's action: one at a time per thread; lists on their way are stale. */
async function act(id: string, work: () => Promise<void>): Promise<void> {
  acting.add(id);
  bump(id);
  try {
    await work();
  } finally {
    acting.delete(id);
    bump(id);
  }
}

/**
 * Generates the assistant's reply in thread `id`, streaming it into the thread's live reply; with `continue`, goes
 * on with its last reply (the core sends that message, with its text so far, first).
 */
async function runReply(id: string, options?: ReplyOptions): Promise<void> {
  const ctl = new AbortController();
  controllers.set(id, ctl);
  setChatError(id, undefined);
  const live: LiveReply = { text: '' };
  setLive(id, { ...live });
  /** Whether the server went away: the list of threads is not asked for (it would only fail, and say so again). */
  let lost = false;
  try {
    // The panel's changes to this thread made before this reply was asked for are saved first: it uses them.
    await threadSettingsSaved(id);
    const outcome = await client.reply(
      id,
      {
        onMessage: (m) => {
          live.messageId = m.id;
          live.text = messageText(m);
          setConversation(id, (ms) => (ms.some((x) => x.id === m.id) ? ms.map((x) => (x.id === m.id ? m : x)) : [...ms, m]));
          setLive(id, { ...live });
        },
        onDelta: (d) => {
          live.text += d;
          setLive(id, { ...live });
        },
      },
      ctl.signal,
      options,
    );
    const mid = outcome.message_id ?? live.messageId;
    if (outcome.message) {
      const saved = outcome.message;
      setConversation(id, (ms) => ms.map((m) => (m.id === saved.id ? saved : m)));
    } else if (mid) {
      const text = live.text;
      setConversation(id, (ms) =>
        ms.map((m) => (m.id === mid ? { ...m, status: 'stopped', content: [textPart(text)] } : m)),
      );
    }
  } catch (e) {
    const mid = live.messageId;
    // What was shown stays: the core keeps it too (saved as it streamed), and Retry asks again.
    const text = live.text;
    if (mid) {
      setConversation(id, (ms) =>
        ms.map((m) => (m.id === mid ? { ...m, status: 'error', content: text ? [textPart(text)] : m.content } : m)),
      );
    }
    lost = e instanceof JanError && (e.code === 'connection_lost' || e.code === 'unreachable');
    failed(id, e);
  } finally {
    controllers.delete(id);
    setLive(id, undefined);
    if (!lost) void refreshThreads();
  }
}

function textPart(value: string) {
  return { type: 'text', text: { value, annotations: [] } } as Message['content'][number];
}

/** A failure of an action in the thread (or NEW_CHAT) `key`: said once, in the chat, or by the login. */
function failed(key: string, e: unknown): void {
  const here = describeChatError(e);
  if (here) setChatError(key, here);
  else report(e);
}

/** A failure as the chat shows it; a stop or a lost session shows nothing here (the login says why). */
function describeChatError(e: unknown): ChatError | undefined {
  if (e instanceof DOMException && e.name === 'AbortError') return undefined;
  if (e instanceof JanError && (e.code === 'unauthorized' || e.status === 401)) return undefined;
  return describe(e);
}

/**
 * Sends `text` in thread `threadId`, or in a new thread made from the draft (then `onCreated` gets its id, to show
 * it). Resolves false when nothing was sent (the text stays the caller's).
 */
export async function sendMessage(
  threadId: string | undefined,
  text: string,
  onCreated: (id: string) => void,
): Promise<boolean> {
  if (!text || (threadId && acting.has(threadId))) return false;
  const key = threadId ?? NEW_CHAT;
  // Until the first load, the models (and so a new chat's model) are not known yet: wait for them.
  await whenLoaded();
  const now = getState();
  const chosen = threadModelId(now.threads.find((t) => t.id === threadId)) ?? now.draft.modelId;
  if (!chosen || !now.models.some((m) => m.id === chosen)) {
    setChatError(key, { text: 'Choose a model first.', link: { href: '#/hub', label: 'Open the Hub' } });
    return false;
  }
  rememberModel(chosen);
  let id = threadId;
  if (!id) {
    try {
      // The draft as it is now: the panel's changes are in it as soon as they are made.
      const draft = getState().draft;
      const t = await client.createThread({
        title: titleFrom(text),
        model: {
          id: draft.modelId,
          parameters: draft.parameters,
          settings: draft.ctxLen ? { ctx_len: draft.ctxLen } : undefined,
        },
        instructions: draft.instructions || undefined,
        assistant_id: draft.assistantId,
      });
      id = t.id;
      putThread(t);
    } catch (e) {
      failed(key, e);
      return false;
    }
  }
  const thread = id;
  let sent = true;
  await act(thread, async () => {
    setChatError(NEW_CHAT, undefined);
    if (!threadId) {
      setState((s) => ({ conversations: { ...s.conversations, [thread]: { messages: [], loaded: true } } }));
      onCreated(thread);
    }
    try {
      const user = await client.addMessage(thread, { role: 'user', content: text });
      setConversation(thread, (ms) => [...ms, user]);
    } catch (e) {
      sent = false;
      failed(thread, e);
      return;
    }
    await runReply(thread);
  });
  return sent;
}

/** A new thread's title from its first message: up to 60 characters, cut at a word. */
export function titleFrom(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line.length <= 60) return line;
  const cut = line.slice(0, 60);
  const space = cut.lastIndexOf(' ');
  return `${(space > 30 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** Replaces the last assistant reply of the thread with a new one (or asks for one after a user message). */
export function regenerate(id: string): Promise<void> {
  if (acting.has(id)) return Promise.resolve();
  return act(id, async () => {
    const last = getState().conversations[id]?.messages.at(-1);
    try {
      if (last?.role === 'assistant') {
        await client.deleteMessage(id, last.id);
        setConversation(id, (ms) => ms.filter((m) => m.id !== last.id));
      }
    } catch (e) {
      report(e);
      return;
    }
    await runReply(id);
  });
}

/** Goes on with the thread's last reply (cut at max tokens, stopped or interrupted): the text is added to it. */
export function continueReply(id: string): Promise<void> {
  if (acting.has(id)) return Promise.resolve();
  return act(id, () => runReply(id, { continue: true }));
}

/** Changes a user message, drops everything after it, and asks again. */
export function resend(id: string, messageId: string, text: string): Promise<void> {
  if (acting.has(id)) return Promise.resolve();
  return act(id, async () => {
    const messages = getState().conversations[id]?.messages ?? [];
    const index = messages.findIndex((m) => m.id === messageId);
    if (index < 0) return;
    try {
      await client.updateMessage(id, messageId, { content: text });
      for (const m of messages.slice(index + 1)) await client.deleteMessage(id, m.id);
    } catch (e) {
      report(e);
      return;
    }
    setConversation(id, (ms) => [...ms.slice(0, index), { ...ms[index], content: [textPart(text)] }]);
    await runReply(id);
  });
}

/** Deletes one message of the thread (not while an action runs there). */
export async function deleteMessage(id: string, messageId: string): Promise<void> {
  if (acting.has(id)) return;
  bump(id);
  try {
    await client.deleteMessage(id, messageId);
    setConversation(id, (ms) => ms.filter((m) => m.id !== messageId));
  } catch (e) {
    report(e);
  }
}

/** Stops the reply being written in the thread. */
export function stopReply(id: string | undefined): void {
  if (id) controllers.get(id)?.abort();
}

/** The text a message shows: the live reply's while it is written. */
export function shownText(m: Message, live: LiveReply | undefined): string {
  return live?.messageId === m.id ? live.text : messageText(m);
}

// Changes made elsewhere (another tab, the API, the core marking a reply interrupted) reach the cached threads.
onEvent((e) => {
  if (e.type === 'message_created' || e.type === 'message_updated') messageChanged(e.message.thread_id);
  else if (e.type === 'thread_deleted') {
    setState((s) => {
      const { [e.thread_id]: _, ...rest } = s.conversations;
      return { conversations: rest };
    });
  }
});
