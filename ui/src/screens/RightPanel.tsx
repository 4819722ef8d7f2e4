import { useState } from 'preact/hooks';
import type { ModelParameters, Thread, ThreadModel, ThreadUpdate } from '../middleware';
import { type Draft, chooseAssistant, saveThreadSettings, updateDraft, useApp } from '../store';
import { invalidReason } from '../limits';
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

type Field = keyof Form;
type NumberParameter = 'temperature' | 'top_p' | 'max_tokens' | 'frequency_penalty' | 'presence_penalty';

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

/** `parameters` with one field of the form set to `value` (empty: the model's default). */
function withParameter(parameters: ModelParameters, key: NumberParameter | 'stop', value: string): ModelParameters {
  const next = { ...parameters };
  if (key === 'stop') {
    const stop = value.split(',').map((s) => s.trim()).filter(Boolean);
    if (stop.length) next.stop = stop;
    else delete next.stop;
  } else {
    const n = num(value);
    if (n === undefined) delete next[key];
    else next[key] = n;
  }
  return next;
}

/** A new chat's draft with one field changed. */
function draftWith(draft: Draft, key: Field, value: string): Draft {
  switch (key) {
    case 'modelId':
      return { ...draft, modelId: value };
    case 'instructions':
      return { ...draft, instructions: value };
    case 'ctx_len':
      return { ...draft, ctxLen: num(value) };
    default:
      return { ...draft, parameters: withParameter(draft.parameters, key, value) };
  }
}

/** The update that changes one field of `thread` (its model keeps everything else it has). */
function threadUpdate(thread: Thread, key: Field, value: string): ThreadUpdate {
  if (key === 'instructions') return { instructions: value };
  const model: ThreadModel = { ...(thread.assistants?.[0]?.model ?? { id: '' }) };
  if (key === 'modelId') {
    model.id = value;
  } else if (key === 'ctx_len') {
    const settings = { ...model.settings };
    const n = num(value);
    if (n) settings.ctx_len = n;
    else delete settings.ctx_len;
    model.settings = settings;
  } else {
    model.parameters = withParameter(model.parameters ?? {}, key, value);
  }
  return { model };
}

/**
 * The thread's assistant instructions, model and parameters (a new chat's, before it exists). The fields show the
 * store's thread (or draft) as it is at each render, except what is being typed and not yet saved; a change saves
 * its one field, so nothing the store learnt meanwhile (the models, an assistant, another change) is written over
 * with an older copy. The parent gives each thread its own panel (`key`), so typing never carries across.
 */
export function RightPanel({ threadId }: { threadId?: string }) {
  const thread = useApp((s) => s.threads.find((t) => t.id === threadId));
  const models = useApp((s) => s.models);
  const draft = useApp((s) => s.draft);
  const assistants = useApp((s) => s.assistants);
  /** Typed and not yet saved (or being saved, or refused), per field. */
  const [edits, setEdits] = useState<Partial<Form>>({});
  /** Why a field's value is not saved, per field. */
  const [invalid, setInvalid] = useState<Partial<Record<Field, string>>>({});
  /** What became of the last change to a thread: shown, so the user knows it is kept. */
  const [status, setStatus] = useState('');
  const saved = fromThread(thread, draft);
  const form: Form = { ...saved, ...edits };

  const setReason = (key: Field, reason: string | undefined) =>
    setInvalid((r) => {
      if (r[key] === reason) return r;
      const { [key]: _, ...rest } = r;
      return reason ? { ...rest, [key]: reason } : rest;
    });

  /**
   * Typing: shown as typed; a new chat's draft takes it at once (nothing to wait for, and a message sent right
   * after, even without the field's change event, gets it) unless it is out of range.
   */
  const edit = (key: Field, value: string) => {
    setEdits((e) => ({ ...e, [key]: value }));
    if (!threadId && !invalidReason(key, value)) updateDraft((d) => draftWith(d, key, value));
  };

  /**
   * Saves one field: a new chat's draft at once, a thread's through the store (in order with its other changes).
   * A value out of range stays shown with its reason and is not saved.
   */
  const commit = (key: Field, value: string) => {
    const reason = invalidReason(key, value);
    setReason(key, reason);
    if (reason) {
      setEdits((e) => ({ ...e, [key]: value }));
      setStatus('');
      return;
    }
    const done = () =>
      setEdits((e) => {
        if (e[key] !== value) return e; // typed on meanwhile
        const { [key]: _, ...rest } = e;
        return rest;
      });
    if (!threadId) {
      updateDraft((d) => draftWith(d, key, value));
      done();
      return;
    }
    edit(key, value);
    setStatus('Saving…');
    void saveThreadSettings(threadId, (t) => threadUpdate(t, key, value)).then((ok) => {
      done();
      setStatus(ok ? 'Saved' : 'Not saved');
    });
  };

  /** The model's own values, shown as placeholders: what an empty field means. */
  const modelDefaults = models.find((m) => m.id === form.modelId);
  const shownDefault = (key: keyof ModelParameters) => {
    const v = modelDefaults?.parameters?.[key];
    return typeof v === 'number' ? `default ${v}` : undefined;
  };

  const field = (key: Field, label: string, attrs: Record<string, unknown> = {}) => (
    <label>
      {label}
      <input name={key} value={form[key]} {...attrs} aria-invalid={invalid[key] ? true : undefined}
        aria-describedby={invalid[key] ? `${key}-reason` : undefined}
        onInput={(e) => edit(key, e.currentTarget.value)}
        onChange={(e) => commit(key, e.currentTarget.value)} />
      {invalid[key] && <span id={`${key}-reason`} class="field-error small">{invalid[key]}</span>}
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
          onInput={(e) => edit('instructions', e.currentTarget.value)}
          onChange={(e) => commit('instructions', e.currentTarget.value)} />
      </label>
      <h3>Model</h3>
      <label>
        Model
        <select name="model" value={form.modelId}
          onChange={(e) => commit('modelId', e.currentTarget.value)}>
          {!models.some((m) => m.id === form.modelId) && <option value={form.modelId}>{form.modelId || '(none)'}</option>}
          {models.map((m) => <option key={m.id} value={m.id}>{m.name || m.id}</option>)}
        </select>
      </label>
      <h3>Parameters</h3>
      <p class="muted small">Empty: the model's defaults.</p>
      {threadId && <p class="muted small save-status" role="status">{status}</p>}
      {field('temperature', 'Temperature', { type: 'number', step: '0.05', min: '0', max: '2', placeholder: shownDefault('temperature') })}
      {field('top_p', 'Top P', { type: 'number', step: '0.05', min: '0', max: '1', placeholder: shownDefault('top_p') })}
      {field('max_tokens', 'Max tokens', { type: 'number', step: '1', min: '1', placeholder: shownDefault('max_tokens') })}
      {field('ctx_len', 'Context length', { type: 'number', step: '256', min: '256', placeholder: modelDefaults?.settings?.ctx_len ? `default ${modelDefaults.settings.ctx_len}` : undefined })}
      <details>
        <summary>Advanced</summary>
        {field('stop', 'Stop (comma-separated)', { placeholder: modelDefaults?.parameters?.stop?.join(', ') || undefined })}
        {field('frequency_penalty', 'Frequency penalty', { type: 'number', step: '0.1', min: '-2', max: '2', placeholder: shownDefault('frequency_penalty') })}
        {field('presence_penalty', 'Presence penalty', { type: 'number', step: '0.1', min: '-2', max: '2', placeholder: shownDefault('presence_penalty') })}
      </details>
    </aside>
  );
}
