// What the thread settings panel accepts: the ranges the core keeps (jan_core's prepare::RANGES and MIN_CTX_LEN;
// ui/test/contract.ts checks that the core refuses what is outside them and takes their ends).

/** The panel's numeric fields. */
export type Field = 'temperature' | 'top_p' | 'max_tokens' | 'frequency_penalty' | 'presence_penalty' | 'ctx_len';

/** Per field: its range (a value outside is refused in the panel, with the reason, and never saved). */
export const LIMITS: Record<Field, { label: string; min: number; max?: number; integer?: boolean }> = {
  temperature: { label: 'Temperature', min: 0, max: 2 },
  top_p: { label: 'Top P', min: 0, max: 1 },
  max_tokens: { label: 'Max tokens', min: 1, integer: true },
  frequency_penalty: { label: 'Frequency penalty', min: -2, max: 2 },
  presence_penalty: { label: 'Presence penalty', min: -2, max: 2 },
  ctx_len: { label: 'Context length', min: 256, integer: true },
};

/** Why `value` cannot be saved in `key`, or undefined when it can (empty: the model's default). */
export function invalidReason(key: string, value: string): string | undefined {
  const limit = LIMITS[key as Field];
  if (!limit || value.trim() === '') return undefined;
  const n = Number(value);
  const range = limit.max === undefined ? `at least ${limit.min}` : `between ${limit.min} and ${limit.max}`;
  if (!Number.isFinite(n) || n < limit.min || (limit.max !== undefined && n > limit.max)) {
    return `${limit.label} must be ${range}.`;
  }
  if (limit.integer && !Number.isInteger(n)) return `${limit.label} must be a whole number.`;
  return undefined;
}

