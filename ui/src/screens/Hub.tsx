import { useEffect, useState } from 'preact/hooks';
import { client } from '../client';
import { bytes, duration } from '../format';
import type { Model } from '../middleware';
import { type DownloadView, notify, refreshModels, report, setState, useApp } from '../store';

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
  const importFile = async (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    if (!file.name.toLowerCase().endsWith('.gguf')) return notify('Pick a .gguf file.', 'error');
    setUpload({ name: file.name, fraction: 0 });
    try {
      const m = await client.importModel(file, {
        fileName: file.name,
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
              <button onClick={() => remove(m)}>Delete</button>
            </li>
          ))}
        </ul>
        <label class="file">
          <span class="button">Import a GGUF file…</span>
          <input type="file" accept=".gguf" onChange={importFile} hidden />
        </label>
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
        <ul class="models">
          {shown.map((m) => {
            const d = downloads[m.id];
            return (
              <li key={m.id} data-model-id={m.id}>
                <div>
                  <strong>{m.name || m.id}</strong>
                  <div class="muted small">{bytes(m.metadata?.size)} · {(m.metadata?.tags ?? []).join(', ')}</div>
                  {m.description && <div class="small">{m.description}</div>}
                  {d && <Progress d={d} onCancel={() => cancel(d)} />}
                </div>
                {m.status === 'downloaded' ? (
                  <span class="badge ready">Downloaded</span>
                ) : d || m.status === 'downloading' ? null : (
                  <button class="primary" onClick={() => download(m.id)}>Download</button>
                )}
              </li>
            );
          })}
        </ul>
      </div>
    </section>
  );
}
