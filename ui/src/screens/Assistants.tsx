import { useRef, useState } from 'preact/hooks';
import { client } from '../client';
import type { Assistant } from '../middleware';
import { navigate } from '../router';
import { chooseAssistant, notify, refreshAssistants, report, useApp } from '../store';

/** The assistant every data folder has; the core refuses to delete it, so no Delete is offered. */
export const DEFAULT_ASSISTANT = 'jan';
/** Jan's "any downloaded model". */
const ANY_MODEL = '*';

interface Form {
  /** Absent while creating. */
  id?: string;
  name: string;
  description: string;
  model: string;
  instructions: string;
}

const EMPTY: Form = { name: '', description: '', model: ANY_MODEL, instructions: '' };

function modelLabel(model: string | undefined): string {
  return !model || model === ANY_MODEL ? 'any downloaded model' : model;
}

/** Jan's assistants: list, create, edit (name, description, model, instructions), delete, start a chat with one. */
export function Assistants() {
  const assistants = useApp((s) => s.assistants);
  const models = useApp((s) => s.models);
  const [form, setForm] = useState<Form>(EMPTY);
  const [saving, setSaving] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  const edit = (a: Assistant) => {
    setForm({
      id: a.id,
      name: a.name,
      description: a.description ?? '',
      model: a.model ?? ANY_MODEL,
      instructions: a.instructions ?? '',
    });
    formRef.current?.scrollIntoView({ block: 'nearest' });
  };

  const save = async (e: Event) => {
    e.preventDefault();
    const name = form.name.trim();
    if (!name) return notify('Give the assistant a name.', 'error');
    const fields = { name, description: form.description.trim(), model: form.model, instructions: form.instructions };
    setSaving(true);
    try {
      if (form.id) await client.updateAssistant(form.id, fields);
      else await client.createAssistant(fields);
      notify(form.id ? `Saved ${name}.` : `Created ${name}.`);
      setForm(EMPTY);
      await refreshAssistants();
    } catch (err) {
      report(err);
    } finally {
      setSaving(false);
    }
  };

  const remove = async (a: Assistant) => {
    if (!confirm(`Delete the assistant "${a.name}"? Its threads stay.`)) return;
    try {
      await client.deleteAssistant(a.id);
      if (form.id === a.id) setForm(EMPTY);
      await refreshAssistants();
    } catch (err) {
      report(err);
    }
  };

  const chatWith = (a: Assistant) => {
    chooseAssistant(a);
    navigate('#/');
  };

  const set = (key: keyof Form) => (e: Event) =>
    setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement).value });
  const modelKnown = form.model === ANY_MODEL || models.some((m) => m.id === form.model);

  return (
    <section class="page assistants">
      <h2>Assistants</h2>
      <div class="card">
        <p class="muted small">An assistant is a name, instructions and a model a new chat starts with.</p>
        <ul class="models assistant-list">
          {assistants.map((a) => (
            <li key={a.id} data-assistant-id={a.id}>
              <div>
                <strong>{a.name || a.id}</strong>{' '}
                {a.id === DEFAULT_ASSISTANT && <span class="badge">default</span>}
                {a.description && <div class="small description">{a.description}</div>}
                <div class="muted small">Model: {modelLabel(a.model)}</div>
                {a.instructions && <div class="muted small instructions">{a.instructions}</div>}
              </div>
              <div class="row">
                <button onClick={() => chatWith(a)}>New chat</button>
                <button onClick={() => edit(a)}>Edit</button>
                {a.id !== DEFAULT_ASSISTANT && <button onClick={() => remove(a)}>Delete</button>}
              </div>
            </li>
          ))}
        </ul>
      </div>
      <form class="card assistant-form" ref={formRef} onSubmit={save}>
        <h3>{form.id ? `Edit ${assistants.find((a) => a.id === form.id)?.name ?? form.id}` : 'New assistant'}</h3>
        <label>
          Name
          <input name="name" required value={form.name} onInput={set('name')} />
        </label>
        <label>
          Description
          <input name="description" value={form.description} onInput={set('description')} />
        </label>
        <label>
          Model
          <select name="model" value={form.model} onChange={set('model')}>
            <option value={ANY_MODEL}>Any downloaded model</option>
            {!modelKnown && <option value={form.model}>{form.model} (not downloaded)</option>}
            {models.map((m) => <option key={m.id} value={m.id}>{m.name || m.id}</option>)}
          </select>
        </label>
        <label>
          Instructions
          <textarea name="instructions" rows={4} value={form.instructions} onInput={set('instructions')} />
        </label>
        <div class="row">
          <button class="primary" disabled={saving}>{form.id ? 'Save' : 'Create assistant'}</button>
          {form.id && <button type="button" onClick={() => setForm(EMPTY)}>Cancel</button>}
        </div>
      </form>
    </section>
  );
}
