import { useEffect, useState } from 'preact/hooks';
import { client } from '../client';
import { bytes } from '../format';
import type { SystemInfo } from '../middleware';
import { report } from '../store';

const HISTORY = 60;

function Spark({ values, max = 100, label }: { values: number[]; max?: number; label: string }) {
  const w = 200;
  const h = 40;
  const points = values
    .map((v, i) => `${(i * w) / (HISTORY - 1)},${h - (Math.min(v, max) / max) * h}`)
    .join(' ');
  return (
    <svg class="spark" viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none" role="img" aria-label={label}>
      <polyline points={points} fill="none" stroke="currentColor" stroke-width="2" vector-effect="non-scaling-stroke" />
    </svg>
  );
}

/** CPU, memory and GPUs, polled every 2 s while the screen is open, with small charts. */
export function SystemMonitor() {
  const [info, setInfo] = useState<SystemInfo | null>(null);
  const [cpu, setCpu] = useState<number[]>([]);
  const [mem, setMem] = useState<number[]>([]);

  useEffect(() => {
    let live = true;
    const tick = async () => {
      try {
        const s = await client.system();
        if (!live) return;
        setInfo(s);
        setCpu((h) => [...h, s.cpu?.usage_percent ?? 0].slice(-HISTORY));
        const m = s.memory?.total_bytes ? (100 * (s.memory.used_bytes ?? 0)) / s.memory.total_bytes : 0;
        setMem((h) => [...h, m].slice(-HISTORY));
      } catch (e) {
        report(e);
      }
    };
    void tick();
    const timer = setInterval(tick, 2000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);

  if (!info) return <section class="page"><h2>System monitor</h2><p class="muted">Loading…</p></section>;
  const memPct = info.memory?.total_bytes ? (100 * (info.memory.used_bytes ?? 0)) / info.memory.total_bytes : 0;
  return (
    <section class="page system">
      <h2>System monitor</h2>
      <div class="grid">
        <div class="card stat">
          <h3>CPU</h3>
          <div class="big" data-metric="cpu">{(info.cpu?.usage_percent ?? 0).toFixed(0)}%</div>
          <div class="muted small">{info.cpu?.model} · {info.cpu?.cores} cores · {info.cpu?.arch}</div>
          <Spark values={cpu} label="CPU usage over the last two minutes" />
        </div>
        <div class="card stat">
          <h3>Memory</h3>
          <div class="big" data-metric="memory">{memPct.toFixed(0)}%</div>
          <div class="muted small">{bytes(info.memory?.used_bytes)} of {bytes(info.memory?.total_bytes)}</div>
          <Spark values={mem} label="Memory usage over the last two minutes" />
        </div>
        {(info.gpus ?? []).map((g, i) => (
          <div class="card stat" key={i}>
            <h3>GPU {i}</h3>
            <div class="big">{g.utilization_percent != null ? `${Number(g.utilization_percent).toFixed(0)}%` : '–'}</div>
            <div class="muted small">{g.name} · {bytes(g.vram_used_bytes)} of {bytes(g.vram_total_bytes)}</div>
          </div>
        ))}
        {(info.gpus ?? []).length === 0 && (
          <div class="card stat"><h3>GPU</h3><div class="muted">No GPU found: inference runs on the CPU.</div></div>
        )}
      </div>
      <div class="card">
        <h3>Loaded models</h3>
        {(info.loaded_models ?? []).length === 0 && <p class="muted">None.</p>}
        <ul>
          {(info.loaded_models ?? []).map((m) => (
            <li key={m.model_id}>
              {m.model_id}: {bytes(m.memory_bytes)}, {m.active ?? 0} active, {m.queued ?? 0} queued
              <button class="link" onClick={() => client.stopModel(m.model_id).catch(report)}>Unload</button>
            </li>
          ))}
        </ul>
        <p class="muted small">
          Tokens: {info.inference?.prompt_tokens ?? 0} read, {info.inference?.generated_tokens ?? 0} generated ·{' '}
          {info.os?.name} {info.os?.version}
        </p>
      </div>
    </section>
  );
}
