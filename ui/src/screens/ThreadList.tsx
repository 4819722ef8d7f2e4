import { useState } from 'preact/hooks';
import { client } from '../client';
import { when } from '../format';
import { navigate, threadHref } from '../router';
import { putThread, removeThread, report, useApp } from '../store';

/** The threads, most recently updated first; new, rename, delete; the current one highlighted. */
export function ThreadList({ current, onPick }: { current?: string; onPick: () => void }) {
  const threads = useApp((s) => s.threads);
  const [renaming, setRenaming] = useState<{ id: string; title: string } | null>(null);

  const rename = async (e: Event) => {
    e.preventDefault();
    if (!renaming) return;
    const { id, title } = renaming;
    setRenaming(null);
    try {
      putThread(await client.updateThread(id, { title: title.trim() || 'Untitled' }));
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
      <ul>
        {threads.map((t) => {
          const title = t.title || 'Untitled';
          return (
            <li key={t.id} class={`thread ${t.id === current ? 'current' : ''}`}
              aria-current={t.id === current ? 'page' : undefined}>
              {renaming?.id === t.id ? (
                <form onSubmit={rename} class="rename">
                  <input aria-label="Thread title" value={renaming.title} autoFocus
                    onInput={(e) => setRenaming({ id: t.id, title: e.currentTarget.value })}
                    onBlur={rename} onKeyDown={(e) => e.key === 'Escape' && setRenaming(null)} />
                </form>
              ) : (
                <a href={threadHref(t.id)} onClick={onPick} title={title}>
                  <span class="title">{title}</span>
                  <span class="muted small">{when(t.updated)}</span>
                </a>
              )}
              <span class="thread-actions">
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
    </nav>
  );
}
