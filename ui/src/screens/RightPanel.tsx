import { useEffect, useState } from 'preact/hooks';
import { client } from '../client';
import type { ModelParameters, Thread } from '../middleware';
import { type Draft, chooseAssistant, report, setState, useApp } from '../store';
import { DEFAULT_ASSISTANT } from './Assistants';
import { threadModelId } from './Chat';

interface Form {
  modelId: string;
  instructions: string;
  temperature: string;
  top_p: string;
  max_tokens: string;
  stop: string;
  frequency_penalty: string;
  presence_penalty: string;
  ctx_len: string;
}

const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));
const num = (v: string) => (v.trim() === '' || !Number.isFinite(Number(v)) ? undefined : Number(v));

function fromThread(thread: Thread | undefined, draft: Draft): Form {
  const a = thread?.assistants?.[0];
  const p: ModelParameters = thread ? (a?.model?.parameters ?? {}) : draft.parameters;
  return {
    modelId: (thread ? threadModelId(thread) : draft.modelId) ?? '',
    instructions: thread ? (a?.instructions ?? '') : (draft.instructions ?? ''),
    temperature: str(p.temperature),
    top_p: str(p.top_p),
    max_tokens: str(p.max_tokens),
    stop: (p.stop ?? []).join(', '),
    frequency_penalty: str(p.frequency_penalty),
    presence_penalty: str(p.presence_penalty),
    ctx_len: str(thread ? a?.model?.settings?.ctx_len : draft.ctxLen),
  };
}

/** The thread's assistant instructions, model and parameters (a new chat's, before it exists). */
export function RightPanel({ threadId }: { threadId?: string }) {
  const thread = useApp((s) => s.threads.find((t) => t.id === threadId));
  const models = useApp((s) => s.models);
  const draft = useApp((s) => s.draft);
  const assistants = useApp((s) => s.assistants);
  const [form, setForm] = useState<Form>(() => fromThread(thread, draft));

  useEffect(() => setForm(fromThread(thread, draft)), [threadId, thread?.updated, draft]);

  const save = async (next: Form) => {
    const parameters: ModelParameters = {};
    for (const k of ['temperature', 'top_p', 'max_tokens', 'frequency_penalty', 'presence_penalty'] as const) {
      const v = num(next[k]);
      if (v !== undefined) parameters[k] = v;
    }
    const stop = next.stop.split(',').map((s) => s.trim()).filter(Boolean);
    if (stop.length) parameters.stop = stop;
    const ctxLen = num(next.ctx_len);
    if (!threadId) {
      setState((s) => ({
        draft: { ...s.draft, modelId: next.modelId, parameters, ctxLen, instructions: next.instructions },
      }));
      return;
    }
    try {
      const t = await client.updateThread(threadId, {
        model: { id: next.modelId, parameters, settings: ctxLen ? { ctx_len: ctxLen } : {} },
        instructions: next.instructions,
      });
      setState((s) => ({ threads: s.threads.map((x) => (x.id === t.id ? t : x)) }));
    } catch (e) {
      report(e);
    }
  };

  const field = (key: keyof Form, label: string, attrs: Record<string, unknown> = {}) => (
    <label>
      {label}
      <input name={key} value={form[key]} {...attrs}
        onInput={(e) => setForm({ ...form, [key]: e.currentTarget.value })}
        onChange={(e) => void save({ ...form, [key]: e.currentTarget.value })} />
    </label>
  );

  return (
    <aside class="panel" aria-label="Thread settings">
      <h3>Assistant</h3>
      {thread ? (
        <p class="small" data-assistant-id={thread.assistants?.[0]?.assistant_id}>
          {thread.assistants?.[0]?.assistant_name ?? thread.assistants?.[0]?.assistant_id ?? 'Jan'}
        </p>
      ) : (
        <label>
          Assistant
          <select name="assistant" value={draft.assistantId ?? DEFAULT_ASSISTANT}
            onChange={(e) => {
              const a = assistants.find((x) => x.id === e.currentTarget.value);
              if (a) chooseAssistant(a);
            }}>
            {assistants.map((a) => <option key={a.id} value={a.id}>{a.name || a.id}</option>)}
          </select>
        </label>
      )}
      <label>
        Instructions
        <textarea name="instructions" rows={4} value={form.instructions}
          onInput={(e) => setForm({ ...form, instructions: e.currentTarget.value })}
          onChange={(e) => void save({ ...form, instructions: e.currentTarget.value })} />
      </label>
      <h3>Model</h3>
      <label>
        Model
        <select name="model" value={form.modelId}
          onChange={(e) => { const f = { ...form, modelId: e.currentTarget.value }; setForm(f); void save(f); }}>
          {!models.some((m) => m.id === form.modelId) && <option value={form.modelId}>{form.modelId || '(none)'}</option>}
          {models.map((m) => <option key={m.id} value={m.id}>{m.name || m.id}</option>)}
        </select>
      </label>
      <h3>Parameters</h3>
      <p class="muted small">Empty: the model's defaults.</p>
      {field('temperature', 'Temperature', { type: 'number', step: '0.05', min: '0', max: '2' })}
      {field('top_p', 'Top P', { type: 'number', step: '0.05', min: '0', max: '1' })}
      {field('max_tokens', 'Max tokens', { type: 'number', step: '1', min: '1' })}
      {field('stop', 'Stop (comma-separated)')}
      {field('frequency_penalty', 'Frequency penalty', { type: 'number', step: '0.1' })}
      {field('presence_penalty', 'Presence penalty', { type: 'number', step: '0.1' })}
      {field('ctx_len', 'Context length', { type: 'number', step: '256', min: '256' })}
    </aside>
  );
}
