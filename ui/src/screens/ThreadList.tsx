import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { client } from '../client';
import { dayGroup, when } from '../format';
import type { Thread } from '../middleware';
import { navigate, threadHref } from '../router';
import { putThread, removeThread, report, useApp } from '../store';

/** The threads, most recently updated first; new, rename, delete; the current one highlighted. */
/** Whether a thread is pinned (Jan keeps it in the thread's metadata). */
const pinned = (t: Thread) => t.metadata?.pinned === true;

/** The threads matching `query` (title or last message), grouped: Pinned, then by day. */
export function groupThreads(threads: Thread[], query: string, now = new Date()): [string, Thread[]][] {
  const q = query.trim().toLowerCase();
  const matches = (t: Thread) =>
    !q || `${t.title ?? ''} ${String(t.metadata?.lastMessage ?? '')}`.toLowerCase().includes(q);
  const groups = new Map<string, Thread[]>();
  for (const t of threads.filter(matches)) {
    const group = pinned(t) ? 'Pinned' : dayGroup(t.updated ?? t.created, now);
    groups.set(group, [...(groups.get(group) ?? []), t]);
  }
  const order = ['Pinned', 'Today', 'Yesterday', 'Previous 7 days', 'Earlier'];
  return order.filter((g) => groups.has(g)).map((g) => [g, groups.get(g)!]);
}

export function ThreadList({ current, onPick }: { current?: string; onPick: () => void }) {
  const threads = useApp((s) => s.threads);
  const [query, setQuery] = useState('');
  const groups = groupThreads(threads, query);
  const [renaming, setRenamingState] = useState<{ id: string; title: string } | null>(null);
  /** The rename in progress, read by the handlers (Enter, then the blur of the removed field, must save once). */
  const renamingRef = useRef(renaming);
  const setRenaming = (value: { id: string; title: string } | null) => {
    renamingRef.current = value;
    setRenamingState(value);
  };
  const field = useRef<HTMLInputElement>(null);
  useLayoutEffect(() => {
    if (renaming && document.activeElement !== field.current) {
      field.current?.focus();
      field.current?.select();
    }
  }, [renaming?.id]);

  /** Saves the rename in progress (Enter, or leaving the field); a second call for the same rename does nothing. */
  const rename = async (e?: Event) => {
    e?.preventDefault();
    const editing = renamingRef.current;
    if (!editing) return;
    setRenaming(null);
    const { id, title } = editing;
    const before = threads.find((t) => t.id === id)?.title;
    const next = title.trim() || 'Untitled';
    if (next === before) return;
    try {
      putThread(await client.updateThread(id, { title: next }));
    } catch (err) {
      report(err);
    }
  };

  /** Escape: the title stays as it was; the focus goes back to the thread's rename button. */
  const cancel = (e: KeyboardEvent, id: string) => {
    e.preventDefault();
    e.stopPropagation();
    setRenaming(null);
    requestAnimationFrame(() =>
      (document.querySelector(`.thread[data-thread-id="${CSS.escape(id)}"] button[aria-label^=Rename]`) as HTMLElement | null)?.focus(),
    );
  };

  const togglePin = async (t: Thread) => {
    try {
      putThread(await client.updateThread(t.id, { metadata: { pinned: !pinned(t) } }));
    } catch (err) {
      report(err);
    }
  };

  const remove = async (id: string, title: string) => {
    if (!confirm(`Delete "${title}" and its messages?`)) return;
    try {
      await client.deleteThread(id);
      removeThread(id);
      if (id === current) navigate('#/');
    } catch (err) {
      report(err);
    }
  };

  return (
    <nav class="threads" aria-label="Threads">
      <button class="primary new" onClick={() => { navigate('#/'); onPick(); }}>+ New chat</button>
      <input type="search" class="thread-search" aria-label="Search threads" placeholder="Search threads"
        value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      {query.trim() && groups.length === 0 && <p class="muted small no-match">No thread matches "{query.trim()}".</p>}
      <div class="thread-groups">
        {groups.map(([group, list]) => (
          <section key={group} aria-label={group}>
            <h4 class="group muted small">{group}</h4>
            <ul>
              {list.map((t) => {
                const title = t.title || 'Untitled';
                return (
                  <li key={t.id} class={`thread ${t.id === current ? 'current' : ''}`} data-thread-id={t.id}
                    aria-current={t.id === current ? 'page' : undefined}>
                    {renaming?.id === t.id ? (
                      <form onSubmit={rename} class="rename">
                        <input aria-label="Thread title" value={renaming.title} ref={field}
                          onInput={(e) => setRenaming({ id: t.id, title: e.currentTarget.value })}
                          onBlur={() => void rename()} onKeyDown={(e) => e.key === 'Escape' && cancel(e, t.id)} />
                      </form>
                    ) : (
                      <a href={threadHref(t.id)} onClick={onPick} title={title}>
                        <span class="title">{title}</span>
                        <span class="muted small">{when(t.updated)}</span>
                      </a>
                    )}
                    <span class="thread-actions">
                      <button class="icon pin" title={pinned(t) ? 'Unpin' : 'Pin'} aria-label={`Pin ${title}`}
                        aria-pressed={pinned(t)} onClick={() => togglePin(t)}>{pinned(t) ? '★' : '☆'}</button>
                      <button class="icon" title="Rename" aria-label={`Rename ${title}`}
                        onClick={() => setRenaming({ id: t.id, title })}>✎</button>
                      <button class="icon" title="Delete" aria-label={`Delete ${title}`}
                        onClick={() => remove(t.id, title)}>
                        <svg viewBox="0 0 24 24" width="15" height="15" aria-hidden="true" fill="none" stroke="currentColor"
                          stroke-width="2" stroke-linecap="round"><path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v6M14 11v6" /></svg>
                      </button>
                    </span>
                  </li>
                );
              })}
            </ul>
          </section>
        ))}
      </div>
    </nav>
  );
}
