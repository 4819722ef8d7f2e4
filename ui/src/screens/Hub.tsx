import { useEffect, useRef, useState } from 'preact/hooks';
import { client } from '../client';
import { bytes, duration } from '../format';
import type { Model, SystemInfo } from '../middleware';
import { navigate } from '../router';
import { type DownloadView, notify, refreshModels, rememberModel, report, setState, updateDraft, useApp } from '../store';

/** The file a model runs from (its first source's name, or its llama_model_path). */
function fileOf(m: Model): string | undefined {
  const source = m.sources?.[0];
  const name = source?.filename ?? source?.url?.split('/').pop() ?? m.settings?.llama_model_path;
  return name?.split(/[\\/]/).pop()?.toLowerCase();
}

/**
 * Whether a model of `size` bytes fits this machine: in a GPU's free memory, else in free RAM, with room for
 * its context (a fifth more). `undefined` while unknown.
 */
export function fit(size: number | undefined, system: SystemInfo | null): 'gpu' | 'ram' | 'no' | undefined {
  if (!size || !system) return undefined;
  const need = size * 1.2;
  if (system.gpus.some((g) => g.vram_total_bytes - g.vram_used_bytes >= need)) return 'gpu';
  return system.memory.total_bytes - system.memory.used_bytes >= need ? 'ram' : 'no';
}

const FIT_LABEL = { gpu: 'Fits the GPU', ram: 'Fits in memory', no: 'Too big for this machine' } as const;

function Progress({ d, onCancel }: { d: DownloadView; onCancel: () => void }) {
  const pct = d.total ? (100 * d.transferred) / d.total : undefined;
  const left = d.total && d.bytesPerSecond > 0 ? (d.total - d.transferred) / d.bytesPerSecond : undefined;
  return (
    <div class="download">
      <progress max={100} value={pct} aria-label={`Downloading ${d.modelId}`} />
      <span class="small rate">
        {pct !== undefined ? `${pct.toFixed(1)}%` : bytes(d.transferred)} · {bytes(d.bytesPerSecond)}/s
        {left !== undefined && ` · ${duration(left)} left`}
      </span>
      <button onClick={onCancel}>Cancel</button>
    </div>
  );
}

/** The catalog and the downloaded models: download with progress, cancel, delete, import a local GGUF. */
export function Hub() {
  const models = useApp((s) => s.models);
  const downloads = useApp((s) => s.downloads);
  const [catalog, setCatalog] = useState<Model[] | null>(null);
  const [upload, setUpload] = useState<{ name: string; fraction: number } | null>(null);
  const [filter, setFilter] = useState('');
  const [system, setSystem] = useState<SystemInfo | null>(null);
  /** A file picked for import, waiting for its name. */
  const [picked, setPicked] = useState<{ file: File; name: string } | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  useEffect(() => void client.system().then(setSystem, () => undefined), []);
  const onDisk = new Map(models.map((m) => [fileOf(m), m] as const).filter(([f]) => f));

  /** Starts a new chat with a downloaded model. */
  const use = (m: Model) => {
    rememberModel(m.id);
    updateDraft((d) => ({ ...d, modelId: m.id }));
    navigate('#/');
  };

  const loadCatalog = () => client.catalog().then(setCatalog, report);
  useEffect(() => void loadCatalog(), [models]);

  const download = async (id: string) => {
    try {
      const started = await client.downloadModel(id);
      setState((s) => ({
        downloads: {
          ...s.downloads,
          [id]: { downloadId: started.id, modelId: id, fileName: '', transferred: 0, total: null, bytesPerSecond: 0 },
        },
      }));
    } catch (e) {
      report(e);
    }
  };
  const cancel = (d: DownloadView) => client.cancelDownload(d.downloadId).catch(report);
  const remove = async (m: Model) => {
    if (!confirm(`Delete ${m.name || m.id} and its files?`)) return;
    try {
      await client.deleteModel(m.id);
      await refreshModels();
    } catch (e) {
      report(e);
    }
  };
  const pickFile = (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    if (!file.name.toLowerCase().endsWith('.gguf')) return notify('Pick a .gguf file.', 'error');
    setPicked({ file, name: file.name.replace(/\.gguf$/i, '') });
  };
  const importFile = async (e: Event) => {
    e.preventDefault();
    if (!picked) return;
    const { file, name } = picked;
    setPicked(null);
    setUpload({ name: file.name, fraction: 0 });
    try {
      const m = await client.importModel(file, {
        fileName: file.name,
        name: name.trim() || undefined,
        onProgress: (fraction) => setUpload({ name: file.name, fraction }),
      });
      notify(`Imported ${m.name || m.id}.`);
      await refreshModels();
    } catch (err) {
      report(err);
    } finally {
      setUpload(null);
    }
  };

  const q = filter.toLowerCase();
  const shown = (catalog ?? []).filter((m) => !q || `${m.id} ${m.name} ${m.description}`.toLowerCase().includes(q));

  return (
    <section class="page hub">
      <h2>Hub</h2>
      <div class="card downloaded">
        <h3>Downloaded models</h3>
        {models.length === 0 && <p class="muted">None yet: download one below or import a GGUF file.</p>}
        <ul class="models">
          {models.map((m) => (
            <li key={m.id} data-model-id={m.id}>
              <div>
                <strong>{m.name || m.id}</strong> <span class="muted small">{m.id}</span>
                <div class="muted small">
                  {m.engine === 'openai' ? 'remote' : bytes(m.metadata?.size)} {m.settings?.ctx_len ? `· context ${m.settings.ctx_len}` : ''}
                </div>
              </div>
              <span class="row-actions">
                <button class="primary" onClick={() => use(m)}>Use</button>
                <button onClick={() => remove(m)}>Delete</button>
              </span>
            </li>
          ))}
        </ul>
        <button type="button" onClick={() => fileInput.current?.click()}>Import a GGUF file…</button>
        <input type="file" accept=".gguf" onChange={pickFile} hidden ref={fileInput} aria-label="GGUF file to import" />
        {picked && (
          <form class="row import-name" onSubmit={importFile}>
            <label>
              Name for {picked.file.name}
              <input name="import-name" value={picked.name} autoFocus
                onInput={(e) => setPicked({ ...picked, name: e.currentTarget.value })} />
            </label>
            <button class="primary">Import</button>
            <button type="button" onClick={() => setPicked(null)}>Cancel</button>
          </form>
        )}
        {upload && (
          <div class="download">
            <progress max={1} value={upload.fraction} aria-label={`Uploading ${upload.name}`} />
            <span class="small">Uploading {upload.name}: {(upload.fraction * 100).toFixed(0)}%</span>
          </div>
        )}
      </div>
      <div class="card catalog">
        <h3>Catalog</h3>
        <input type="search" placeholder="Filter models" aria-label="Filter models" value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)} />
        {catalog === null && <p class="muted">Loading…</p>}
        {catalog !== null && shown.length === 0 && <p class="muted no-match">No model matches "{filter.trim()}".</p>}
        <ul class="models">
          {shown.map((m) => {
            const d = downloads[m.id];
            const local = m.status === 'downloaded' ? undefined : onDisk.get(fileOf(m));
            const fits = fit(m.metadata?.size, system);
            return (
              <li key={m.id} data-model-id={m.id}>
                <div>
                  <strong>{m.name || m.id}</strong>
                  {fits && <span class={`badge fit-${fits}`}>{FIT_LABEL[fits]}</span>}
                  <div class="muted small">{bytes(m.metadata?.size)} · {(m.metadata?.tags ?? []).join(', ')}</div>
                  {m.description && <div class="small">{m.description}</div>}
                  {d && <Progress d={d} onCancel={() => cancel(d)} />}
                </div>
                {m.status === 'downloaded' ? (
                  <span class="badge ready">Downloaded</span>
                ) : (
                  <span class="row-actions">
                    {local && (
                      <>
                        <span class="badge ready" title={`The same file as ${local.name || local.id}`}>On disk</span>
                        <button class="primary" onClick={() => use(local)}>Use</button>
                      </>
                    )}
                    {!(d || m.status === 'downloading') && (
                      <button class={local ? '' : 'primary'} onClick={() => download(m.id)}>Download</button>
                    )}
                  </span>
                )}
              </li>
            );
          })}
        </ul>
      </div>
    </section>
  );
}
