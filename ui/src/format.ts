export function bytes(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return '?';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.ceil((seconds % 3600) / 60)} min`;
}

export function when(ms: number | undefined): string {
  if (!ms) return '';
  const d = new Date(ms < 1e12 ? ms * 1000 : ms);
  const today = new Date();
  return d.toDateString() === today.toDateString()
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString();
}

/** A time in ms (or s, as older threads have it) as a Date. */
function asDate(ms: number): Date {
  return new Date(ms < 1e12 ? ms * 1000 : ms);
}

/** The thread list's group for a time: Today, Yesterday, Previous 7 days, Earlier. */
export function dayGroup(ms: number | undefined, now = new Date()): string {
  if (!ms) return 'Earlier';
  const start = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  const t = asDate(ms).getTime();
  const day = 86_400_000;
  if (t >= start) return 'Today';
  if (t >= start - day) return 'Yesterday';
  if (t >= start - 7 * day) return 'Previous 7 days';
  return 'Earlier';
}
